"""Service functions: the Python API over the store (what the seed exposed as endpoints)."""
