"""The HTTP shell: the REST API under /marketing and the public endpoints (unsubscribe, tracking, provider webhooks), served by uvicorn."""
