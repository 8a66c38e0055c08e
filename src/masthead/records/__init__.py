"""Records and their loading: front matter (YAML), validation, embeds, URL
hygiene, Markdown bodies, the data/ folder, and records imported from feeds.

Imports only the ground floor (masthead's top-level modules).
"""
