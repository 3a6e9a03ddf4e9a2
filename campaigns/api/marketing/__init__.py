"""The REST API under /marketing: one module per concern, each with its own ``router`` (mounted by `campaigns.api.app`)."""
