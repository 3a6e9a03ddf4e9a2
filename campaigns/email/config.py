"""What a send through one provider needs before anything is claimed: credentials, the From address, the public
https address of the unsubscribe (and tracking) endpoints, the unsubscribe signer. Each gap raises
EmailDeliveryError naming the setting that fixes it.
"""

from __future__ import annotations

from email.utils import parseaddr

from campaigns.audiences.suppression import UnsubscribeSigner, signer_from_settings
from campaigns.core.crypto import TokenKeyError
from campaigns.core.settings import Settings
from campaigns.email import tracking
from campaigns.email.errors import EmailDeliveryError
from campaigns.email.throttle import PROVIDER_LIMITS
from campaigns.email.tracking_events import TrackingConfigError, tracker_from_settings
from publishers.base import Credentials

SANDBOX_PUBLIC_URL = "https://unsubscribe.sandbox.invalid"  # the sandbox sends nothing, so no endpoint has to exist


def check_config(settings: Settings, provider: str, merchant_name: str = "", sender: str | None = None, public_url: str | None = None) -> None:
    """Raise EmailDeliveryError naming the fix when a send through `provider` could not start (call it before `prepare_send`)."""
    if provider not in PROVIDER_LIMITS:
        raise EmailDeliveryError(f"unknown email provider {provider!r}; use one of {', '.join(PROVIDER_LIMITS)}")
    provider_config(settings, provider, merchant_name or "Sender", sender, public_url, None)
    if settings.email_tracking:
        tracker(settings, public_url)


def tracker(settings: Settings, public_url: str | None) -> tracking.TrackingSigner:
    """The signer of open and click links (CAMPAIGNS_EMAIL_TRACKING)."""
    try:
        return tracker_from_settings(settings, public_url)
    except TrackingConfigError as exc:
        raise EmailDeliveryError(str(exc)) from None


def provider_config(settings: Settings, provider: str, merchant_name: str, sender: str | None, public_url: str | None,
                    mailto: str | None) -> tuple[UnsubscribeSigner, Credentials, str, str, str]:
    try:
        signer = signer_from_settings(settings)
    except TokenKeyError as exc:  # missing (MissingUnsubscribeKeyError), malformed or too weak
        raise EmailDeliveryError(str(exc)) from None
    credentials = _credentials(settings, provider)
    sender = _sender(settings, provider, merchant_name, sender)
    public_url = _public_url(settings, provider, public_url)
    mailto = mailto or settings.email_unsubscribe_mailto or f"unsubscribe@{parseaddr(sender)[1].rpartition('@')[2]}"
    return signer, credentials, sender, public_url, mailto


def _credentials(settings: Settings, provider: str) -> Credentials:
    secret = lambda value: value.get_secret_value() if value is not None else ""  # noqa: E731
    if provider == "smtp":
        return Credentials.of(settings.smtp_user or "", secret(settings.smtp_password))
    if provider == "sendgrid":
        if not secret(settings.sendgrid_api_key):
            raise EmailDeliveryError("CAMPAIGNS_SENDGRID_API_KEY is not set; create a Mail Send API key in SendGrid and set it (in .env or the environment)")
        return Credentials.of("", secret(settings.sendgrid_api_key))
    if provider == "mailgun":
        if not secret(settings.mailgun_api_key) or not settings.mailgun_domain:
            raise EmailDeliveryError("set CAMPAIGNS_MAILGUN_API_KEY and CAMPAIGNS_MAILGUN_DOMAIN (the sending domain, e.g. mg.acme.example)")
        return Credentials.of(settings.mailgun_domain, secret(settings.mailgun_api_key))
    return Credentials()


def _sender(settings: Settings, provider: str, merchant_name: str, sender: str | None) -> str:
    sender = sender or settings.email_sender
    if not sender and provider == "mailgun" and settings.mailgun_domain:
        sender = f"{merchant_name} <news@{settings.mailgun_domain}>"
    if not sender and provider == "sandbox":
        sender = f"{merchant_name} <news@sandbox.invalid>"
    if not sender or "@" not in parseaddr(sender)[1]:
        raise EmailDeliveryError('give the From address, e.g. --sender "Acme <news@acme.example>" (a domain the provider is allowed to send for)')
    return sender


def _public_url(settings: Settings, provider: str, public_url: str | None) -> str:
    public_url = public_url or settings.public_url or (SANDBOX_PUBLIC_URL if provider == "sandbox" else None)
    if not public_url or not public_url.startswith("https://"):
        raise EmailDeliveryError("give the https:// address where the unsubscribe endpoint is served, e.g. --public-url https://shop.acme.example "
                                 "(one-click unsubscribe needs https)")
    return public_url.rstrip("/")

