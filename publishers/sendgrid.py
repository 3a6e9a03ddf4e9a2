"""SendGrid v3 Mail Send: one personalization per recipient, at most 1,000 per request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from typing import Any

import httpx

from publishers.base import Credentials, EmailMessage, Issue, Metrics, Receipt
from publishers.email import batches, email_preview, recipient_values, unsubscribe_headers, validate_email
from publishers.errors import PublishError, Rejected
from publishers.http import DEFAULT_TIMEOUT, HttpPublisher, raise_for_status

MAX_PERSONALIZATIONS = 1000  # SendGrid refuses more personalizations (and recipients) per request


class SendGridPublisher(HttpPublisher):
    platform = "sendgrid"

    def __init__(self, base_url: str, *, metrics_days: int = 30, timeout: float = DEFAULT_TIMEOUT, transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(base_url, timeout=timeout, transport=transport)
        self.metrics_days = metrics_days

    def validate(self, content: EmailMessage) -> list[Issue]:
        return validate_email(content)

    def preview(self, content: EmailMessage) -> str:
        return email_preview(content)

    def payloads(self, message: EmailMessage) -> list[dict[str, Any]]:
        name, address = parseaddr(message.sender)
        sender = {"email": address, **({"name": name} if name else {})}
        content = ([{"type": "text/plain", "value": message.text}] if message.text else []) + [{"type": "text/html", "value": message.html}]
        bodies = []
        for batch in batches(message.recipients, MAX_PERSONALIZATIONS):
            personalizations = []
            for recipient in batch:
                to = {"email": recipient.email, **({"name": recipient.name} if recipient.name else {})}
                personalizations.append({
                    "to": [to],
                    "headers": unsubscribe_headers(recipient.unsubscribe_url, message.unsubscribe_mailto),
                    "substitutions": {f"{{{{{k}}}}}": v for k, v in recipient_values(recipient).items()},
                })
            body: dict[str, Any] = {"personalizations": personalizations, "from": sender, "subject": message.subject, "content": content}
            if message.reply_to:
                body["reply_to"] = {"email": parseaddr(message.reply_to)[1]}
            if message.tag:
                body["categories"] = [message.tag]
            bodies.append(body)
        return bodies

    def publish(self, content: EmailMessage, credentials: Credentials) -> Receipt:
        if issues := self.validate(content):
            raise Rejected("; ".join(map(str, issues)), platform="sendgrid")
        headers = {"Authorization": f"Bearer {credentials.access_token.get_secret_value()}"}
        accepted: list[str] = []
        batch_ids: list[str] = []
        for body in self.payloads(content):
            try:
                response = self.send("POST", "/v3/mail/send", creates=True, credentials=credentials, json=body, headers=headers)
                raise_for_status(response, "sendgrid", creates=True, credentials=credentials)
            except PublishError as exc:
                exc.accepted, exc.partial_ids = tuple(accepted), tuple(batch_ids)
                raise
            batch_ids.append(response.headers.get("x-message-id", f"batch-{len(batch_ids) + 1}"))
            accepted.extend(p["to"][0]["email"] for p in body["personalizations"])
        return Receipt("sendgrid", batch_ids[0], tuple(batch_ids), detail={"accepted": len(accepted), "batches": len(batch_ids)})

    def fetch_metrics(self, ref: str, credentials: Credentials) -> Metrics:
        """Totals for the category `ref` (the message tag) over the last `metrics_days` days."""
        start = (datetime.now(UTC) - timedelta(days=self.metrics_days)).date().isoformat()
        response = self.send("GET", "/v3/categories/stats", creates=False, credentials=credentials,
                             params={"categories": ref, "start_date": start},
                             headers={"Authorization": f"Bearer {credentials.access_token.get_secret_value()}"})
        raise_for_status(response, "sendgrid", creates=False, credentials=credentials)
        totals: dict[str, int] = {}
        for day in response.json():
            for stat in day.get("stats", []):
                for key, value in stat.get("metrics", {}).items():
                    totals[key] = totals.get(key, 0) + int(value)
        return Metrics("sendgrid", ref, totals)
