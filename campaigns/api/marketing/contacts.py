"""/marketing/contacts: list (search, cursor pagination), get, create (with consent), update, delete, erase (owners only).

Thin: parse, authorise, call one `campaigns.audiences.contacts` / `privacy` function, render. Contacts are
addressed by id only, so addresses never travel in URLs or access logs. Erased contacts (pseudonymous husks)
and other merchants' contacts are never listed and read as unknown (404).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError

from campaigns.access.idempotency import request_fingerprint
from campaigns.access.roles import Permission
from campaigns.api.auth import CallerDep, IdempotencyKey, run, run_idempotent
from campaigns.api.problems import PROBLEM_RESPONSES, ApiProblem
from campaigns.audiences import contacts, privacy

router = APIRouter(prefix="/marketing/contacts", tags=["contacts"], responses=PROBLEM_RESPONSES)
ContactId = Annotated[int, Path(ge=1, le=2**31 - 1, description="A contact id")]
MAX_PAGE = 200
AttributeValue = str | int | float | bool | None
Attributes = Annotated[dict[Annotated[str, Field(max_length=60)], AttributeValue], Field(max_length=50)]


class ContactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    first_name: str
    last_name: str
    timezone: str
    tags: list[str]
    attributes: dict[str, Any]
    subscribed: bool = Field(description="Has consent to marketing email (a suppressed address is never sent to, whatever this says)")
    status: str = Field(description="active, or pending (signed up, confirmation not clicked yet)")
    created_at: datetime
    updated_at: datetime


class ContactPage(BaseModel):
    items: list[ContactOut]
    total: int = Field(description="How many contacts match the search, on all pages")
    next_cursor: str | None = None  # pass as ?cursor= for the next page; null on the last page


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: str = Field(min_length=3, max_length=contacts.MAX_EMAIL)
    first_name: str = Field(default="", max_length=contacts.MAX_NAME)
    last_name: str = Field(default="", max_length=contacts.MAX_NAME)
    timezone: str = Field(default="UTC", max_length=64, description="IANA time zone, e.g. Europe/Paris")
    tags: list[Annotated[str, Field(max_length=contacts.MAX_TAG)]] = Field(default_factory=list, max_length=100)
    attributes: Attributes = Field(default_factory=dict, description="Custom fields: lower-case names, scalar values")
    subscribed: bool = Field(default=False, description="Consent to marketing email; true needs consent_source")
    consent_source: str = Field(default="", max_length=200, description="Where the person agreed, e.g. 'checkout opt-in'")
    consent_wording: str = Field(default="", max_length=2000, description="What they agreed to, as shown to them")
    consented_at: AwareDatetime | None = Field(default=None, description="When they agreed (default: now)")


class ContactPatch(BaseModel):
    """Only the fields sent change; tags replace the whole list; an attribute set to null is removed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    first_name: str | None = Field(default=None, max_length=contacts.MAX_NAME)
    last_name: str | None = Field(default=None, max_length=contacts.MAX_NAME)
    timezone: str | None = Field(default=None, max_length=64)
    tags: list[Annotated[str, Field(max_length=contacts.MAX_TAG)]] | None = Field(default=None, max_length=100)
    attributes: Attributes | None = None
    subscribed: bool | None = Field(default=None, description="true needs consent_source; false records the withdrawal")
    consent_source: str = Field(default="", max_length=200)
    consent_wording: str = Field(default="", max_length=2000)


class ErasureOut(BaseModel):
    contacts: int = Field(description="Contacts made pseudonymous husks")
    events_anonymised: int
    sends_cleared: int
    values_redacted: int = Field(description="Other stored values that held the address, now [erased]")


CREATE_EXAMPLES = {"opt_in": {"summary": "A subscriber who opted in at checkout", "value": {
    "email": "ana.lopez@example.com", "first_name": "Ana", "timezone": "Europe/Madrid", "tags": ["vip"], "subscribed": True,
    "consent_source": "checkout opt-in", "consented_at": "2026-11-02T10:15:00Z"}}}
PATCH_EXAMPLES = {"tags": {"summary": "New tags and a custom field", "value": {"tags": ["vip", "trail-runner"], "attributes": {"loyalty_tier": "gold"}}},
                  "unsubscribe": {"summary": "The person asked by phone to stop", "value": {"subscribed": False, "consent_source": "phone call"}}}


def _out(contact) -> dict[str, Any]:  # noqa: ANN001
    return ContactOut.model_validate(contact).model_dump(mode="json")


def _encode_cursor(contact_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([contact_id]).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        (contact_id,) = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(contact_id, int) or isinstance(contact_id, bool) or contact_id < 0:
            raise ValueError
        return contact_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ApiProblem(422, "Invalid request", "cursor: not a cursor this API gave; pass next_cursor from the previous page as it is") from None


@router.get("", response_model=ContactPage, summary="List contacts by id, with a search over address, names and tags")
def list_(who: CallerDep, search: Annotated[str, Query(max_length=200, description="Part of the address, a name or a tag, any case")] = "",
          limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
          cursor: Annotated[str | None, Query(max_length=500, description="next_cursor of the previous page")] = None) -> ContactPage:
    after = _decode_cursor(cursor) if cursor else None

    def work(session):  # noqa: ANN001
        rows, total = contacts.list_contacts(session, who.merchant_id, search, limit=limit + 1, after_id=after)
        more = len(rows) > limit
        return ContactPage(items=[ContactOut.model_validate(c) for c in rows[:limit]], total=total,
                           next_cursor=_encode_cursor(rows[limit - 1].id) if more else None)

    return run(who, Permission.READ, work)


@router.get("/{contact_id}", response_model=ContactOut, summary="One contact")
def get(who: CallerDep, contact_id: ContactId) -> dict[str, Any]:
    return run(who, Permission.READ, lambda session: _out(contacts.get_contact(session, who.merchant_id, contact_id)))


def _conflict(exc: contacts.ContactExistsError) -> ApiProblem:
    return ApiProblem(409, "Conflict", str(exc))


@router.post("", status_code=201, response_model=ContactOut,
             summary="Add a contact (subscribed needs where and when the person agreed; a suppressed address stays unsubscribed)",
             responses={409: {"description": "The merchant already has this address", "content": {"application/problem+json": {}}}})
def create(who: CallerDep, request: Request, data: Annotated[ContactIn, Body(openapi_examples=CREATE_EXAMPLES)],
           idempotency_key: IdempotencyKey = None) -> JSONResponse:
    consent = contacts.ConsentInput(data.consent_source, data.consent_wording, data.consented_at) if data.subscribed else None
    new = contacts.NewContact(email=data.email, first_name=data.first_name, last_name=data.last_name, timezone=data.timezone, tags=data.tags,
                              attributes=data.attributes, subscribed=data.subscribed, consent=consent)

    def work(session):  # noqa: ANN001
        try:
            return 201, _out(contacts.create_contact(session, who.merchant_id, new, actor=who.actor))
        except contacts.ContactExistsError as exc:
            raise _conflict(exc) from None

    fingerprint = request_fingerprint("POST", request.url.path, data.model_dump_json().encode())
    try:
        return run_idempotent(who, Permission.EDIT, idempotency_key, fingerprint, work,
                              headers=lambda body: {"Location": f"/marketing/contacts/{body['id']}"})
    except IntegrityError:  # a concurrent request added the same address first (the store's unique address per merchant)
        raise _conflict(contacts.ContactExistsError("the merchant already has a contact with this address; edit it instead")) from None


@router.patch("/{contact_id}", response_model=ContactOut, summary="Change a contact's names, time zone, tags, custom fields or consent")
def update(who: CallerDep, contact_id: ContactId, changes: Annotated[ContactPatch, Body(openapi_examples=PATCH_EXAMPLES)]) -> dict[str, Any]:
    edit = contacts.ContactChanges(**{k: v for k, v in changes.model_dump(exclude_unset=True).items() if v is not None})

    def work(session):  # noqa: ANN001
        contact, _ = contacts.update_contact(session, who.merchant_id, contact_id, edit, actor=who.actor)
        return _out(contact)

    return run(who, Permission.EDIT, work)


@router.delete("/{contact_id}", status_code=204, summary="Delete a contact with its events and consent history (the suppression list is kept)")
def delete(who: CallerDep, contact_id: ContactId) -> Response:
    run(who, Permission.EDIT, lambda session: contacts.delete_contact(session, who.merchant_id, contact_id, actor=who.actor))
    return Response(status_code=204)


@router.post("/{contact_id}/erase", response_model=ErasureOut,
             summary="Erase the person (right to erasure): their data everywhere in the store, the address kept only as a suppressed hash (owners)")
def erase(who: CallerDep, request: Request, contact_id: ContactId, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    def work(session):  # noqa: ANN001
        contact = contacts.get_contact(session, who.merchant_id, contact_id)
        done = privacy.erase(session, who.merchant_id, contact.email, actor=who.actor)
        return 200, ErasureOut(contacts=done.contacts, events_anonymised=done.events_anonymised, sends_cleared=done.sends_cleared,
                               values_redacted=done.values_redacted).model_dump()

    return run_idempotent(who, Permission.ADMIN, idempotency_key, request_fingerprint("POST", request.url.path, b""), work)
