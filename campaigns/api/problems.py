"""Errors as ``application/problem+json`` (RFC 9457): what went wrong, which field, and how to fix it.

Routes raise the contexts' own errors; the handlers here map them once for every route:
not found (and another merchant's ids) 404, a refused transition 409, bad values 422 naming the
field, a role that may not 403, a missing or bad key or token 401, a stale precondition 412, an
identity provider that does not answer 503.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from campaigns.access.api_keys import ApiKeyError
from campaigns.access.oidc_tokens import NoMembership, ProviderUnavailable, TokenError
from campaigns.access.roles import AccessDenied
from campaigns.api.limits import BodyRefused
from campaigns.core.merchants import UnknownMerchantError
from campaigns.lifecycle.states import TransitionError

PROBLEM = "application/problem+json"
INVALID_TOKEN = 'Bearer error="invalid_token"'  # RFC 6750: a credential was sent and is not good (a missing one gets plain `Bearer`)


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """The error body of every API response that is not 2xx."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


class ApiProblem(Exception):
    def __init__(self, status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.headers = status, title, detail, headers


def problem_response(status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None,
                     headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def _validation_errors(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    out = []
    for error in errors:
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        out.append({"field": _field(error.get("loc", ())), "message": message})
    return out


def _validation(errors: list[dict[str, Any]]) -> JSONResponse:
    fields = _validation_errors(errors)
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in fields[:5])
    return problem_response(422, "Invalid request", f"fix these fields and send again: {detail}", fields)


# Problem shapes for the OpenAPI document.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": title, "content": {PROBLEM: {}}}
    for status, title in ((401, "Missing, invalid, revoked or expired API key or OIDC token"),
                          (403, "The caller's role may not do this, or the person has no membership in the merchant named"),
                          (404, "No such resource for this merchant"), (409, "The resource's state does not allow this"), (413, "Body too large"), (422, "Invalid request"),
                          (429, "Rate limit reached; retry after Retry-After seconds"),
                          (503, "Busy, or the identity provider did not answer; retry after Retry-After seconds"))
}


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _request_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation(list(exc.errors()))

    @app.exception_handler(ValidationError)
    async def _model_validation(_: Request, exc: ValidationError) -> JSONResponse:
        return _validation(list(exc.errors()))  # type: ignore[arg-type]

    @app.exception_handler(ApiProblem)
    async def _api_problem(_: Request, exc: ApiProblem) -> JSONResponse:
        return problem_response(exc.status, exc.title, exc.detail, headers=exc.headers)

    @app.exception_handler(ApiKeyError)
    async def _bad_key(_: Request, exc: ApiKeyError) -> JSONResponse:
        return problem_response(401, "Unauthorized", str(exc), headers={"WWW-Authenticate": INVALID_TOKEN})

    @app.exception_handler(TokenError)
    async def _bad_token(_: Request, exc: TokenError) -> JSONResponse:
        return problem_response(401, "Unauthorized", str(exc), headers={"WWW-Authenticate": INVALID_TOKEN})

    @app.exception_handler(NoMembership)
    async def _no_membership(_: Request, exc: NoMembership) -> JSONResponse:
        return problem_response(403, "Forbidden", str(exc))

    @app.exception_handler(ProviderUnavailable)
    async def _provider(_: Request, exc: ProviderUnavailable) -> JSONResponse:
        return problem_response(503, "Service Unavailable", str(exc), headers={"Retry-After": "60"})

    @app.exception_handler(AccessDenied)
    async def _denied(_: Request, exc: AccessDenied) -> JSONResponse:
        return problem_response(403, "Forbidden", str(exc))

    @app.exception_handler(LookupError)
    async def _not_found(_: Request, exc: LookupError) -> JSONResponse:
        return problem_response(404, "Not Found", str(exc).strip("'\""))

    @app.exception_handler(UnknownMerchantError)
    async def _unknown_merchant(_: Request, exc: UnknownMerchantError) -> JSONResponse:
        return problem_response(404, "Not Found", "the merchant of this key is unknown")

    @app.exception_handler(TransitionError)
    async def _conflict(_: Request, exc: TransitionError) -> JSONResponse:
        return problem_response(409, "Conflict", str(exc))

    @app.exception_handler(ValueError)
    async def _bad_value(_: Request, exc: ValueError) -> JSONResponse:
        return problem_response(422, "Invalid request", str(exc))

    @app.exception_handler(BodyRefused)
    async def _body(_: Request, exc: BodyRefused) -> JSONResponse:
        titles = {400: "Bad Request", 408: "Request Timeout", 413: "Content Too Large"}
        return problem_response(exc.status, titles[exc.status], exc.detail, headers={"Connection": "close"})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, BodyRefused):  # FastAPI wraps what failed while it read the body in a 400
            return await _body(request, exc.__cause__)
        return problem_response(exc.status_code, _TITLES.get(exc.status_code, "Error"), str(exc.detail), headers=getattr(exc, "headers", None))


_TITLES = {404: "Not Found", 405: "Method Not Allowed", 400: "Bad Request"}
