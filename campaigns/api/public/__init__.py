"""Public endpoints (no API key): each module here is one concern with its own ``router``.

Adding a public route is one new file in this package: a module defining ``router`` (a FastAPI
``APIRouter``) and, when it needs settings checked at start-up, ``setup(app)``. `campaigns.api.app`
finds every module here and mounts it; nothing else needs to change.
"""
