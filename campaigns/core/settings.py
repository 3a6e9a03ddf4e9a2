"""Settings from environment variables and `.env` (see `.env.example`).

The embedded default keeps everything under ``CAMPAIGNS_HOME``: the SQLite operational
store, the DuckDB warehouse and the Dagster instance. Setting ``CAMPAIGNS_DATABASE_URL``
and ``CAMPAIGNS_WAREHOUSE=postgres`` moves store and warehouse to PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlparse

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from campaigns.core.identifiers import validate_merchant_id
from publishers.config import OAuthConfig, PublisherConfig

# What the API accepts for OIDC bearer tokens: asymmetric signatures only (the provider signs with its private key, the API
# verifies with the public one); never `none`, never a shared-secret HS* (a public key must never double as an HMAC secret).
OIDC_SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAMPAIGNS_", env_file=".env", extra="ignore")

    home: Path = Field(default=Path("data"), description="Folder of the embedded default.")
    database_url: str | None = Field(
        default=None, description="Operational store URL; SQLite in CAMPAIGNS_HOME when unset."
    )
    warehouse: Literal["duckdb", "postgres", "spark"] = "duckdb"
    warehouse_url: str | None = Field(
        default=None,
        description="PostgreSQL warehouse URL; defaults to CAMPAIGNS_DATABASE_URL when the warehouse is postgres.",
    )
    dbt_threads: int = Field(default=2, ge=1, le=64, description=(
        "dbt threads on the embedded DuckDB warehouse (read by dbt_project/profiles.yml). 2 overlaps the many small models "
        "of an ordinary build; 1 is faster and lighter for one large merchant, whose big models each want every core."))
    # The local Spark session's size (CAMPAIGNS_WAREHOUSE=spark; the loader's session and dbt's `spark` target alike). The
    # defaults suit the demo and the tests on a small machine; tens of millions of rows need more memory and partitions.
    spark_driver_memory: str = Field(default="1g", description=(
        "Heap of the local Spark driver (which runs every task in local mode), as Spark writes it: 1g, 6g, 512m."))
    spark_shuffle_partitions: int = Field(default=2, ge=1, le=10_000, description=(
        "spark.sql.shuffle.partitions: 2 for small data; about 2-4 per core per GB shuffled for large data."))
    spark_codegen: bool = Field(default=False, description=(
        "spark.sql.codegen.wholeStage: off for small data (compiling each query costs more than it saves), on for large."))
    default_merchant: str = "demo"

    # External services: base URLs are settings so tests and proxies can redirect them.
    x_base_url: str = "https://api.x.com"
    facebook_base_url: str = "https://graph.facebook.com/v21.0"
    instagram_base_url: str = "https://graph.facebook.com/v21.0"
    linkedin_base_url: str = "https://api.linkedin.com"
    sendgrid_base_url: str = "https://api.sendgrid.com"
    mailgun_base_url: str = "https://api.mailgun.net"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    ga4_endpoint: str = "analyticsdata.googleapis.com"
    ga4_property_id: str | None = Field(default=None, description="GA4 property of the default merchant; GA4 ingest is off when unset.")
    ga4_credentials_file: str | None = Field(
        default=None,
        description="Service-account JSON for GA4; unset uses Google's default credentials; 'anonymous' sends none (local proxies, tests).",
    )
    ga4_conversion_metric: str = "keyEvents"
    ingest_start_date: date = Field(default=date(2026, 1, 1), description="First daily partition of the partitioned ingest assets (GA4, post metrics).")
    publish_mode: Literal["sandbox", "live"] = Field(
        default="sandbox", description="sandbox records what would be sent in CAMPAIGNS_HOME/outbox; live calls the platforms."
    )
    publish_lease_seconds: int = Field(
        default=600, gt=0, description="After this long without a report, a post's worker is presumed dead and the post is reconciled."
    )
    x_client_id: str | None = None
    x_client_secret: SecretStr | None = None
    linkedin_version: str = Field(default="202510", description="LinkedIn-Version header (YYYYMM); must be a version LinkedIn still serves.")
    # OAuth apps of the platforms (accounts connect); the authorization pages are settings so tests can redirect them too
    x_authorize_url: str = "https://x.com/i/oauth2/authorize"
    linkedin_client_id: str | None = None
    linkedin_client_secret: SecretStr | None = None
    linkedin_authorize_url: str = "https://www.linkedin.com/oauth/v2/authorization"
    linkedin_oauth_base_url: str = "https://www.linkedin.com/oauth/v2"
    facebook_app_id: str | None = None
    facebook_app_secret: SecretStr | None = None
    facebook_authorize_url: str = "https://www.facebook.com/v21.0/dialog/oauth"
    oauth_connect_minutes: int = Field(default=15, gt=0, description="How long a started account connection waits for the platform's callback.")
    email_provider: Literal["sandbox", "smtp", "sendgrid", "mailgun"] = "sandbox"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = Field(default=False, description="Upgrade SMTP connections with STARTTLS (usual on port 587).")
    sendgrid_api_key: SecretStr | None = None
    mailgun_api_key: SecretStr | None = None
    mailgun_domain: str | None = None
    sendgrid_webhook_public_key: str | None = Field(
        default=None, description="Verification key of SendGrid's Signed Event Webhook (base64 DER or PEM); /webhooks/sendgrid is off when unset."
    )
    mailgun_webhook_signing_key: SecretStr | None = Field(
        default=None, description="Mailgun HTTP webhook signing key; /webhooks/mailgun is off when unset."
    )
    public_url: str | None = Field(default=None, description="Public base URL of this installation, for unsubscribe links.")
    email_sender: str | None = Field(default=None, description="From address of marketing mail, e.g. Juniper & Finch <news@example.com>.")
    email_unsubscribe_mailto: str | None = Field(default=None, description="Mailbox for mailto: unsubscribes (List-Unsubscribe).")
    email_tracking: bool = Field(
        default=False, description="First-party open pixel and click redirects in campaign emails; needs CAMPAIGNS_PUBLIC_URL and CAMPAIGNS_TOKEN_KEY."
    )
    curve_model: str = Field(default="markov", description="Attribution model whose revenue response curves are fitted on.")
    token_key: SecretStr | None = Field(default=None, description="Key that encrypts platform tokens at rest.")
    api_cors_origins: list[str] = Field(default_factory=list, description="Origins allowed to call the HTTP API from a browser (CORS); off when empty.")
    api_rate_limit_per_minute: int = Field(default=600, ge=1, description="Requests per minute each API key may make before 429 (counted per API worker process).")
    api_key_cache_seconds: float = Field(default=1.0, ge=0, le=60, description=(
        "How long an API worker process trusts a key it verified before asking the store again (a revoked key stops within "
        "this time); 0 checks the store on every request."))
    api_max_concurrency: int = Field(default=200, ge=1, description="Connections and requests the HTTP server handles at once before 503 (per worker process).")
    api_workers: int = Field(default=1, ge=1, le=64, description=(
        "Processes `campaigns api` serves with; the rate limit and concurrency limit apply per process."))
    # OIDC bearer tokens for the API (besides API keys): off unless the issuer is set; see docs/api.md
    api_oidc_issuer: str | None = Field(default=None, description="Issuer whose JWT access tokens the API accepts, exactly as in its discovery document.")
    api_oidc_audience: str | None = Field(default=None, description="The `aud` tokens for this API carry (required with the issuer).")
    api_oidc_email_claim: str = Field(default="email", description="The claim of the token that holds the person's email address.")
    api_oidc_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"],
                                           description="Signature algorithms accepted (asymmetric only: never none, never HS*).")
    api_oidc_cache_seconds: int = Field(default=3600, ge=60, description="How long the provider's discovery document and keys are kept.")
    api_oidc_timeout_seconds: float = Field(default=5.0, gt=0, le=60, description="Timeout of each request to the identity provider.")
    # Post images in an S3-compatible bucket instead of CAMPAIGNS_HOME/media (on when the bucket is set)
    media_s3_bucket: str | None = Field(default=None, description="Bucket of post images; unset keeps them in CAMPAIGNS_HOME/media.")
    media_s3_endpoint_url: str | None = Field(default=None, description="S3-compatible endpoint (MinIO, R2, ...); unset is AWS S3 of the region.")
    media_s3_region: str = Field(default="us-east-1", description="Region the requests are signed for.")
    media_s3_access_key_id: str | None = Field(default=None, description="Access key id; unset uses the default AWS credential chain.")
    media_s3_secret_access_key: SecretStr | None = None
    media_s3_public_url: str | None = Field(
        default=None, description="Public base URL of the bucket's objects; unset serves them at CAMPAIGNS_PUBLIC_URL/media/ from the bucket.")
    media_s3_addressing: Literal["path", "virtual"] = Field(default="path", description="Bucket in the path (most S3-compatibles) or the host name.")

    @field_validator("default_merchant")
    @classmethod
    def _merchant_id(cls, value: str) -> str:
        return validate_merchant_id(value)  # the id names a landing-zone folder: one grammar everywhere

    @field_validator("api_oidc_algorithms")
    @classmethod
    def _asymmetric_only(cls, value: list[str]) -> list[str]:
        for alg in value:
            if alg not in OIDC_SIGNING_ALGORITHMS:
                raise ValueError(f"{alg!r} is not allowed: only asymmetric signatures ({', '.join(OIDC_SIGNING_ALGORITHMS)}); never none, never HS*")
        if not value:
            raise ValueError('allow at least one algorithm, e.g. ["RS256", "ES256"]')
        return value

    @field_validator("spark_driver_memory")
    @classmethod
    def _spark_heap(cls, value: str) -> str:
        size = re.fullmatch(r"\s*([0-9]{1,7})\s*(m|mb|g|gb)\s*", value, re.IGNORECASE)
        if size is None:
            raise ValueError(f"{value!r} is not a heap size: write megabytes or gigabytes as Spark does, e.g. 512m or 6g")
        amount, unit = int(size[1]), size[2][0].lower()
        if amount * (1024 if unit == "g" else 1) < 512:
            raise ValueError(f"{value!r} is too small: Spark's driver needs at least 512m")
        return f"{amount}{unit}"  # the spelling both the JVM and profiles.yml take

    @field_validator("database_url", "warehouse_url")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("postgresql", "sqlite")):
            raise ValueError("must start with postgresql:// or sqlite:///, e.g. postgresql://postgres@127.0.0.1:5432/campaigns")
        return value

    # --- derived locations -------------------------------------------------------
    @property
    def home_path(self) -> Path:
        return self.home.expanduser().resolve()

    def publisher_config(self) -> PublisherConfig:
        """What the publisher factories need of these settings (the publishers read no settings themselves)."""
        return PublisherConfig(
            outbox_dir=self.home_path / "outbox", x_base_url=self.x_base_url, x_client_id=self.x_client_id, x_client_secret=self.x_client_secret,
            facebook_base_url=self.facebook_base_url, instagram_base_url=self.instagram_base_url, linkedin_base_url=self.linkedin_base_url,
            linkedin_version=self.linkedin_version, smtp_host=self.smtp_host, smtp_port=self.smtp_port, smtp_starttls=self.smtp_starttls,
            sendgrid_base_url=self.sendgrid_base_url, mailgun_base_url=self.mailgun_base_url,
        )

    def oauth_config(self) -> OAuthConfig:
        """What the OAuth clients need of these settings (apps, authorization pages, token endpoints)."""
        return OAuthConfig(
            x_client_id=self.x_client_id, x_client_secret=self.x_client_secret, x_authorize_url=self.x_authorize_url, x_base_url=self.x_base_url,
            linkedin_client_id=self.linkedin_client_id, linkedin_client_secret=self.linkedin_client_secret,
            linkedin_authorize_url=self.linkedin_authorize_url, linkedin_oauth_base_url=self.linkedin_oauth_base_url,
            linkedin_base_url=self.linkedin_base_url, linkedin_version=self.linkedin_version, facebook_app_id=self.facebook_app_id,
            facebook_app_secret=self.facebook_app_secret, facebook_authorize_url=self.facebook_authorize_url, facebook_base_url=self.facebook_base_url,
        )

    def oauth_redirect_uri(self, platform: str) -> str:
        """Where a platform sends the person back: the public server's callback route."""
        if not self.public_url:
            raise ValueError("CAMPAIGNS_PUBLIC_URL is not set; set it to this installation's public https address "
                             "(the platform apps' redirect URI is CAMPAIGNS_PUBLIC_URL/oauth/callback/<platform>)")
        return f"{self.public_url.rstrip('/')}/oauth/callback/{platform}"

    @property
    def store_url(self) -> str:
        if self.database_url:
            return _sqlalchemy_url(self.database_url)
        return f"sqlite:///{self.home_path / 'app.db'}"

    @property
    def duckdb_path(self) -> Path:
        return self.home_path / "warehouse.duckdb"

    @property
    def spark_dir(self) -> Path:
        """The local Spark warehouse (Parquet tables) and its embedded metastore (CAMPAIGNS_WAREHOUSE=spark)."""
        return self.home_path / "spark"

    @property
    def media_dir(self) -> Path:
        """Images attached to posts, content-addressed (served at CAMPAIGNS_PUBLIC_URL/media/...)."""
        return self.home_path / "media"

    @property
    def landing_dir(self) -> Path:
        return self.home_path / "landing"

    @property
    def dagster_home(self) -> Path:
        return self.home_path / "dagster"

    @property
    def blog_dir(self) -> Path:
        return self.home_path / "blog"

    @property
    def postgres_warehouse_url(self) -> str:
        url = self.warehouse_url or self.database_url
        if not url or not url.startswith("postgresql"):
            raise ValueError(
                "CAMPAIGNS_WAREHOUSE=postgres needs CAMPAIGNS_WAREHOUSE_URL or CAMPAIGNS_DATABASE_URL "
                "set to a postgresql:// URL"
            )
        return url

    @property
    def dbt_target(self) -> str:
        return {"postgres": "prod", "spark": "spark"}.get(self.warehouse, "dev")

    def spark_env(self) -> dict[str, str]:
        """The Spark session's size as the environment variables profiles.yml reads for the `spark` target."""
        return {"CAMPAIGNS_SPARK_DRIVER_MEMORY": self.spark_driver_memory,
                "CAMPAIGNS_SPARK_SHUFFLE_PARTITIONS": str(self.spark_shuffle_partitions),
                "CAMPAIGNS_SPARK_CODEGEN": "true" if self.spark_codegen else "false"}

    def dbt_env(self) -> dict[str, str]:
        """Environment variables read by dbt_project/profiles.yml."""
        # validated values, so a setting from `.env` reaches dbt too (profiles.yml reads only the environment)
        env = {"CAMPAIGNS_HOME": str(self.home_path), "CAMPAIGNS_DBT_TARGET": self.dbt_target, "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
               "CAMPAIGNS_DBT_THREADS": str(self.dbt_threads)}
        if self.warehouse == "spark":
            env.update(self.spark_env())
        if self.warehouse == "postgres":
            parts = urlparse(self.postgres_warehouse_url)
            env.update(
                CAMPAIGNS_PG_HOST=parts.hostname or "127.0.0.1",
                CAMPAIGNS_PG_PORT=str(parts.port or 5432),
                CAMPAIGNS_PG_USER=unquote(parts.username or "postgres"),
                CAMPAIGNS_PG_PASSWORD=unquote(parts.password or ""),
                CAMPAIGNS_PG_DBNAME=parts.path.lstrip("/") or "postgres",
            )
        return env


def _sqlalchemy_url(url: str) -> str:
    # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
