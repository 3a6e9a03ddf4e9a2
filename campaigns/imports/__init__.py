"""Validated imports of users' exports (touchpoints, conversions, spend) into the landing zone."""
