"""The demo's owner account: a random password per demo, written to a file only its builder can read.

`make demo` runs `campaigns demo-data`, `build` and `serve`; `serve` prints this sign-in. We chose this over
signing in automatically while bound to 127.0.0.1 because "bound to loopback" does not mean "the visitor is on this
machine": a reverse proxy or an SSH tunnel on the same host forwards everyone's requests from 127.0.0.1, and an
automatic sign-in would make each of them an owner. A random password per demo is never a default shared by every
installation, and the file holding it has the same protection as the store beside it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy.orm import Session

from campaigns.access import users
from campaigns.access.roles import Role

DEMO_OWNER = "demo-owner@example.com"
SIGN_IN_FILE = "SIGN-IN.txt"


def create_demo_owner(session: Session, merchant_id: str, demo_dir: Path) -> str:
    """Make (or re-key) the demo owner with a fresh random password, owner of `merchant_id`; returns the password."""
    password = secrets.token_urlsafe(12)
    if users.find_user(session, DEMO_OWNER) is None:
        users.add_user(session, DEMO_OWNER, "demo-data", display_name="Demo owner", password=password)
    else:
        users.enable_user(session, DEMO_OWNER, "demo-data")
        users.reset_password(session, DEMO_OWNER, password, "demo-data")
    users.grant(session, DEMO_OWNER, merchant_id, Role.OWNER, "demo-data")
    demo_dir.mkdir(parents=True, exist_ok=True)
    target = demo_dir / SIGN_IN_FILE
    target.unlink(missing_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(f"email: {DEMO_OWNER}\npassword: {password}\n")
    return password


def demo_sign_in(home: Path) -> str | None:
    """The demo owner's sign-in as `serve` prints it, or None when there is no demo in this home."""
    path = home / "demo" / SIGN_IN_FILE
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
