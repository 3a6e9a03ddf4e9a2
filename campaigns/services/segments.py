"""Audience segments: a small JSON rule language compiled to parameterised SQLAlchemy.

Rule language::

    rule       := {"all": [node, ...]} | {"any": [node, ...]}
    node       := rule | condition
    condition  := {"field": NAME, "op": OP, "value": VALUE}

| field                                     | ops                                                  | value              |
|-------------------------------------------|------------------------------------------------------|--------------------|
| email, first_name, last_name, timezone    | eq, ne, in, not_in, starts_with, contains (no case)  | text / list of text|
| subscribed                                | eq                                                   | true / false       |
| tags                                      | contains, not_contains (the contact's tag list)      | text               |
| created_at                                | within_days (contact created in the last N days)     | whole number       |

``{}`` and ``{"all": []}`` match every contact of the merchant. Every value reaches the
database as a bound parameter, never as SQL text. A bad rule raises `RuleError` (a
ValueError) whose message starts with the path of the offending part, e.g.
``rules.all[1].value: ...``.

Adding a kind of condition (say, events) means one more branch in `_node` and one compiler
function; the rest of the module does not change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, func, literal, not_, or_, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Boolean

from campaigns.domain.enums import MARKETING_CHANNELS, Channel
from campaigns.services.audit import record
from campaigns.services.merchants import require_merchant
from campaigns.store.models import Contact, Segment, SocialAccount
from campaigns.store.types import utcnow

TEXT_FIELDS = {
    "email": Contact.email,
    "first_name": Contact.first_name,
    "last_name": Contact.last_name,
    "timezone": Contact.timezone,
}
TEXT_OPS = ("eq", "ne", "in", "not_in", "starts_with", "contains")
FIELD_OPS: dict[str, tuple[str, ...]] = {
    **{name: TEXT_OPS for name in TEXT_FIELDS},
    "subscribed": ("eq",),
    "tags": ("contains", "not_contains"),
    "created_at": ("within_days",),
}
OP_LABELS = {
    "eq": "is",
    "ne": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "starts_with": "starts with",
    "contains": "contains",
    "not_contains": "does not contain",
    "within_days": "within the last N days",
}
MAX_DEPTH = 4
MAX_CONDITIONS = 50
MAX_TEXT = 320
MAX_DAYS = 3650
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


# --- compilation -----------------------------------------------------------------------------
def compile_rules(rules: Mapping[str, Any] | None, now: datetime | None = None) -> ColumnElement[bool]:
    """The WHERE clause (on `Contact`) that `rules` describe; raises RuleError."""
    if rules is None or (isinstance(rules, Mapping) and not rules):
        return true()
    counter = [0]
    return _node(rules, "rules", now or utcnow(), 0, counter)


def validate_rules(rules: Mapping[str, Any] | None) -> None:
    """Raise RuleError when `rules` would not compile."""
    compile_rules(rules)


def _node(node: Any, path: str, now: datetime, depth: int, counter: list[int]) -> ColumnElement[bool]:
    if not isinstance(node, Mapping):
        raise RuleError(path, 'must be an object: {"all": [...]}, {"any": [...]} or {"field": ..., "op": ..., "value": ...}')
    groups = [key for key in ("all", "any") if key in node]
    if groups:
        if len(node) != 1:
            raise RuleError(path, f'a group holds exactly one key, "all" or "any"; found {", ".join(sorted(map(str, node)))}')
        return _group(groups[0], node[groups[0]], f"{path}.{groups[0]}", now, depth, counter)
    if "field" in node:
        counter[0] += 1
        if counter[0] > MAX_CONDITIONS:
            raise RuleError(path, f"too many conditions; a segment may hold at most {MAX_CONDITIONS}")
        return _condition(node, path, now)
    if "event" in node:
        raise RuleError(path, "event conditions are not supported yet; use contact fields, tags or created_at")
    keys = ", ".join(sorted(map(str, node))) or "nothing"
    raise RuleError(path, f'expected "all", "any" or "field"; found {keys}')


def _group(kind: str, items: Any, path: str, now: datetime, depth: int, counter: list[int]) -> ColumnElement[bool]:
    if depth >= MAX_DEPTH:
        raise RuleError(path, f"groups nest at most {MAX_DEPTH} deep; flatten the rule")
    if not isinstance(items, list):
        raise RuleError(path, "must be a list of conditions or groups")
    if not items:
        if kind == "any":
            raise RuleError(path, 'needs at least one condition (an empty "any" matches nobody)')
        return true()
    parts = [_node(item, f"{path}[{i}]", now, depth + 1, counter) for i, item in enumerate(items)]
    return and_(*parts) if kind == "all" else or_(*parts)


def _condition(node: Mapping[str, Any], path: str, now: datetime) -> ColumnElement[bool]:
    unknown = set(node) - {"field", "op", "value"}
    if unknown:
        raise RuleError(path, f"unknown keys {', '.join(sorted(map(str, unknown)))}; a condition has field, op and value")
    name = node["field"]
    if name not in FIELD_OPS:
        raise RuleError(f"{path}.field", f"unknown field {name!r}; use one of {', '.join(FIELD_OPS)}")
    op = node.get("op")
    if op not in FIELD_OPS[name]:
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
    # created_at within_days
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
        raise RuleError(value_path, f"must be a whole number of days from 0 to {MAX_DAYS}, not {value!r}")
    return Contact.created_at >= now - timedelta(days=value)


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
    query = select(Contact).where(Contact.merchant_id == merchant_id, compile_rules(rules, now))
    return query.where(Contact.subscribed == literal(True, Boolean())) if subscribed_only else query


def count_contacts(
    session: Session, merchant_id: str, rules: Mapping[str, Any] | None, now: datetime | None = None, subscribed_only: bool = False
) -> int:
    """How many of the merchant's contacts match (the live size estimate)."""
    inner = contacts_query(merchant_id, rules, now, subscribed_only).with_only_columns(Contact.id).subquery()
    return int(session.scalar(select(func.count()).select_from(inner)) or 0)


def sample_contacts(session: Session, merchant_id: str, rules: Mapping[str, Any] | None, limit: int = 5) -> list[Contact]:
    return list(session.scalars(contacts_query(merchant_id, rules).order_by(Contact.id).limit(limit)))


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
    name, op, value = node.get("field"), node.get("op"), node.get("value")
    if name == "created_at":
        return f"created in the last {value} days"
    if name == "subscribed":
        return "subscribed" if value else "unsubscribed"
    if name == "tags":
        return f"tagged {value!r}" if op == "contains" else f"not tagged {value!r}"
    shown = ", ".join(map(str, value)) if isinstance(value, list) else repr(value)
    return f"{name.replace('_', ' ')} {OP_LABELS.get(op, op)} {shown}"


# --- saved segments --------------------------------------------------------------------------
def list_segments(session: Session, merchant_id: str) -> list[Segment]:
    return list(session.scalars(select(Segment).where(Segment.merchant_id == merchant_id).order_by(Segment.name, Segment.id)))


def get_segment(session: Session, merchant_id: str, segment_id: int) -> Segment:
    segment = session.scalar(select(Segment).where(Segment.merchant_id == merchant_id, Segment.id == segment_id))
    if segment is None:
        raise LookupError(f"no segment {segment_id} for merchant {merchant_id!r}")
    return segment


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

