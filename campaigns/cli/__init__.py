"""The `campaigns` command line."""
