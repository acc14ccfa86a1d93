"""Decoding raw API documents into typed projections that keep only the fields the tool uses.

The decoder does not know where bytes came from (a snapshot file or a live LIST page): every
source hands it the same documents, and it is the only place JSON becomes Python objects.
"""
