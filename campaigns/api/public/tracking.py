"""First-party open and click tracking: GET /t/o/<token> (pixel) and /t/c/<token>?u=..&s=.. (redirect).

Served whenever CAMPAIGNS_TOKEN_KEY is set, even with CAMPAIGNS_EMAIL_TRACKING off, so links in
emails sent while it was on keep working. The pixel answers a transparent GIF whatever happens;
a click whose signature does not match its URL answers 400 and redirects nowhere.
"""

from __future__ import annotations

import html
import logging

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from campaigns.core.crypto import settings_token_keys
from campaigns.email.tracking import TRANSPARENT_GIF, TrackingSigner, TrackingTokenError, redirect_location
from campaigns.email.tracking_events import record_click, record_open

log = logging.getLogger(__name__)
router = APIRouter(tags=["public"], include_in_schema=False)
NO_CACHE = {"Cache-Control": "no-cache, no-store, must-revalidate, private", "Pragma": "no-cache", "Expires": "0"}


def setup(app: FastAPI) -> None:
    keys = settings_token_keys(app.state.settings)  # the one key loader: a weak or malformed key stops the server at start-up, naming it
    app.state.tracking_signer = TrackingSigner.from_keys(keys) if keys else None


@router.get("/t/o/{token:path}")
def pixel(request: Request, token: str) -> Response:
    signer = request.app.state.tracking_signer
    if signer is not None:
        try:
            record_open(request.app.state.store_url, signer, token)
        except Exception:  # the store being down must not show a broken image; the open is lost, logged
            log.exception("recording an email open failed")
    return Response(TRANSPARENT_GIF, media_type="image/gif", headers=NO_CACHE)


@router.get("/t/c/{token:path}")
def click(request: Request, token: str, u: str = "", s: str = "") -> Response:
    signer = request.app.state.tracking_signer
    try:
        if signer is None:
            raise TrackingTokenError("tracking links are not served here (CAMPAIGNS_TOKEN_KEY is not set)")
        record_click(request.app.state.store_url, signer, token, u, s)
    except TrackingTokenError as exc:
        return HTMLResponse(f"<!doctype html><meta charset='utf-8'><title>Link not valid</title><body style='font:16px sans-serif;margin:3em'>"
                            f"<p>This link is not valid ({html.escape(str(exc))}). Use the link from the email as it is.</p></body>",
                            status_code=400, headers=NO_CACHE)
    return RedirectResponse(redirect_location(u), status_code=302, headers=NO_CACHE)
