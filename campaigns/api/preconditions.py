"""ETags and If-Match for the API's PATCH routes: a strong ETag from a resource's id and updated_at, a 428 without
If-Match, a 412 when it names another version. The write itself is a compare-and-set in the service (on updated_at),
so a concurrent change between the check and the write is a 412 too, never a silent overwrite."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import Header

from campaigns.api.problems import ApiProblem

IfMatch = Annotated[str | None, Header(max_length=200, description="The ETag of the resource as last read (or * for any version)")]
RESPONSES: dict[int | str, dict[str, Any]] = {
    412: {"description": "The resource changed since the ETag was read", "content": {"application/problem+json": {}}},
    428: {"description": "If-Match is missing", "content": {"application/problem+json": {}}},
}


def etag_of(resource: dict[str, Any]) -> str:
    """A strong ETag from the id and updated_at of a rendered resource: any change gives a new one."""
    digest = hashlib.sha256(f"{resource['id']}|{resource['updated_at']}".encode()).hexdigest()[:20]
    return f'"{digest}"'


def required(if_match: str | None, where: str) -> str:
    """The ETag the client sent (without a weak prefix); 428 naming where to read it when there is none."""
    if not if_match:
        raise ApiProblem(428, "Precondition Required", f"If-Match: send the ETag from GET {where} so that a concurrent edit is not overwritten silently")
    return if_match.strip().removeprefix("W/")


def stale(what: str) -> ApiProblem:
    return ApiProblem(412, "Precondition Failed", f"If-Match: the {what} changed since you read it; GET it again, re-apply your change "
                      "and send the new ETag")
