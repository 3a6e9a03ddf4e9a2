"""Mailgun messages API: batch sending with recipient variables, at most 1,000 recipients per request.

Recipient variables keep each recipient's copy private and carry their own unsubscribe URL
into the ``List-Unsubscribe`` header (``%recipient.unsubscribe_url%``).
"""

from __future__ import annotations

import json
from typing import Any

from publishers.base import Credentials, EmailMessage, Issue, Metrics, Receipt, placeholder_pattern
from publishers.email import ONE_CLICK, batches, email_preview, recipient_values, validate_email
from publishers.errors import PublishError, Rejected
from publishers.http import HttpPublisher, raise_for_status

MAX_BATCH = 1000


def _to_mailgun(template: str) -> str:
    return placeholder_pattern().sub(lambda m: f"%recipient.{m.group(1)}%", template)


class MailgunPublisher(HttpPublisher):
    platform = "mailgun"

    def validate(self, content: EmailMessage) -> list[Issue]:
        return validate_email(content)

    def preview(self, content: EmailMessage) -> str:
        return email_preview(content)

    def payloads(self, message: EmailMessage) -> list[dict[str, Any]]:
        unsubscribe = "<%recipient.unsubscribe_url%>"
        if message.unsubscribe_mailto:
            mailto = message.unsubscribe_mailto
            unsubscribe += f", <{mailto if mailto.startswith('mailto:') else 'mailto:' + mailto}>"
        forms = []
        for batch in batches(message.recipients, MAX_BATCH):
            form: dict[str, Any] = {
                "from": message.sender,
                "to": [f"{r.name} <{r.email}>" if r.name else r.email for r in batch],
                "subject": _to_mailgun(message.subject),
                "html": _to_mailgun(message.html),
                "h:List-Unsubscribe": unsubscribe,
                "h:List-Unsubscribe-Post": ONE_CLICK,
                "recipient-variables": json.dumps({r.email: recipient_values(r) for r in batch}),
            }
            if message.text:
                form["text"] = _to_mailgun(message.text)
            if message.reply_to:
                form["h:Reply-To"] = message.reply_to
            if message.tag:
                form["o:tag"] = message.tag
            forms.append(form)
        return forms

    def publish(self, content: EmailMessage, credentials: Credentials) -> Receipt:
        if issues := self.validate(content):
            raise Rejected("; ".join(map(str, issues)), platform="mailgun")
        if not credentials.account_ref:
            raise Rejected("no sending domain: give the Mailgun domain as the account", platform="mailgun")
        auth = ("api", credentials.access_token.get_secret_value())
        accepted: list[str] = []
        ids: list[str] = []
        for form in self.payloads(content):
            try:
                response = self.send("POST", f"/v3/{credentials.account_ref}/messages", creates=True, credentials=credentials, data=form, auth=auth)
                raise_for_status(response, "mailgun", creates=True, credentials=credentials)
            except PublishError as exc:
                exc.accepted, exc.partial_ids = tuple(accepted), tuple(ids)
                raise
            ids.append(str(response.json().get("id", f"batch-{len(ids) + 1}")))
            accepted.extend(json.loads(form["recipient-variables"]))
        return Receipt("mailgun", ids[0], tuple(ids), detail={"accepted": len(accepted), "batches": len(ids)})

    def fetch_metrics(self, ref: str, credentials: Credentials) -> Metrics:
        """Totals for the tag `ref` on the account's domain."""
        events = ["accepted", "delivered", "opened", "clicked", "unsubscribed", "complained", "failed"]
        response = self.send("GET", f"/v3/{credentials.account_ref}/tags/{ref}/stats", creates=False, credentials=credentials,
                             params=[("event", e) for e in events], auth=("api", credentials.access_token.get_secret_value()))
        raise_for_status(response, "mailgun", creates=False, credentials=credentials)
        totals = {e: 0 for e in events}
        for row in response.json().get("stats", []):
            for event in events:
                value = row.get(event, {})
                totals[event] += int(value.get("total", 0) if isinstance(value, dict) else value or 0)
        return Metrics("mailgun", ref, totals)
