"""Where post media lives: a local folder (the default) or an S3-compatible bucket, behind one small protocol.

Objects are named by their content (``<sha256>.<ext>``), so `put` is idempotent: the same bytes
give the same name, and a name already there is never written again (the S3 store asks with a
HEAD first, so re-attaching an image costs no second upload). `url` is the address platforms
fetch: the bucket's public URL when one is configured, else this product's public endpoint
(``CAMPAIGNS_PUBLIC_URL/media/<name>``), which reads the object back through `open`.

boto3 is imported only when an S3 store is first used: the CLI starts without it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from campaigns.core.private import private_dir, private_file
from campaigns.core.settings import Settings
from campaigns.social.accounts import QueueError

CONNECT_TIMEOUT, READ_TIMEOUT = 5.0, 30.0
MAX_ATTEMPTS = 4  # boto3's standard retry mode: throttling (SlowDown, 503) and transient errors are retried with backoff


class MediaStoreError(QueueError):
    """The media store cannot be used as configured; the message names the setting to fix."""


class MediaStore(Protocol):
    where: str  # for messages: the folder or s3://bucket

    def put(self, name: str, data: bytes, mime: str) -> bool:
        """Store `data` under `name` unless it is there already; True when it was written now."""

    def exists(self, name: str) -> bool: ...

    def open(self, name: str) -> bytes | None:
        """The stored bytes, or None when there is no such object."""

    def url(self, name: str) -> str:
        """The public address platforms fetch the object from."""


def product_url(base: str | None, name: str) -> str:
    if not base:
        raise QueueError("CAMPAIGNS_PUBLIC_URL is not set, so platforms cannot fetch the image; set it to the https address "
                         "serving `campaigns api` (the public endpoint), then attach the image again")
    return f"{base.rstrip('/')}/media/{name}"


@dataclass
class LocalMediaStore:
    """CAMPAIGNS_HOME/media: owner-only files, written whole (temporary file, then rename)."""

    folder: Path
    public_url: str | None = None

    @property
    def where(self) -> str:
        return str(self.folder)

    def put(self, name: str, data: bytes, mime: str) -> bool:
        private_dir(self.folder)  # owner-only like the rest of the home: only the public endpoint serves it
        path = self.folder / name
        if path.exists():
            return False
        tmp = self.folder / f".{name}.{os.getpid()}.tmp"
        tmp.write_bytes(data)
        private_file(tmp)
        os.replace(tmp, path)  # readers see the whole file or none
        return True

    def exists(self, name: str) -> bool:
        return (self.folder / name).is_file()

    def open(self, name: str) -> bytes | None:
        path = self.folder / name
        return path.read_bytes() if path.is_file() else None

    def path(self, name: str) -> Path:
        return self.folder / name

    def url(self, name: str) -> str:
        return product_url(self.public_url, name)


@dataclass
class S3MediaStore:
    """An S3-compatible bucket (AWS S3, MinIO, R2, ...), reached with boto3 and signed with SigV4."""

    bucket: str
    endpoint_url: str | None
    region: str
    access_key_id: str | None
    secret_access_key: str | None = field(default=None, repr=False)  # never printed, never logged
    public_base: str | None = None  # the bucket's public URL, if objects are public
    product_public_url: str | None = None
    addressing: str = "path"
    _client: Any = field(default=None, init=False, repr=False)

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}" + (f" at {self.endpoint_url}" if self.endpoint_url else "")

    def client(self) -> Any:
        if self._client is None:
            import boto3  # loaded only when the bucket is used: the CLI starts fast
            from botocore.config import Config

            config = Config(signature_version="s3v4", s3={"addressing_style": self.addressing}, connect_timeout=CONNECT_TIMEOUT,
                            read_timeout=READ_TIMEOUT, retries={"total_max_attempts": MAX_ATTEMPTS, "mode": "standard"},
                            request_checksum_calculation="when_required", response_checksum_validation="when_required")
            self._client = boto3.session.Session().client(
                "s3", endpoint_url=self.endpoint_url, region_name=self.region, aws_access_key_id=self.access_key_id,
                aws_secret_access_key=self.secret_access_key, config=config)
        return self._client

    def put(self, name: str, data: bytes, mime: str) -> bool:
        if self.exists(name):
            return False  # content-addressed: the same name holds the same bytes
        self._call("PutObject", name, lambda c: c.put_object(Bucket=self.bucket, Key=name, Body=data, ContentType=mime,
                                                             CacheControl="public, max-age=31536000, immutable"))
        return True

    def exists(self, name: str) -> bool:
        return self._call("HeadObject", name, lambda c: c.head_object(Bucket=self.bucket, Key=name), missing=None) is not None

    def open(self, name: str) -> bytes | None:
        found = self._call("GetObject", name, lambda c: c.get_object(Bucket=self.bucket, Key=name), missing=None)
        return None if found is None else found["Body"].read()

    def url(self, name: str) -> str:
        if self.public_base:
            return f"{self.public_base.rstrip('/')}/{name}"
        return product_url(self.product_public_url, name)

    def _call(self, operation: str, name: str, call, missing: object = ...) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

        try:
            return call(self.client())
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("NoSuchKey", "404", "NotFound") and missing is not ...:
                return missing  # HEAD answers a bare 404 for a missing key (and a missing bucket: the PUT that follows tells)
            raise MediaStoreError(self._explain(operation, name, code, status)) from None
        except NoCredentialsError:
            raise MediaStoreError(f"no credentials for {self.where}: set CAMPAIGNS_MEDIA_S3_ACCESS_KEY_ID and "
                                  "CAMPAIGNS_MEDIA_S3_SECRET_ACCESS_KEY (or the default AWS credential chain)") from None
        except EndpointConnectionError:
            raise MediaStoreError(f"cannot reach the S3 endpoint of {self.where}: check CAMPAIGNS_MEDIA_S3_ENDPOINT_URL "
                                  "and that the service is up") from None
        except BotoCoreError as exc:
            raise MediaStoreError(f"{operation} {name} on {self.where} failed: {type(exc).__name__}; check CAMPAIGNS_MEDIA_S3_ENDPOINT_URL "
                                  "and the network, then try again") from None

    def _explain(self, operation: str, name: str, code: str, status: int | None) -> str:
        key = f"key id {self.access_key_id}" if self.access_key_id else "the default AWS credentials"
        if code == "NoSuchBucket":
            return (f"bucket {self.bucket!r} does not exist at {self.endpoint_url or 'AWS S3'}: create it, or fix "
                    "CAMPAIGNS_MEDIA_S3_BUCKET (and CAMPAIGNS_MEDIA_S3_ENDPOINT_URL)")
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403", "InvalidToken", "ExpiredToken") or status == 403:
            return (f"{self.where} refused {operation} ({code or status}) with {key}: check CAMPAIGNS_MEDIA_S3_ACCESS_KEY_ID and "
                    "CAMPAIGNS_MEDIA_S3_SECRET_ACCESS_KEY, and that this key may read and write the bucket")
        if code in ("PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"):
            return f"{self.where} is in another region ({code}): set CAMPAIGNS_MEDIA_S3_REGION to the bucket's region"
        return f"{operation} {name} on {self.where} failed ({code or status}) after {MAX_ATTEMPTS} attempts; try again later"


def media_store(settings: Settings) -> MediaStore:
    """The configured store: the bucket when CAMPAIGNS_MEDIA_S3_BUCKET is set, else CAMPAIGNS_HOME/media."""
    if not settings.media_s3_bucket:
        return LocalMediaStore(settings.media_dir, settings.public_url)
    secret = settings.media_s3_secret_access_key.get_secret_value() if settings.media_s3_secret_access_key else None
    if bool(settings.media_s3_access_key_id) != bool(secret):
        raise MediaStoreError("set both CAMPAIGNS_MEDIA_S3_ACCESS_KEY_ID and CAMPAIGNS_MEDIA_S3_SECRET_ACCESS_KEY, or neither "
                              "(to use the default AWS credential chain)")
    return _s3_store(settings.media_s3_bucket, settings.media_s3_endpoint_url, settings.media_s3_region, settings.media_s3_access_key_id,
                     secret, settings.media_s3_public_url, settings.public_url, settings.media_s3_addressing)


@lru_cache(maxsize=8)
def _s3_store(*config: str | None) -> S3MediaStore:
    # one store (and one boto3 client, which is thread-safe and slow to build) per configuration, shared by requests
    return S3MediaStore(*config)  # type: ignore[arg-type]
