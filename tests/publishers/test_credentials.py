"""Tokens at rest (Fernet with CAMPAIGNS_TOKEN_KEY) and redaction everywhere else."""

import logging

import pytest

from campaigns.core.crypto import MissingTokenKeyError, TokenCipher, TokenKeyError, cipher_from_settings, generate_key, require_cipher
from campaigns.core.settings import Settings
from publishers.base import Credentials
from publishers.errors import AuthExpired, redact


def test_roundtrip_and_ciphertext_hides_the_token() -> None:
    cipher = TokenCipher(generate_key())
    stored = cipher.encrypt("x-access-SECRET")
    assert "SECRET" not in stored and cipher.decrypt(stored) == "x-access-SECRET"
    assert "key" in repr(cipher) and generate_key() not in repr(cipher)


def test_key_rotation_reads_old_tokens_and_rewrites_them_with_the_new_key() -> None:
    old, new = generate_key(), generate_key()
    stored = TokenCipher(old).encrypt("token")
    rotated = TokenCipher(f"{new},{old}")
    assert rotated.decrypt(stored) == "token"
    assert TokenCipher(new).decrypt(rotated.rotate(stored)) == "token"


def test_missing_malformed_and_wrong_keys_say_how_to_fix_it() -> None:
    assert cipher_from_settings(Settings(token_key=None)) is None
    with pytest.raises(MissingTokenKeyError, match="Fernet.generate_key"):
        require_cipher(None)
    with pytest.raises(TokenKeyError, match="not a Fernet key"):
        TokenCipher("not-a-key")
    with pytest.raises(TokenKeyError, match="stored with another key"):
        TokenCipher(generate_key()).decrypt(TokenCipher(generate_key()).encrypt("t"))
    assert isinstance(cipher_from_settings(Settings(token_key=generate_key())), TokenCipher)


def test_credentials_and_errors_redact_tokens(caplog) -> None:
    creds = Credentials.of("page", "EAAB-very-secret-token", "refresh-very-secret")
    assert "secret" not in repr(creds) and "secret" not in str(creds)
    error = AuthExpired("bad token EAAB-very-secret-token in https://graph/x?access_token=EAAB-other-secret&a=1", platform="facebook",
                        secrets=creds.secrets())
    assert "secret" not in str(error) and "access_token=***" in str(error)
    assert redact("Authorization: Bearer abcdefghijkl") == "Authorization: Bearer ***"
    assert redact("Authorization: Basic YXBpOm1nLWtleQ==") == "Authorization: Basic ***"
    assert redact("Basic authentication failed (type OAuthException)") == "Basic authentication failed (type OAuthException)"
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("publishers").info("%s", creds)
    assert "secret" not in caplog.text
