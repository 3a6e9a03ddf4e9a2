"""Numbers, money, dates and status badges, formatted the same way on every page."""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from dashboards.charts import STATUS_COLOURS

MISSING = "–"
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "AUD": "A$", "CAD": "C$"}
Number = int | float | Decimal | None


def _missing(value: Number) -> bool:
    return value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value)))


def number(value: Number, decimals: int = 0) -> str:
    return MISSING if _missing(value) else f"{float(value):,.{decimals}f}"


def money(value: Number, currency: str = "USD", decimals: int = 0) -> str:
    if _missing(value):
        return MISSING
    v = float(value)
    symbol = CURRENCY_SYMBOLS.get(currency)
    body = f"{abs(v):,.{decimals}f}"
    sign = "-" if v < 0 else ""
    return f"{sign}{symbol}{body}" if symbol else f"{sign}{body} {currency}"


def percent(value: Number, decimals: int = 1) -> str:
    """A fraction as a percentage: 0.123 -> 12.3%."""
    return MISSING if _missing(value) else f"{float(value):.{decimals}%}"


def signed_percent(value: Number, decimals: int = 1) -> str:
    return MISSING if _missing(value) else f"{float(value):+.{decimals}%}"


def ratio(value: Number) -> str:
    """Return on spend: 2.314 -> 2.31x."""
    return MISSING if _missing(value) else f"{float(value):.2f}x"


def change(now: Number, before: Number) -> float | None:
    """Relative change, or None when there is nothing to compare with."""
    if _missing(now) or _missing(before) or not before:
        return None
    return (float(now) - float(before)) / abs(float(before))


def day(value: date | datetime | None, zone: str | None = None) -> str:
    if value is None:
        return MISSING
    if isinstance(value, datetime) and zone:
        value = value.astimezone(ZoneInfo(zone))
    return f"{value:%d %b %Y}"


def moment(value: datetime | None, zone: str = "UTC") -> str:
    """A stored UTC time shown in the account's zone: 01 Dec 2026 09:00 EST."""
    if value is None:
        return MISSING
    local = value.astimezone(ZoneInfo(zone))
    return f"{local:%d %b %Y %H:%M} {local.tzname()}"


# Characters that give Markdown, its GitHub extensions, Streamlit's directives (:red[...]) or math ($...$) a meaning
# anywhere in a line: escaping "[" alone defeats images, links and directives; "<" autolinks and HTML; the rest
# emphasis, code, headings, quotes, tables, strikethrough and formulas. "_" only where it could open or close emphasis.
_ANYWHERE = re.compile(r"""([\\`*\[\]<>#|~$])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])""")
# what only means something at the start of a line: list items, setext underlines, ordered lists
_LINE_START = re.compile(r"^(\s*\d*)([-+=.)])", re.M)


def plain(value: object) -> str:
    """User text (a campaign, segment or template name, a draft, an error quoting input) for a Markdown element, shown as
    written: no image is fetched (``![x](http://...)``), no link, heading, colour or formula is made. Line breaks stay."""
    text = _ANYWHERE.sub(lambda m: "\\" + m.group(0), str(value))
    text = _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2) if m.group(1).strip() or m.group(2) in "-+=" else m.group(0), text)
    return text.replace("\n", "  \n")


def status_badge(status: str) -> str:
    """Markdown for a status pill in the status colours shared with the charts."""
    colour = STATUS_COLOURS.get(str(status), "#8A8F98")
    return f':color[ {status} ]{{foreground="#FFFFFF" background="{colour}"}}'


def channel_label(channel: str) -> str:
    special = {"x": "X", "google_ads": "Google Ads", "meta_ads": "Meta Ads", "linkedin": "LinkedIn", "EMAIL": "Email", "SOCIAL": "Social", "ADS": "Ads"}
    return special.get(channel, channel.replace("_", " ").capitalize())


def per_week(count: float, unit: str) -> str:
    """2 posts/wk, 1 email/wk."""
    return f"{count:g} {unit if count != 1 else unit.removesuffix('s')}/wk"
