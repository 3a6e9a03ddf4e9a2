"""Provider event webhooks: POST /webhooks/sendgrid and /webhooks/mailgun (verified, then stored; see campaigns.email.webhooks).

A webhook whose key setting is unset answers 404 naming the setting. A bad key setting raises
WebhookConfigError when the app is built, rather than on the first event.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool  # the handlers write the store synchronously

from campaigns.email.webhooks import MailgunTokens, WebhookError, handle_mailgun, handle_sendgrid, load_sendgrid_key

router = APIRouter(tags=["public"], include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}


def setup(app: FastAPI) -> None:
    settings = app.state.settings
    app.state.sendgrid_key = load_sendgrid_key(settings.sendgrid_webhook_public_key) if (settings.sendgrid_webhook_public_key or "").strip() else None
    app.state.mailgun_key = settings.mailgun_webhook_signing_key.get_secret_value().strip() if settings.mailgun_webhook_signing_key else ""
    app.state.mailgun_tokens = MailgunTokens()


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=NO_STORE)


@router.api_route("/webhooks/sendgrid", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
async def sendgrid(request: Request) -> JSONResponse:
    state = request.app.state
    if state.sendgrid_key is None:
        return _error(404, "the SendGrid webhook is off: set CAMPAIGNS_SENDGRID_WEBHOOK_PUBLIC_KEY to the Signed Event Webhook verification key")
    if request.method != "POST":
        return _error(405, "use POST; this is sendgrid's event webhook endpoint")
    body = await request.body()  # bounded by the body limit while it is read
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        report = await run_in_threadpool(handle_sendgrid, state.store_url, state.sendgrid_key, headers, body)
    except WebhookError as exc:
        return _error(exc.status, str(exc))
    return JSONResponse(report.to_dict(), headers=NO_STORE)


@router.api_route("/webhooks/mailgun", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
async def mailgun(request: Request) -> JSONResponse:
    state = request.app.state
    if not state.mailgun_key:
        return _error(404, "the Mailgun webhook is off: set CAMPAIGNS_MAILGUN_WEBHOOK_SIGNING_KEY to the HTTP webhook signing key")
    if request.method != "POST":
        return _error(405, "use POST; this is mailgun's event webhook endpoint")
    body = await request.body()
    try:
        report = await run_in_threadpool(handle_mailgun, state.store_url, state.mailgun_key, body, state.mailgun_tokens)
    except WebhookError as exc:
        return _error(exc.status, str(exc))
    return JSONResponse(report.to_dict(), headers=NO_STORE)
