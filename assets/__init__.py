"""Dagster assets and asset checks, one folder per group."""
