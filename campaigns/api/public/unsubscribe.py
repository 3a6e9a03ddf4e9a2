"""One-click unsubscribe (RFC 8058): POST unsubscribes, GET only shows the confirm button.

Link scanners and previews fetch GETs, and must not unsubscribe anyone.
"""

from __future__ import annotations

import html
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse

from campaigns.audiences.suppression import MissingUnsubscribeKeyError, UnsubscribeTokenError, signer_from_settings, unsubscribe

router = APIRouter(tags=["public"], include_in_schema=False)


def setup(app: FastAPI) -> None:
    try:
        app.state.unsubscribe_signer = signer_from_settings(app.state.settings)
    except MissingUnsubscribeKeyError:
        app.state.unsubscribe_signer = None  # `campaigns email serve-unsubscribe` refuses to start without it; the API alone may run


def _page(status: int, body: str) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><meta charset='utf-8'><title>Unsubscribe</title><body style='font:16px sans-serif;margin:3em'>{body}</body>",
                        status_code=status, headers={"Cache-Control": "no-store"})


_OFF = _page(404, "<p>Unsubscribe links are not served here: CAMPAIGNS_TOKEN_KEY is not set.</p>")


@router.get("/unsubscribe")
def confirm(request: Request, token: str = "") -> HTMLResponse:
    if request.app.state.unsubscribe_signer is None:
        return _OFF
    try:
        request.app.state.unsubscribe_signer.verify(token)
    except UnsubscribeTokenError as exc:
        return _page(400, f"<p>{html.escape(str(exc))}</p>")
    action = html.escape(f"?token={quote(token, safe='')}", quote=True)
    return _page(200, f"<form method='post' action='{action}'><p>Stop getting these emails?</p><button type='submit'>Unsubscribe</button></form>")


@router.post("/unsubscribe")
def one_click(request: Request, token: str = "") -> HTMLResponse:
    if request.app.state.unsubscribe_signer is None:
        return _OFF
    try:
        unsubscribe(request.app.state.store_url, token, request.app.state.unsubscribe_signer)
    except UnsubscribeTokenError as exc:
        return _page(400, f"<p>{html.escape(str(exc))}</p>")
    return _page(200, "<p>You are unsubscribed and will get no more of these emails.</p>")
