"""Serving group: read-only copies of the marts for the app."""
