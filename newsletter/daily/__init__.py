"""The daily run: one listing day's ingest, candidates and sending, steered from the top floor.

It calls the stages' public functions (``papers``, ``matching``, ``digests``, ``delivery``) and
none of them imports it.
"""
