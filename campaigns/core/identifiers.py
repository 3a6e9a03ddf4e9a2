"""The merchant id grammar, checked wherever an id enters (CLI, services, imports, the app, settings).

A merchant id names folders (the landing zone keeps one folder per merchant) and goes into
SQL parameters, file names and log lines, so it gets one strict grammar: 1 to 40 characters of
lower-case ASCII letters, digits, ``-`` and ``_``, starting with a letter or digit. That rules out
``..``, ``/``, ``*``, spaces, upper case and anything a shell, a path or a spreadsheet reads
specially. 40 is the width of ``merchants.id`` in the store.
"""

from __future__ import annotations

import re

MAX_MERCHANT_ID = 40  # the width of merchants.id (and of every merchant_id column) in the store
MERCHANT_ID_GRAMMAR = f"[a-z0-9][a-z0-9_-]{{0,{MAX_MERCHANT_ID - 1}}}"
_MERCHANT_ID = re.compile(MERCHANT_ID_GRAMMAR)
MERCHANT_ID_RULE = (f"1 to {MAX_MERCHANT_ID} characters: lower-case letters, digits, '-' and '_', "
                    "starting with a letter or digit (e.g. acme or shop-2)")


class InvalidMerchantIdError(ValueError):
    """A merchant id outside the grammar; the message quotes (a shortened copy of) the id and the rule."""


def shown(value: object, limit: int = 60) -> str:
    """A value quoted for an error message, shortened so a 50 MB argument does not become a 50 MB message."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(str(value)):,} characters)"


def is_merchant_id(value: object) -> bool:
    return isinstance(value, str) and _MERCHANT_ID.fullmatch(value) is not None


def validate_merchant_id(value: object) -> str:
    """`value` when it follows the grammar; InvalidMerchantIdError naming the rule otherwise."""
    if not is_merchant_id(value):
        raise InvalidMerchantIdError(f"merchant id {shown(value)} is not valid; use {MERCHANT_ID_RULE}")
    return value  # type: ignore[return-value]
