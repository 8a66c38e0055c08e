"""masthead: a static site generator for curated news."""

__version__ = "0.1.0"
