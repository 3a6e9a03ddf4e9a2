"""What every email provider shares: one-click unsubscribe headers, batching, validation, preview.

Every message carries ``List-Unsubscribe: <https://...>`` (plus an optional mailto) and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058), with each recipient's own
unsubscribe URL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TypeVar

from publishers import previews
from publishers.base import EmailMessage, EmailRecipient, Issue, Metrics

T = TypeVar("T")

ONE_CLICK = "List-Unsubscribe=One-Click"


def unsubscribe_headers(unsubscribe_url: str, mailto: str | None = None) -> dict[str, str]:
    value = f"<{unsubscribe_url}>"
    if mailto:
        value += f", <{mailto if mailto.startswith('mailto:') else 'mailto:' + mailto}>"
    return {"List-Unsubscribe": value, "List-Unsubscribe-Post": ONE_CLICK}


def batches(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def validate_email(message: EmailMessage) -> list[Issue]:
    issues: list[Issue] = []
    if not message.html.strip() and not message.text.strip():
        issues.append(Issue("html", "is empty; write the email body"))
    counts = Counter(r.email.lower() for r in message.recipients)
    if repeated := sorted(email for email, n in counts.items() if n > 1):
        issues.append(Issue("recipients", f"list {', '.join(repeated[:5])} more than once; each address gets one copy"))
    needed = message.placeholders() - {"unsubscribe_url"}
    for number, recipient in enumerate(message.recipients, start=1):
        if missing := needed - recipient.variables.keys():
            issues.append(Issue(f"recipients[{number}].variables", f"{recipient.email} has no value for {', '.join(sorted(missing))}"))
        if bad := [k for k, v in recipient.variables.items() if "<" in v or ">" in v]:
            issues.append(Issue(f"recipients[{number}].variables", f"{', '.join(bad)} of {recipient.email} contain < or >, which would become HTML"))
        if len(issues) > 20:
            break
    return issues


def recipient_values(recipient: EmailRecipient) -> dict[str, str]:
    return {**recipient.variables, "unsubscribe_url": recipient.unsubscribe_url}


def email_preview(message: EmailMessage) -> str:
    return previews.email_preview(message)


def no_metrics(platform: str, ref: str, why: str) -> Metrics:
    return Metrics(platform, ref, {}, note=why)
