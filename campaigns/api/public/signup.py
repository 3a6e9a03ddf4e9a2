"""Sign-up capture: a small form and a JSON POST for websites, with double opt-in by a signed link."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from campaigns.api.problems import problem_response

from campaigns.core.merchants import UnknownMerchantError, require_merchant
from campaigns.core.store.db import session_scope
from campaigns.email import signup as su
from campaigns.email.errors import EmailDeliveryError

router = APIRouter(tags=["public"], include_in_schema=False)


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _merchant_name(store_url: str, merchant_id: str) -> str | None:
    with session_scope(store_url) as session:
        try:
            return require_merchant(session, merchant_id).name
        except UnknownMerchantError:
            return None


@router.get("/signup")
def form(request: Request, merchant: str | None = None) -> HTMLResponse:
    merchant_id = merchant or request.app.state.settings.default_merchant
    name = _merchant_name(request.app.state.store_url, merchant_id)
    if name is None:
        return _html("<!doctype html><p>Not found.</p>", 404)
    return _html(su.signup_page(merchant_id, name))


@router.post("/signup")
async def submit(request: Request) -> Response:
    settings, store_url = request.app.state.settings, request.app.state.store_url
    is_json = request.headers.get("content-type", "").split(";")[0].strip() == "application/json"
    try:
        data = json.loads(await request.body() or b"{}") if is_json else dict(await request.form())
    except ValueError:
        return problem_response(400, "Invalid JSON", "send a JSON object")
    if not isinstance(data, dict):
        data = {}
    try:
        merchant_id, parsed = su.parse_request(data, settings.default_merchant)
    except su.SignupError as exc:
        if is_json:
            return problem_response(422, "Invalid sign-up", str(exc), [{"field": f, "message": m} for f, m in exc.problems.items()])
        name = _merchant_name(store_url, str(data.get("merchant") or settings.default_merchant)) or ""
        return _html(su.signup_page(str(data.get("merchant") or settings.default_merchant), name, values=data, problems=exc.problems), 400)
    client = request.client.host if request.client else None
    try:
        with session_scope(store_url) as session:
            name = require_merchant(session, merchant_id).name
            su.signup(session, merchant_id, parsed, su.mailer_from_settings(settings, name), ip=client, user_agent=request.headers.get("user-agent"))
    except UnknownMerchantError:
        return problem_response(404, "Not found", "unknown merchant") if is_json else _html("<!doctype html><p>Not found.</p>", 404)
    except EmailDeliveryError as exc:
        detail = f"{exc}"
        return (problem_response(503, "Unavailable", detail, headers={"Retry-After": "300"}) if is_json
                else _html(su.confirm_page(detail), 503))
    # the same answer whatever became of the address: the form reveals nobody's status
    return JSONResponse({"status": "accepted"}, 202) if is_json else _html(su.signup_sent_page())


@router.get("/signup/confirm")
def confirm_button(token: str = "") -> HTMLResponse:
    # a GET only shows the button: mail scanners follow links, and must not confirm anyone
    return _html(su.confirm_form_page(token))


@router.post("/signup/confirm")
def confirm(request: Request, token: str = "") -> HTMLResponse:
    settings = request.app.state.settings
    if settings.token_key is None:
        return _html(su.confirm_page("sign-ups are not configured here (CAMPAIGNS_TOKEN_KEY is not set)"), 404)
    client = request.client.host if request.client else None
    try:
        with session_scope(request.app.state.store_url) as session:
            su.confirm_signup(session, token, su.ConfirmationSigner(settings.token_key.get_secret_value()), ip=client,
                              user_agent=request.headers.get("user-agent"))
    except su.ConfirmationTokenError as exc:
        return _html(su.confirm_page(str(exc)), 400)
    return _html(su.confirm_page())
