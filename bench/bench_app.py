"""First-render time of every page of the app, measured in headless Chromium (a benchmark, not a test).

Builds a bench-scale home (about 5M touchpoints) unless --home points at a built one, serves
the app, and for each page of the navigation opens it in a fresh browser tab and times from
navigation to the script settling (Streamlit idle, no spinner). Target: under 1 s per page.
Uses Debian's /usr/bin/chromium through Playwright; never downloads a browser.
With --apptest the pages run in this process through Streamlit's AppTest instead (no server, no
browser): the script time alone, cold (the read caches emptied before each page) and warm (the
same page run again).
Run: `make bench-app` or `python bench/bench_app.py [--home DIR] [--scale bench|demo] [--apptest]`.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def build_home(home: Path, scale: str) -> None:
    env = {**os.environ, "CAMPAIGNS_HOME": str(home)}
    campaigns = str(Path(sys.executable).with_name("campaigns"))
    for args in (["demo-data", "--scale", scale], ["build"]):
        print(f"campaigns {' '.join(args)} ...", flush=True)
        subprocess.run([campaigns, *args], env=env, check=True, stdout=subprocess.DEVNULL)


def serve(home: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "CAMPAIGNS_HOME": str(home)}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboards/app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return server, url
        except OSError:
            time.sleep(0.25)
    server.kill()
    raise SystemExit("the app did not start")


def measure(url: str) -> list[dict]:
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        tab = browser.new_page(viewport={"width": 1440, "height": 1600})
        tab.set_default_timeout(120_000)
        tab.goto(url)
        tab.wait_for_selector(IDLE)
        links = tab.locator('[data-testid="stSidebarNavLink"]')
        pages = [(t.strip().splitlines()[-1].strip(), links.nth(i).get_attribute("href")) for i, t in enumerate(links.all_inner_texts())]
        for title, href in pages:
            fresh = browser.new_page(viewport={"width": 1440, "height": 1600})
            fresh.set_default_timeout(120_000)
            started = time.perf_counter()
            fresh.goto(href if href and href.startswith("http") else f"{url}/{(href or '').lstrip('/')}")
            fresh.wait_for_selector('[data-testid="stAppViewContainer"]')
            fresh.get_by_role("heading").first.wait_for()
            fresh.wait_for_selector(IDLE)
            seconds = time.perf_counter() - started
            errors = fresh.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').count()
            results.append({"page": title, "first_render_s": round(seconds, 2), "errors": errors})
            print(f"{title:<20} {seconds:6.2f} s{'  ERRORS' if errors else ''}", flush=True)
            fresh.close()
        browser.close()
    return results


def measure_apptest(home: Path, rounds: int = 3) -> list[dict]:
    """Each page's script time with AppTest: its first run in the process (the page's own imports included), the best
    of `rounds` cold runs (read caches emptied) and of warm reruns."""
    os.environ["CAMPAIGNS_HOME"] = str(home)
    for key in ("CAMPAIGNS_DATABASE_URL", "CAMPAIGNS_WAREHOUSE"):
        os.environ.pop(key, None)
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from tests.dashboards.helpers import APP, PAGES, assert_clean

    at = AppTest.from_file(APP, default_timeout=120)
    at.run()  # imports and the once-per-process store check, as a running server has done before its first visitor
    assert_clean(at)
    results = []
    for title, path in PAGES.items():
        cold, warm = [], []
        for _ in range(rounds):
            st.cache_data.clear()
            at.switch_page(path)
            started = time.perf_counter()
            at.run()
            cold.append(time.perf_counter() - started)
            assert_clean(at)
            assert at.title and at.title[0].value == title, (title, [t.value for t in at.title])
            started = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - started)
        results.append({"page": title, "first_s": round(cold[0], 3), "cold_s": round(min(cold), 3), "warm_s": round(min(warm), 3)})
        print(f"{title:<20} first {cold[0]:6.3f} s   cold {min(cold):6.3f} s   warm {min(warm):6.3f} s", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", type=Path, help="an already built CAMPAIGNS_HOME")
    parser.add_argument("--scale", default="bench", choices=["bench", "demo"])
    parser.add_argument("--apptest", action="store_true", help="time the page scripts with AppTest, without a server or browser")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp:
        home = args.home or Path(tmp) / "home"
        if args.home is None:
            build_home(home, args.scale)
        if args.apptest:
            sys.path.insert(0, str(ROOT))  # the page list lives with the app's tests
            results = measure_apptest(home)
        else:
            server, url = serve(home)
            try:
                results = measure(url)
            finally:
                server.terminate()
                server.wait(timeout=15)
    out = ROOT / "bench" / "results" / ("app_apptest.json" if args.apptest else "app.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    slowest = max(r["first_s" if args.apptest else "first_render_s"] for r in results)
    print(f"slowest page {slowest:.2f} s (target under 1 s); results in {out}")


if __name__ == "__main__":
    main()
