"""The build: one pipeline of phases over what changed, the cache state, the
stored model and page fingerprints.

Imports outputs, model, records and the ground floor.
"""
