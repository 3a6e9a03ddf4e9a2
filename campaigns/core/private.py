"""Owner-only files: CAMPAIGNS_HOME holds contacts, encrypted tokens, keys and imported data.

Folders are created 0700 and files 0600; an existing folder this user owns is narrowed to
0700 when the product uses it. Entry points (the CLI, and so `campaigns serve`'s Dagster and
Streamlit children) also set the umask to 077, so files that libraries create on their own
(SQLite's WAL, DuckDB, Dagster's storage, logs) are owner-only too.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def restrict_umask() -> int:
    """Make every file this process (and its children) creates owner-only; returns the previous umask."""
    return os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """Create `path` and its missing parents 0700; an existing folder owned by this user is narrowed to 0700."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for folder in {path, *missing}:
        _narrow(folder, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Narrow an existing file to 0600 (a file that is not there is left alone)."""
    if path.exists():
        _narrow(path, FILE_MODE)
    return path


def _narrow(path: Path, mode: int) -> None:
    try:
        info = path.stat()
        if info.st_uid == os.geteuid() and info.st_mode & 0o777 != mode:
            os.chmod(path, mode)
    except OSError:  # a folder shared with others (/tmp) or removed meanwhile: not ours to change
        pass
