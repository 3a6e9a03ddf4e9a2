"""The OAuth callback: the platform sends the person back here with `state` and `code` (or `error`)."""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from campaigns.social.connect import ConnectError, complete_connection

router = APIRouter(tags=["public"], include_in_schema=False)


def _page(status: int, title: str, body: str) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>"
                        f"<body style='font:16px sans-serif;margin:3em'><h1>{html.escape(title)}</h1>{body}</body>",
                        status_code=status, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


@router.get("/oauth/callback/{platform}")
def callback(request: Request, platform: str, state: str = "", code: str | None = None, error: str | None = None,
             error_description: str | None = None) -> HTMLResponse:
    # a plain def: the code exchange makes blocking HTTP calls, so it runs in the threadpool
    settings = request.app.state.settings
    try:
        result = complete_connection(request.app.state.store_url, state, code=code, error=error, error_description=error_description,
                                     platform=platform, settings=settings)
    except ConnectError as exc:
        return _page(400, "Not connected", f"<p>{html.escape(str(exc))}</p>")
    if result.status != "CONNECTED":
        return _page(400, "Not connected", f"<p>{html.escape(result.error or 'the platform did not grant access')}</p>"
                                           "<p>Start the connection again from the app or `campaigns accounts connect`.</p>")
    handles = ", ".join(html.escape(handle) for _, handle in result.accounts)
    return _page(200, "Connected", f"<p>{html.escape(result.platform)}: {handles}.</p><p>You can close this page.</p>")
