"""Optimization group: response curves fitted on the marts, and budget recommendations."""
