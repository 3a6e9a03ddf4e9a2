"""Where the publishers send: base URLs, client ids and the sandbox outbox, handed in by the caller.

Publishers read no settings of their own: the application builds a `PublisherConfig` from its
settings (``Settings.publisher_config()``) and passes it to `build_publishers` or
`build_email_publisher`, so tests and proxies redirect a client by changing one value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr


@dataclass(frozen=True)
class PublisherConfig:
    outbox_dir: Path
    x_base_url: str = "https://api.x.com"
    x_client_id: str | None = None
    x_client_secret: SecretStr | None = None
    facebook_base_url: str = "https://graph.facebook.com/v21.0"
    instagram_base_url: str = "https://graph.facebook.com/v21.0"
    linkedin_base_url: str = "https://api.linkedin.com"
    linkedin_version: str | None = None  # None: the client's default version
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_starttls: bool = False
    sendgrid_base_url: str = "https://api.sendgrid.com"
    mailgun_base_url: str = "https://api.mailgun.net"
