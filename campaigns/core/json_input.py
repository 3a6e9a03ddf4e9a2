"""JSON from outside (rules files, optimiser problems, flow files, webhook bodies) read within limits.

`json.loads` on ``[[[[...`` 100,000 deep raises RecursionError deep inside the parser, and every
recursive consumer after it (rule compilers, validators) would too; a large body costs memory
before anything looks at it. `loads` first measures the nesting depth with one linear scan that
builds nothing (strings skipped, so brackets inside text do not count) and refuses input deeper
than `max_depth` or longer than `max_bytes` with `JsonInputError` (a ValueError naming the limit),
before the parser starts.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

MAX_DEPTH = 64  # no input of the product needs more: rules nest at most 4 groups, flows and problems a handful
MAX_BYTES = 10 * 1024 * 1024

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_DELTA = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")  # +1 / -1 after subtracting 1


class JsonInputError(ValueError):
    """Input that is not JSON, or JSON beyond the depth or size limit; the message says which and the limit."""


def nesting_depth(data: str | bytes) -> int:
    """The deepest nesting of arrays and objects in `data` (brackets inside strings do not count); no recursion."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", raw))
    if not brackets:
        return 0
    return max(0, max(accumulate(b - 1 for b in brackets.translate(_DELTA))))


def check_limits(data: str | bytes, *, what: str | None = None, max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES) -> None:
    """JsonInputError when `data` is longer than `max_bytes` or nests deeper than `max_depth`; messages start with `what: `."""
    where = f"{what}: " if what else ""
    size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
    if size > max_bytes:
        raise JsonInputError(f"{where}{size:,} bytes of JSON; at most {max_bytes:,} are read")
    depth = nesting_depth(data)
    if depth > max_depth:
        raise JsonInputError(f"{where}JSON nested {depth:,} levels deep; at most {max_depth} levels are allowed (flatten it)")


def loads(data: str | bytes, *, what: str | None = None, max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES) -> Any:
    """`json.loads` within the depth and size limits; JsonInputError (with line and column when malformed) otherwise."""
    check_limits(data, what=what, max_depth=max_depth, max_bytes=max_bytes)
    where = f"{what}: " if what else ""
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise JsonInputError(f"{where}not UTF-8 text; save it as UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        raise JsonInputError(f"{where}not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:  # pragma: no cover - not reachable within MAX_DEPTH; kept so a raised limit still fails cleanly
        raise JsonInputError(f"{where}JSON nested too deeply; at most {max_depth} levels are allowed") from None
