"""Audience segments: a small JSON rule language compiled to parameterised SQLAlchemy.

Rule language::

    rule       := {"all": [node, ...]} | {"any": [node, ...]}
    node       := rule | condition
    condition  := field | event | rfm
    field      := {"field": NAME, "op": OP, "value": VALUE}
    event      := {"event": KIND, "op": OP, "days": N, "count": K, "email_campaign_id": ID}
    rfm        := {"rfm": BUCKET} | {"rfm": [BUCKET, ...]}

Field conditions:

| field                                     | ops                                                  | value              |
|-------------------------------------------|------------------------------------------------------|--------------------|
| email, first_name, last_name, timezone    | eq, ne, in, not_in, starts_with, contains (no case)  | text / list of text|
| subscribed                                | eq                                                   | true / false       |
| tags                                      | contains, not_contains (the contact's tag list)      | text               |
| created_at                                | within_days (contact created in the last N days)     | whole number       |
| rfm_recency, rfm_frequency, rfm_monetary  | eq, gte, lte (RFM score; buyers only)                | 1 to 5             |

Event conditions look at `contact_events` (KIND one of `EVENT_KINDS`: opened, clicked,
purchased, signed_up, tag_added, ...). "Now" is the moment of evaluation (the send, for a
snapshot); the last N days are ``[now - N days, now]``; events after now never count.

| op               | means                                                   | days      | count     |
|------------------|---------------------------------------------------------|-----------|-----------|
| ever             | at least one such event                                 | -         | -         |
| never            | no such event                                           | -         | -         |
| within_days      | at least one in the last N days                         | required  | -         |
| not_within_days  | none in the last N days (includes "never")              | required  | -         |
| count_at_least   | at least K in the last N days (or ever, without days)   | optional  | K >= 1    |
| count_at_most    | at most K in the last N days (or ever); includes zero   | optional  | K >= 0    |

``email_campaign_id`` (optional) keeps only events of that email campaign, e.g. "clicked
campaign 12". Example: ``{"event": "purchased", "op": "count_at_least", "count": 2, "days": 90}``.

RFM conditions use the scores and buckets defined in `campaigns.audiences.rfm` (computed in SQL
with window functions, over the merchant's purchases up to now): ``{"rfm": "champions"}``,
``{"rfm": ["at_risk", "cant_lose"]}`` (any of), or a score field such as
``{"field": "rfm_recency", "op": "gte", "value": 4}``. Contacts who never bought have no
scores and match no RFM condition (use ``{"event": "purchased", "op": "never"}`` for them).

``{}`` and ``{"all": []}`` match every contact of the merchant. Every value reaches the
database as a bound parameter, never as SQL text. A bad rule raises `RuleError` (a
ValueError) whose message starts with the path of the offending part, e.g.
``rules.all[1].days: ...``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    Subquery,
    and_,
    case,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Boolean

from campaigns.core.enums import MARKETING_CHANNELS, Channel
from campaigns.audiences import rfm
from campaigns.core.audit import record
from campaigns.audiences.events import EVENT_KINDS
from campaigns.core.merchants import require_merchant
from campaigns.core.store.models import Contact, ContactEvent, Segment, SocialAccount
from campaigns.core.store.types import utcnow

TEXT_FIELDS = {
    "email": Contact.email,
    "first_name": Contact.first_name,
    "last_name": Contact.last_name,
    "timezone": Contact.timezone,
}
RFM_FIELDS = {"rfm_recency": "recency", "rfm_frequency": "frequency", "rfm_monetary": "monetary"}
TEXT_OPS = ("eq", "ne", "in", "not_in", "starts_with", "contains")
SCORE_OPS = ("eq", "gte", "lte")
FIELD_OPS: dict[str, tuple[str, ...]] = {
    **{name: TEXT_OPS for name in TEXT_FIELDS},
    "subscribed": ("eq",),
    "tags": ("contains", "not_contains"),
    "created_at": ("within_days",),
    **{name: SCORE_OPS for name in RFM_FIELDS},
}
EVENT_OPS = ("ever", "never", "within_days", "not_within_days", "count_at_least", "count_at_most")
EVENT_KEYS = {"event", "op", "days", "count", "email_campaign_id"}
OP_LABELS = {
    "eq": "is",
    "ne": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "starts_with": "starts with",
    "contains": "contains",
    "not_contains": "does not contain",
    "within_days": "within the last N days",
    "gte": "is at least",
    "lte": "is at most",
    "ever": "ever",
    "never": "never",
    "not_within_days": "not within the last N days",
    "count_at_least": "at least K times",
    "count_at_most": "at most K times",
}
EVENT_VERBS = {
    "sent": "was sent an email", "delivered": "had an email delivered", "opened": "opened an email", "clicked": "clicked an email",
    "purchased": "purchased", "signed_up": "signed up", "tag_added": "was tagged", "unsubscribed": "unsubscribed",
    "bounced": "bounced", "complained": "complained",
}
MAX_DEPTH = 4
MAX_CONDITIONS = 50
MAX_TEXT = 320
MAX_IN_VALUES = 10_000  # values of one "in"/"not_in" list: each is a bound parameter of one query
MAX_DAYS = 3650
MAX_COUNT = 100_000
EVERYONE: dict[str, Any] = {"all": []}


class RuleError(ValueError):
    """A rule that cannot be compiled; `path` points at the offending part."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


# --- tags: list membership in a JSON column, portable ---------------------------------------
class json_list_contains(FunctionElement[bool]):  # noqa: N801 (SQL function naming)
    """True when the JSON array in the first argument holds the second argument (a bound text)."""

    type = Boolean()
    name = "json_list_contains"
    inherit_cache = True


@compiles(json_list_contains)  # also what str(query) shows
@compiles(json_list_contains, "sqlite")
def _json_list_contains_sqlite(element: json_list_contains, compiler, **kw) -> str:
    column, value = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXISTS (SELECT 1 FROM json_each({column}) AS tag WHERE tag.value = {value})"


@compiles(json_list_contains, "postgresql")
def _json_list_contains_postgres(element: json_list_contains, compiler, **kw) -> str:
    column, value = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXISTS (SELECT 1 FROM json_array_elements_text(CAST({column} AS json)) AS tag(value) WHERE tag.value = {value})"


# --- RFM scores in SQL (the same formula as campaigns.audiences.rfm) ------------------------------
def rfm_scores(now: datetime, merchant_id: str | None = None) -> Subquery:
    """contact_id, recency, frequency, monetary (1-5) and bucket for every buyer up to `now`.

    Ranks are taken per merchant (PARTITION BY), so the result is right with or without
    `merchant_id`; passing it only saves reading other merchants' purchases.
    """
    purchases = select(
        ContactEvent.merchant_id.label("merchant_id"),
        ContactEvent.contact_id.label("contact_id"),
        func.max(ContactEvent.occurred_at).label("last_at"),
        func.count().label("n_purchases"),
        # rounded to cents: SQLite sums money as floats, and 0.1 + 0.2 must tie with 0.3 as in Python
        func.round(func.coalesce(func.sum(ContactEvent.value), 0), 2).label("total"),
    ).where(ContactEvent.kind == literal("purchased", String()), ContactEvent.occurred_at <= now)
    if merchant_id is not None:
        purchases = purchases.where(ContactEvent.merchant_id == merchant_id)
    buyers = purchases.group_by(ContactEvent.merchant_id, ContactEvent.contact_id).subquery("rfm_buyers")
    per_merchant = {"partition_by": buyers.c.merchant_id}
    n = func.count().over(**per_merchant)

    def score(metric) -> ColumnElement[int]:
        rank = func.rank().over(order_by=metric, **per_merchant)
        # integer floor division on both dialects: 1 + 5*(rank-1) // n
        return (literal(1, Integer()) + (literal(rfm.LEVELS, Integer()) * (rank - literal(1, Integer()))) // n)

    scored = select(
        buyers.c.contact_id,
        score(buyers.c.last_at).label("recency"),
        score(buyers.c.n_purchases).label("frequency"),
        score(buyers.c.total).label("monetary"),
    ).subquery("rfm_scored")

    def within(column, bounds: tuple[int, int]) -> ColumnElement[bool]:
        return column.between(literal(bounds[0], Integer()), literal(bounds[1], Integer()))

    bucket = case(
        *[(and_(within(scored.c.recency, b.recency), within(scored.c.frequency, b.frequency), within(scored.c.monetary, b.monetary)),
           literal(b.name, String())) for b in rfm.BUCKETS],
    )
    return select(scored.c.contact_id, scored.c.recency, scored.c.frequency, scored.c.monetary, bucket.label("bucket")).subquery("rfm")


# --- compilation -----------------------------------------------------------------------------
@dataclass
class _Context:
    now: datetime
    merchant_id: str | None
    conditions: int = 0
    rfm: Subquery | None = None

    def rfm_scores(self) -> Subquery:
        if self.rfm is None:
            self.rfm = rfm_scores(self.now, self.merchant_id)
        return self.rfm


def compile_rules(rules: Mapping[str, Any] | None, now: datetime | None = None, merchant_id: str | None = None) -> ColumnElement[bool]:
    """The WHERE clause (on `Contact`) that `rules` describe; raises RuleError.

    `merchant_id` narrows the RFM subquery to one merchant (faster); the clause is right without it.
    """
    if rules is None or (isinstance(rules, Mapping) and not rules):
        return true()
    return _node(rules, "rules", 0, _Context(now or utcnow(), merchant_id))


def validate_rules(rules: Mapping[str, Any] | None) -> None:
    """Raise RuleError when `rules` would not compile."""
    compile_rules(rules)


def _node(node: Any, path: str, depth: int, ctx: _Context) -> ColumnElement[bool]:
    if not isinstance(node, Mapping):
        raise RuleError(path, 'must be an object: {"all": [...]}, {"any": [...]}, {"field": ...}, {"event": ...} or {"rfm": ...}')
    groups = [key for key in ("all", "any") if key in node]
    if groups:
        if len(node) != 1:
            raise RuleError(path, f'a group holds exactly one key, "all" or "any"; found {", ".join(sorted(map(str, node)))}')
        return _group(groups[0], node[groups[0]], f"{path}.{groups[0]}", depth, ctx)
    kinds = [key for key in ("field", "event", "rfm") if key in node]
    if len(kinds) > 1:
        raise RuleError(path, f"a condition is one of field, event or rfm; found {' and '.join(kinds)}; split it into two conditions")
    if not kinds:
        keys = ", ".join(sorted(map(str, node))) or "nothing"
        raise RuleError(path, f'expected "all", "any", "field", "event" or "rfm"; found {keys}')
    ctx.conditions += 1
    if ctx.conditions > MAX_CONDITIONS:
        raise RuleError(path, f"too many conditions; a segment may hold at most {MAX_CONDITIONS}")
    if kinds[0] == "field":
        return _condition(node, path, ctx)
    if kinds[0] == "event":
        return _event_condition(node, path, ctx)
    return _rfm_condition(node, path, ctx)


def _group(kind: str, items: Any, path: str, depth: int, ctx: _Context) -> ColumnElement[bool]:
    if depth >= MAX_DEPTH:
        raise RuleError(path, f"groups nest at most {MAX_DEPTH} deep; flatten the rule")
    if not isinstance(items, list):
        raise RuleError(path, "must be a list of conditions or groups")
    if not items:
        if kind == "any":
            raise RuleError(path, 'needs at least one condition (an empty "any" matches nobody)')
        return true()
    parts = [_node(item, f"{path}[{i}]", depth + 1, ctx) for i, item in enumerate(items)]
    return and_(*parts) if kind == "all" else or_(*parts)


def _condition(node: Mapping[str, Any], path: str, ctx: _Context) -> ColumnElement[bool]:
    unknown = set(node) - {"field", "op", "value"}
    if unknown:
        raise RuleError(path, f"unknown keys {', '.join(sorted(map(str, unknown)))}; a condition has field, op and value")
    name = node["field"]
    if not isinstance(name, str) or name not in FIELD_OPS:
        raise RuleError(f"{path}.field", f"unknown field {name!r}; use one of {', '.join(FIELD_OPS)}")
    op = node.get("op")
    if not isinstance(op, str) or op not in FIELD_OPS[name]:
        raise RuleError(f"{path}.op", f"{op!r} does not apply to {name}; use one of {', '.join(FIELD_OPS[name])}")
    if "value" not in node:
        raise RuleError(f"{path}.value", "is missing")
    value = node["value"]
    value_path = f"{path}.value"
    if name in TEXT_FIELDS:
        return _text_condition(TEXT_FIELDS[name], op, value, value_path)
    if name == "subscribed":
        if not isinstance(value, bool):
            raise RuleError(value_path, f"must be true or false, not {value!r}")
        return Contact.subscribed == literal(value, Boolean())
    if name == "tags":
        tag = _text(value, value_path, allow_empty=False)
        contains = json_list_contains(Contact.tags, literal(tag, String()))
        return contains if op == "contains" else not_(contains)
    if name in RFM_FIELDS:
        score = _whole(value, value_path, 1, rfm.LEVELS, "an RFM score")
        scores = ctx.rfm_scores()
        column = scores.c[RFM_FIELDS[name]]
        bound = literal(score, Integer())
        test = column == bound if op == "eq" else column >= bound if op == "gte" else column <= bound
        return Contact.id.in_(select(scores.c.contact_id).where(test))
    # created_at within_days
    days = _whole(value, value_path, 0, MAX_DAYS, "a whole number of days")
    return Contact.created_at >= ctx.now - timedelta(days=days)


def _whole(value: Any, path: str, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RuleError(path, f"must be {what} from {low} to {high}, not {value!r}")
    return value


def _event_condition(node: Mapping[str, Any], path: str, ctx: _Context) -> ColumnElement[bool]:
    unknown = set(node) - EVENT_KEYS
    if unknown:
        raise RuleError(path, f"unknown keys {', '.join(sorted(map(str, unknown)))}; an event condition has "
                              "event, op, days, count and email_campaign_id")
    kind = node["event"]
    if not isinstance(kind, str) or kind not in EVENT_KINDS:
        raise RuleError(f"{path}.event", f"unknown event {kind!r}; use one of {', '.join(EVENT_KINDS)}")
    op = node.get("op")
    if not isinstance(op, str) or op not in EVENT_OPS:
        raise RuleError(f"{path}.op", f"{op!r} is not an event condition; use one of {', '.join(EVENT_OPS)}")
    needs_days = op in ("within_days", "not_within_days")
    takes_days = needs_days or op.startswith("count_")
    if "days" in node and not takes_days:
        raise RuleError(f"{path}.days", f'"{op}" takes no days; use "within_days" or "not_within_days" for a time window')
    if needs_days and "days" not in node:
        raise RuleError(f"{path}.days", f'is missing; "{op}" needs the number of days, e.g. "days": 30')
    days = _whole(node["days"], f"{path}.days", 1, MAX_DAYS, "a whole number of days") if "days" in node else None
    if op.startswith("count_"):
        if "count" not in node:
            raise RuleError(f"{path}.count", f'is missing; "{op}" needs how many events, e.g. "count": 3')
        count = _whole(node["count"], f"{path}.count", 1 if op == "count_at_least" else 0, MAX_COUNT, "a whole number of events")
    elif "count" in node:
        raise RuleError(f"{path}.count", f'"{op}" takes no count; use "count_at_least" or "count_at_most"')
    else:
        count = None
    campaign_id = node.get("email_campaign_id")
    if campaign_id is not None:
        campaign_id = _whole(campaign_id, f"{path}.email_campaign_id", 1, 2**31 - 1, "an email campaign id")

    # Correlated on the outer contact; every value is a bound parameter.
    where = [ContactEvent.contact_id == Contact.id, ContactEvent.merchant_id == Contact.merchant_id,
             ContactEvent.kind == literal(kind, String()), ContactEvent.occurred_at <= ctx.now]
    if days is not None:
        where.append(ContactEvent.occurred_at >= ctx.now - timedelta(days=days))
    if campaign_id is not None:
        where.append(ContactEvent.email_campaign_id == literal(campaign_id, Integer()))
    if count is None:
        found = exists(select(ContactEvent.id).where(*where))
        return not_(found) if op in ("never", "not_within_days") else found
    how_many = select(func.count(ContactEvent.id)).where(*where).scalar_subquery()
    bound = literal(count, Integer())
    return how_many >= bound if op == "count_at_least" else how_many <= bound


def _rfm_condition(node: Mapping[str, Any], path: str, ctx: _Context) -> ColumnElement[bool]:
    unknown = set(node) - {"rfm"}
    if unknown:
        raise RuleError(path, f"unknown keys {', '.join(sorted(map(str, unknown)))}; an RFM condition is just {{\"rfm\": \"champions\"}}")
    value = node["rfm"]
    names = value if isinstance(value, list) else [value]
    if not names:
        raise RuleError(f"{path}.rfm", f"needs at least one bucket; use {', '.join(rfm.BUCKET_NAMES)}")
    for i, name in enumerate(names):
        if not isinstance(name, str) or name not in rfm.BUCKET_NAMES:
            where = f"{path}.rfm[{i}]" if isinstance(value, list) else f"{path}.rfm"
            raise RuleError(where, f"unknown RFM bucket {name!r}; use one of {', '.join(rfm.BUCKET_NAMES)}")
    scores = ctx.rfm_scores()
    return Contact.id.in_(select(scores.c.contact_id).where(scores.c.bucket.in_([literal(n, String()) for n in names])))


def _text(value: Any, path: str, allow_empty: bool = True) -> str:
    if not isinstance(value, str):
        raise RuleError(path, f"must be text, not {type(value).__name__} {value!r}")
    if not allow_empty and not value.strip():
        raise RuleError(path, "must not be empty")
    if len(value) > MAX_TEXT:
        raise RuleError(path, f"is {len(value)} characters; at most {MAX_TEXT}")
    return value


def _text_condition(column, op: str, value: Any, path: str) -> ColumnElement[bool]:
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise RuleError(path, f'"{op}" needs a non-empty list of text, e.g. ["Europe/London", "Europe/Berlin"]')
        if len(value) > MAX_IN_VALUES:
            raise RuleError(path, f'"{op}" lists {len(value):,} values; at most {MAX_IN_VALUES:,} (use a tag or a saved segment for larger groups)')
        values = [_text(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return column.in_(values) if op == "in" else column.not_in(values)
    text = _text(value, path, allow_empty=op in ("eq", "ne"))
    if op == "eq":
        return column == text
    if op == "ne":
        return column != text
    # LIKE wildcards in the value are escaped, so "50%" means the characters 5, 0 and %.
    if op == "starts_with":
        return func.lower(column).startswith(text.lower(), autoescape=True)
    return func.lower(column).contains(text.lower(), autoescape=True)


# --- counting --------------------------------------------------------------------------------
def contacts_query(merchant_id: str, rules: Mapping[str, Any] | None, now: datetime | None = None, subscribed_only: bool = False) -> Select:
    # an erased contact is a husk kept for its events' counts: it belongs to no segment
    query = select(Contact).where(Contact.merchant_id == merchant_id, Contact.status != "erased", compile_rules(rules, now, merchant_id))
    return query.where(Contact.subscribed == literal(True, Boolean())) if subscribed_only else query


def count_contacts(
    session: Session, merchant_id: str, rules: Mapping[str, Any] | None, now: datetime | None = None, subscribed_only: bool = False
) -> int:
    """How many of the merchant's contacts match (the live size estimate)."""
    inner = contacts_query(merchant_id, rules, now, subscribed_only).with_only_columns(Contact.id).subquery()
    return int(session.scalar(select(func.count()).select_from(inner)) or 0)


def sample_contacts(session: Session, merchant_id: str, rules: Mapping[str, Any] | None, limit: int = 5,
                    now: datetime | None = None) -> list[Contact]:
    return list(session.scalars(contacts_query(merchant_id, rules, now).order_by(Contact.id).limit(limit)))


def contact_rfm(session: Session, merchant_id: str, contact_ids: Sequence[int], now: datetime | None = None) -> dict[int, tuple[int, int, int, str]]:
    """(recency, frequency, monetary, bucket) of the given contacts who bought; for previews."""
    if not contact_ids:
        return {}
    scores = rfm_scores(now or utcnow(), merchant_id)
    rows = session.execute(select(scores).where(scores.c.contact_id.in_(list(contact_ids)))).all()
    return {row.contact_id: (int(row.recency), int(row.frequency), int(row.monetary), row.bucket) for row in rows}


# --- words for people ------------------------------------------------------------------------
def describe(rules: Mapping[str, Any] | None) -> str:
    """A one-line reading of a valid rule, for previews and ad targeting notes."""
    if not rules or rules == EVERYONE:
        return "every contact"
    return _describe(rules)


def _describe(node: Mapping[str, Any]) -> str:
    for kind, joiner in (("all", " and "), ("any", " or ")):
        if kind in node:
            parts = [_describe(item) for item in node[kind]]
            if not parts:
                return "every contact"
            text = joiner.join(parts)
            return f"({text})" if len(parts) > 1 else text
    if "event" in node:
        return _describe_event(node)
    if "rfm" in node:
        names = node["rfm"] if isinstance(node["rfm"], list) else [node["rfm"]]
        labels = {b.name: b.label for b in rfm.BUCKETS}
        return "RFM bucket " + " or ".join(labels.get(n, str(n)) for n in names)
    name, op, value = node.get("field"), node.get("op"), node.get("value")
    if name == "created_at":
        return f"created in the last {value} days"
    if name == "subscribed":
        return "subscribed" if value else "unsubscribed"
    if name == "tags":
        return f"tagged {value!r}" if op == "contains" else f"not tagged {value!r}"
    if name in RFM_FIELDS:
        return f"RFM {RFM_FIELDS[name]} score {OP_LABELS.get(op, op)} {value}"
    shown = ", ".join(map(str, value)) if isinstance(value, list) else repr(value)
    return f"{name.replace('_', ' ')} {OP_LABELS.get(op, op)} {shown}"


def _describe_event(node: Mapping[str, Any]) -> str:
    kind, op, days, count = node.get("event"), node.get("op"), node.get("days"), node.get("count")
    verb = EVENT_VERBS.get(kind, str(kind))
    window = f" in the last {days} days" if days is not None else ""
    of_campaign = f" (email campaign {node['email_campaign_id']})" if node.get("email_campaign_id") is not None else ""
    if op == "ever":
        text = f"{verb} at least once"
    elif op == "never":
        text = f"never {verb}"
    elif op == "within_days":
        text = f"{verb}{window}"
    elif op == "not_within_days":
        text = f"not {verb}{window}"
    elif op == "count_at_least":
        text = f"{verb} at least {count} {'time' if count == 1 else 'times'}{window}"
    else:
        text = f"{verb} at most {count} {'time' if count == 1 else 'times'}{window}"
    return text + of_campaign


# --- saved segments --------------------------------------------------------------------------
def list_segments(session: Session, merchant_id: str) -> list[Segment]:
    return list(session.scalars(select(Segment).where(Segment.merchant_id == merchant_id).order_by(Segment.name, Segment.id)))


def save_segment(session: Session, merchant_id: str, name: str, rules: Mapping[str, Any], actor: str) -> Segment:
    """Create the segment, or replace the rules of the merchant's segment with this name."""
    require_merchant(session, merchant_id)
    name = name.strip()
    if not name:
        raise ValueError("name: give the segment a name, e.g. 'Customers in Europe'")
    validate_rules(rules)
    segment = session.scalar(select(Segment).where(Segment.merchant_id == merchant_id, Segment.name == name))
    if segment is None:
        segment = Segment(merchant_id=merchant_id, name=name, rules=dict(rules))
        session.add(segment)
    else:
        segment.rules = dict(rules)
    session.flush()
    record(session, merchant_id, actor, "segment.save", "segment", str(segment.id), name=name, rules=dict(rules))
    return segment


# --- per-channel audiences -------------------------------------------------------------------
@dataclass(frozen=True)
class ChannelAudience:
    channel: str
    kind: str  # "email", "social" or "ads"
    size: int | None = None  # email: subscribed contacts in the segment
    accounts: tuple[str, ...] = ()  # social: connected handles on that platform
    note: str = ""
    problems: tuple[str, ...] = field(default_factory=tuple)


def ads_targeting_note(rules: Mapping[str, Any] | None, channel: str) -> str:
    platform = {
        "google_ads": "Google Ads Customer Match",
        "meta_ads": "a Meta custom audience",
        "ADS": "Google Ads Customer Match and a Meta custom audience",
    }.get(channel, f"{channel} audiences")
    return f"Upload contacts matching {describe(rules)} to {platform}, and add a lookalike audience seeded from them."


def channel_audiences(
    session: Session,
    merchant_id: str,
    channels: Sequence[str],
    rules: Mapping[str, Any] | None,
    account_ids: Sequence[int] | None = None,
) -> list[ChannelAudience]:
    """Who each channel reaches: an email segment size, social handles, an ads targeting note."""
    accounts = session.scalars(
        select(SocialAccount).where(SocialAccount.merchant_id == merchant_id).order_by(SocialAccount.platform, SocialAccount.handle)
    ).all()
    out: list[ChannelAudience] = []
    for channel in channels:
        rollup = MARKETING_CHANNELS.get(channel) or (Channel(channel) if channel in Channel.__members__ else None)
        if rollup is Channel.EMAIL:
            size = count_contacts(session, merchant_id, rules, subscribed_only=True)
            problems = () if size else ("no subscribed contact matches the segment",)
            out.append(ChannelAudience(channel, "email", size=size, note=f"subscribed contacts: {describe(rules)}", problems=problems))
        elif rollup is Channel.SOCIAL:
            picked = [a for a in accounts if a.platform == channel or channel == "SOCIAL"]
            if account_ids is not None:
                picked = [a for a in picked if a.id in set(account_ids)]
            handles = tuple(f"@{a.handle}" if not a.handle.startswith("@") else a.handle for a in picked)
            problems = () if handles else (f"no {channel} account selected; connect one under social accounts",)
            out.append(ChannelAudience(channel, "social", accounts=handles, note="followers of " + (", ".join(handles) or "no account"), problems=problems))
        else:
            out.append(ChannelAudience(channel, "ads", note=ads_targeting_note(rules, channel)))
    return out


def condition(field_name: str, op: str, value: Any) -> dict[str, Any]:
    """A condition dict, for code that builds rules (the app's rule builder)."""
    return {"field": field_name, "op": op, "value": value}


def combine(kind: str, conditions: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    if kind not in ("all", "any"):
        raise ValueError(f'kind must be "all" or "any", not {kind!r}')
    return {kind: [dict(c) for c in conditions]}

