from masthead.cli import run

run()
