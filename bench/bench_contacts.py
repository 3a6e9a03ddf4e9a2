"""Contact import: 100k contacts from CSV into the store, then the same file again with --update-existing.

Not a test: prints wall and CPU time per run. Runs on SQLite in a temporary home, and on PostgreSQL
too when --postgres-url is given (an empty database it may migrate and write).

    .venv/bin/python bench/bench_contacts.py --contacts 100000
    .venv/bin/python bench/bench_contacts.py --contacts 100000 --postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

from campaigns.audiences.contact_import import import_contacts
from campaigns.core.merchants import ensure_merchant
from campaigns.core.store.db import migrate, session_scope

ZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Australia/Sydney")
TAGS = ("vip", "newsletter", "customer", "prospect", "wholesale")


def write_file(path: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        handle.write("email,first_name,last_name,timezone,tags,subscribed,consent_source,consented_at,attr_tier,attr_city\n")
        for i in range(n):
            consent = rng.random() < 0.7
            tags = ";".join(rng.sample(TAGS, rng.randint(0, 2)))
            handle.write(f"Person.{i}@Example{i % 50}.COM,First{i},Last{i},{rng.choice(ZONES)},{tags},{'true' if consent else 'false'},"
                         f"{'checkout opt-in' if consent else ''},{'2025-06-01T10:00:00Z' if consent else ''},"
                         f"{rng.choice(('gold', 'silver', 'bronze'))},City{i % 300}\n")


def timed(label: str, url: str, path: Path, update_existing: bool) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    with session_scope(url) as session:
        result = import_contacts(session, "bench", path, update_existing=update_existing, actor="bench")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:<38} {wall:8.1f} s wall {cpu:8.1f} s CPU   created {result.created:>7,} updated {result.updated:>7,} "
          f"consents {result.consents:>7,}   load {os.getloadavg()[0]:.1f}")


def run(url: str, path: Path, backend: str) -> None:
    migrate(url)
    with session_scope(url) as session:
        ensure_merchant(session, "bench", name="Bench")
    timed(f"{backend}: first import", url, path, False)
    timed(f"{backend}: same file, nothing to update", url, path, True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--postgres-url", default=None, help="an empty PostgreSQL database to write (optional)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-contacts-") as folder:
        path = Path(folder) / "contacts.csv"
        started = time.perf_counter()
        write_file(path, args.contacts)
        print(f"generated {args.contacts:,} contacts ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s")
        run(f"sqlite:///{Path(folder) / 'app.db'}", path, "sqlite")
        if args.postgres_url:
            run(args.postgres_url, path, "postgres")


if __name__ == "__main__":
    main()
