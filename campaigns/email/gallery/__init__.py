"""Starter email templates: six HTML bodies for the base layout, listed in index.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Starter:
    key: str
    name: str
    subject: str
    description: str
    html: str
    category: str = "marketing"
    layout: str = "base"


@cache
def starters() -> tuple[Starter, ...]:
    entries = json.loads((HERE / "index.json").read_text(encoding="utf-8"))
    return tuple(Starter(e["key"], e["name"], e["subject"], e["description"], (HERE / f"{e['key']}.html").read_text(encoding="utf-8"))
                 for e in entries)


def starter(key: str) -> Starter:
    for item in starters():
        if item.key == key:
            return item
    raise KeyError(f"no starter template {key!r}; choose one of {', '.join(s.key for s in starters())}")
