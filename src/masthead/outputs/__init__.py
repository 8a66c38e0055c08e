"""Every output of a site: the page plan, rendering (Jinja, theme assets),
feeds, sitemap, JSON API, JSON-LD, the XML and JSON writers, the search index, the
email edition, the image stage, and the writer that puts files in the output folder.

Imports model, records and the ground floor.
"""
