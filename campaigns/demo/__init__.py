"""Deterministic synthetic demo merchant with a documented generating truth."""
