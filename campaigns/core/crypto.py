"""Platform tokens encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`), and the one key loader.

The key is ``CAMPAIGNS_TOKEN_KEY``. Several comma-separated keys rotate: the first
encrypts, all decrypt, so old tokens stay readable until `rotate` re-encrypts them.
Nothing here ever puts a key or a token in a repr, a log line or an exception.

`token_keys` is the only way any part of the product reads that setting: token storage here,
unsubscribe links (`campaigns.audiences.suppression`) and tracking links (`campaigns.email.tracking`)
all take their keys from it, so one strength check covers every use. Each listed key must be a
Fernet key (32 random bytes, url-safe base64), and is refused when its bytes are visibly not
random (fewer than 16 distinct byte values, e.g. ``AAAA...``): a signing key such as ``a`` would
let anyone forge unsubscribe and click links, whose payloads are sequential ids.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from campaigns.core.settings import Settings

GENERATE_HINT = (
    "generate one with `python -c \"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())\"` "
    "and set it as CAMPAIGNS_TOKEN_KEY (in .env or the environment); keep it secret and backed up, "
    "because tokens stored with it cannot be read without it"
)


class TokenKeyError(RuntimeError):
    """The key is missing, malformed, or not the one the token was stored with."""


class MissingTokenKeyError(TokenKeyError):
    pass


MIN_DISTINCT_KEY_BYTES = 16  # 32 random bytes have about 30 distinct values; fewer than 16 means a made-up key


def token_keys(keys: str | SecretStr | None) -> tuple[str, ...]:
    """The comma-separated keys of CAMPAIGNS_TOKEN_KEY, each checked; the first signs and encrypts, all verify and decrypt.

    Raises MissingTokenKeyError when there is none, TokenKeyError (saying which key, never its value) when one is
    not a Fernet key or is too weak.
    """
    text = keys.get_secret_value() if isinstance(keys, SecretStr) else (keys or "")
    parts = tuple(k.strip() for k in text.split(",") if k.strip())
    if not parts:
        raise MissingTokenKeyError(f"CAMPAIGNS_TOKEN_KEY is empty; {GENERATE_HINT}")
    for number, key in enumerate(parts, start=1):
        which = f"key {number} of {len(parts)} in CAMPAIGNS_TOKEN_KEY" if len(parts) > 1 else "CAMPAIGNS_TOKEN_KEY"
        try:
            raw = base64.urlsafe_b64decode(key.encode())
            Fernet(key.encode())
        except (ValueError, TypeError, binascii.Error):
            raise TokenKeyError(f"{which} is not a Fernet key (32 url-safe base64-encoded random bytes); {GENERATE_HINT}") from None
        if len(set(raw)) < MIN_DISTINCT_KEY_BYTES:
            raise TokenKeyError(f"{which} is too weak: its 32 bytes are not random (only {len(set(raw))} distinct values); {GENERATE_HINT}")
    return parts


def settings_token_keys(settings: Settings) -> tuple[str, ...] | None:
    """The checked keys of the settings, or None when CAMPAIGNS_TOKEN_KEY is unset or blank (fine until a key is needed)."""
    if settings.token_key is None or not settings.token_key.get_secret_value().strip():
        return None
    return token_keys(settings.token_key)


class TokenCipher:
    def __init__(self, keys: str | tuple[str, ...]) -> None:
        parts = token_keys(",".join(keys) if isinstance(keys, tuple) else keys)
        self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])

    def __repr__(self) -> str:
        return "TokenCipher(<key hidden>)"

    def encrypt(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode()

    def decrypt(self, stored: str) -> str:
        try:
            return self._fernet.decrypt(stored.encode()).decode()
        except InvalidToken:
            raise TokenKeyError(
                "a stored token cannot be decrypted with CAMPAIGNS_TOKEN_KEY: it was stored with another key "
                "(add the old key after the new one, comma-separated) or the account must be reconnected"
            ) from None

    def rotate(self, stored: str) -> str:
        """Re-encrypt with the first (newest) key."""
        try:
            return self._fernet.rotate(stored.encode()).decode()
        except InvalidToken:
            raise TokenKeyError("a stored token cannot be decrypted with any CAMPAIGNS_TOKEN_KEY key") from None


def generate_key() -> str:
    return Fernet.generate_key().decode()


def cipher_from_settings(settings: Settings) -> TokenCipher | None:
    """The cipher, or None when no key is configured (fine until a token must be stored or read)."""
    keys = settings_token_keys(settings)
    return TokenCipher(keys) if keys is not None else None


def require_cipher(cipher: TokenCipher | None, why: str = "store a platform token") -> TokenCipher:
    if cipher is None:
        raise MissingTokenKeyError(f"CAMPAIGNS_TOKEN_KEY is not set, so there is no key to {why}; {GENERATE_HINT}")
    return cipher
