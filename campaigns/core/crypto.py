"""Platform tokens encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`).

The key is ``CAMPAIGNS_TOKEN_KEY``. Several comma-separated keys rotate: the first
encrypts, all decrypt, so old tokens stay readable until `rotate` re-encrypts them.
Nothing here ever puts a key or a token in a repr, a log line or an exception.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

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


class TokenCipher:
    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise MissingTokenKeyError(f"CAMPAIGNS_TOKEN_KEY is empty; {GENERATE_HINT}")
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])
        except (ValueError, TypeError):
            raise TokenKeyError(f"CAMPAIGNS_TOKEN_KEY is not a Fernet key (32 url-safe base64-encoded bytes); {GENERATE_HINT}") from None

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
    if settings.token_key is None or not settings.token_key.get_secret_value().strip():
        return None
    return TokenCipher(settings.token_key.get_secret_value())


def require_cipher(cipher: TokenCipher | None, why: str = "store a platform token") -> TokenCipher:
    if cipher is None:
        raise MissingTokenKeyError(f"CAMPAIGNS_TOKEN_KEY is not set, so there is no key to {why}; {GENERATE_HINT}")
    return cipher
