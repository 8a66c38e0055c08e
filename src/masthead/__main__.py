from masthead.commands.cli import run

run()
