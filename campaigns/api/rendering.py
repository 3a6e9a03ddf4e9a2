"""JSON responses rendered by pydantic's own serializer, for the routes that answer most often.

A route that returns a model or plain dicts has FastAPI walk the value in Python, validate it against the
`response_model` and only then serialise it. Here the value is validated and serialised in one pass of
pydantic's core (same schema, same bytes); the route keeps `response_model` for its OpenAPI description.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import ResponseValidationError
from pydantic import TypeAdapter, ValidationError
from starlette.responses import Response


def json_response(adapter: TypeAdapter[Any], value: Any, *, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:  # noqa: ANN401
    """`value` (rows, dicts or models) checked against `adapter`'s type and rendered."""
    try:
        checked = adapter.validate_python(value)
    except ValidationError as error:  # our fault, as in FastAPI: a 500, never a 422 that blames the request
        raise ResponseValidationError(error.errors()) from error
    return Response(adapter.dump_json(checked), status_code=status_code, headers=headers, media_type="application/json")
