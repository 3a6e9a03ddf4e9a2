"""Ingest group: landing files and the operational store into the warehouse's `raw` schema."""
