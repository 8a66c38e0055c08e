"""The site model built from the records: articles, taxonomies, editions,
archives, top stories, and the site paths that lead nowhere.

Imports records and the ground floor.
"""
