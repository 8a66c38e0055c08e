"""The preview server, its live reload and the file watcher: beside the build,
which `masthead serve` (commands) connects to them.

Imports records and the ground floor only.
"""
