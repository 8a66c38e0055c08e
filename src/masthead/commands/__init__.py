"""The command line and what each command does: build, serve, check,
publish (to a folder or git), init, import, newsletter.

May import every other package.
"""
