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


@dataclass(frozen=True)
class OAuthConfig:
    """Where the OAuth clients send and who they are: each platform's app credentials and endpoints.

    The authorization pages are where a person's browser goes; the token and API endpoints are
    called by the server. All are here so tests point them at local fakes.
    """

    x_client_id: str | None = None
    x_client_secret: SecretStr | None = None
    x_authorize_url: str = "https://x.com/i/oauth2/authorize"
    x_base_url: str = "https://api.x.com"
    linkedin_client_id: str | None = None
    linkedin_client_secret: SecretStr | None = None
    linkedin_authorize_url: str = "https://www.linkedin.com/oauth/v2/authorization"
    linkedin_oauth_base_url: str = "https://www.linkedin.com/oauth/v2"
    linkedin_base_url: str = "https://api.linkedin.com"
    linkedin_version: str = "202510"
    facebook_app_id: str | None = None
    facebook_app_secret: SecretStr | None = None
    facebook_authorize_url: str = "https://www.facebook.com/v21.0/dialog/oauth"
    facebook_base_url: str = "https://graph.facebook.com/v21.0"
