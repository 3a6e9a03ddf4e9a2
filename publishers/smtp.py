"""SMTP (stdlib smtplib): one message per recipient over one connection, so each carries its own unsubscribe URL."""

from __future__ import annotations

import smtplib
import socket
from email import policy
from email.message import EmailMessage as MimeMessage
from email.utils import formatdate, make_msgid, parseaddr

from publishers.base import Credentials, EmailMessage, EmailRecipient, Issue, Metrics, Receipt, fill_placeholders
from publishers.email import email_preview, no_metrics, recipient_values, unsubscribe_headers, validate_email
from publishers.errors import Ambiguous, AuthExpired, Rejected, Retryable


class SmtpPublisher:
    platform = "smtp"
    sandbox = False

    def __init__(self, host: str, port: int, *, starttls: bool = False, timeout: float = 30.0) -> None:
        self.host, self.port, self.starttls, self.timeout = host, port, starttls, timeout

    def __repr__(self) -> str:
        return f"SmtpPublisher(host={self.host!r}, port={self.port})"

    def validate(self, content: EmailMessage) -> list[Issue]:
        return validate_email(content)

    def preview(self, content: EmailMessage) -> str:
        return email_preview(content)

    def build(self, message: EmailMessage, recipient: EmailRecipient) -> MimeMessage:
        values = recipient_values(recipient)
        # long List-Unsubscribe values stay on one line (RFC 5322 allows 998) instead of folding after the colon
        mime = MimeMessage(policy=policy.SMTP.clone(max_line_length=998))
        mime["From"] = message.sender
        mime["To"] = f"{recipient.name} <{recipient.email}>" if recipient.name else recipient.email
        mime["Subject"] = fill_placeholders(message.subject, values)
        mime["Date"] = formatdate(localtime=False, usegmt=True)
        mime["Message-ID"] = make_msgid(domain=parseaddr(message.sender)[1].rpartition("@")[2] or None)
        if message.reply_to:
            mime["Reply-To"] = message.reply_to
        for name, value in unsubscribe_headers(recipient.unsubscribe_url, message.unsubscribe_mailto).items():
            mime[name] = value
        if message.tag:
            mime["X-Campaign-Tag"] = message.tag
        mime.set_content(fill_placeholders(message.text, values) or "This message is best read as HTML.")
        if message.html.strip():
            mime.add_alternative(fill_placeholders(message.html, values, escape=True), subtype="html")
        return mime

    def publish(self, content: EmailMessage, credentials: Credentials) -> Receipt:
        if issues := self.validate(content):
            raise Rejected("; ".join(map(str, issues)), platform="smtp")
        secrets = credentials.secrets()
        try:
            server = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except (OSError, smtplib.SMTPException) as exc:
            raise Retryable(f"could not connect to {self.host}:{self.port} ({type(exc).__name__}: {exc}); nothing was sent", platform="smtp", secrets=secrets) from None
        accepted: list[str] = []
        message_ids: list[str] = []
        refused: dict[str, str] = {}
        deferred: dict[str, str] = {}
        with server:
            try:
                if self.starttls:
                    server.starttls()
                if credentials.account_ref and credentials.access_token.get_secret_value():
                    server.login(credentials.account_ref, credentials.access_token.get_secret_value())
            except smtplib.SMTPAuthenticationError as exc:
                raise AuthExpired(f"SMTP login refused ({exc.smtp_code})", platform="smtp", status_code=exc.smtp_code, secrets=secrets) from None
            except (OSError, smtplib.SMTPException) as exc:
                raise Retryable(f"SMTP session setup failed ({type(exc).__name__}); nothing was sent", platform="smtp", secrets=secrets) from None
            for recipient in content.recipients:
                mime = self.build(content, recipient)
                try:
                    failed = server.send_message(mime)
                except smtplib.SMTPRecipientsRefused as exc:
                    for addr, (code, reply) in exc.recipients.items():
                        # 4xx is "not now": the caller may send to these again later; 5xx is final
                        (deferred if 400 <= code < 500 else refused)[addr] = f"{code} {reply.decode(errors='replace')}"
                    continue
                except smtplib.SMTPResponseException as exc:
                    if 400 <= exc.smtp_code < 500:
                        raise Retryable(
                            f"server deferred {recipient.email} ({exc.smtp_code}); {len(accepted)} earlier recipients were accepted",
                            platform="smtp", status_code=exc.smtp_code, accepted=accepted, partial_ids=message_ids, secrets=secrets,
                        ) from None
                    refused[recipient.email] = f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace') if isinstance(exc.smtp_error, bytes) else exc.smtp_error}"
                    continue
                except (smtplib.SMTPServerDisconnected, socket.timeout, OSError) as exc:
                    raise Ambiguous(
                        f"connection lost while sending to {recipient.email} ({type(exc).__name__}); it may have been delivered; "
                        f"{len(accepted)} earlier recipients were accepted",
                        platform="smtp", accepted=accepted, partial_ids=message_ids, secrets=secrets,
                    ) from None
                refused.update({addr: f"{code} {reply.decode(errors='replace')}" for addr, (code, reply) in failed.items()})
                if recipient.email not in failed:
                    accepted.append(recipient.email)
                    message_ids.append(str(mime["Message-ID"]))
        if not accepted:
            if deferred and not refused:
                raise Retryable(f"the server deferred every recipient: {'; '.join(f'{k}: {v}' for k, v in list(deferred.items())[:5])}", platform="smtp")
            raise Rejected(f"every recipient was refused: {'; '.join(f'{k}: {v}' for k, v in list({**refused, **deferred}.items())[:5])}", platform="smtp")
        return Receipt("smtp", message_ids[0], tuple(message_ids), detail={"accepted": len(accepted), "refused": refused, "deferred": deferred})

    def fetch_metrics(self, ref: str, credentials: Credentials) -> Metrics:
        return no_metrics("smtp", ref, "SMTP reports no opens or clicks; use SendGrid or Mailgun for statistics")
