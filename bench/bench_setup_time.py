"""The seed's user-time targets, timed through the app in headless Chromium (a benchmark, not a test).

A marketer's path from a blog post to scheduled social posts, on a fresh home:

1. campaign set-up: sign in, open Orchestration, fill "Plan a new campaign" from a blog post (channels X, LinkedIn
   and Facebook, one variant per format, a budget; the post pasted), "Plan and save", until the saved plan is shown.
   (The Campaign builder has no blog-post input; the plan form is the product's campaign-from-a-post wizard.)
2. content generation: the workflow's generate_content step stores Leo's drafts (offline engine) -- run here as one
   worker tick, `campaigns workflow run`, which is what the Dagster sensor calls once a minute -- then the marketer
   opens Content Studio, sees the drafts and approves each one, until every approval is confirmed on screen.
3. social scheduling: for each approved draft, the Schedule action in Content Studio (best time, the merchant's
   sandbox account) until the app confirms the post is queued.

The merchant, its owner and one sandbox account per platform are made with the CLI beforehand (not timed), as the
onboarding browser test does; publishing is the embedded default, the sandbox, so nothing leaves the machine.

Per stage it records the machine time (wall seconds from the stage's first action to its result on screen), the
steps a person takes (actions = clicks + fields filled), the words typed, the drafts read, and an ESTIMATED user time:

    user time = machine time + 3 s per click + 5 s per field filled + 0.3 s per typed word
                + 10 s per draft read before approving it (+ worker wait)

A pasted field (the blog post) costs its 5 s and no words: it is copied, not typed. Picking an option from a list
counts as two clicks (open, choose). Stage 2 adds a worker wait of 30 s, the mean delay of the once-a-minute workflow
sensor before Leo's drafts are stored (the bench runs the tick at once instead of waiting; the tick's own run time is
part of the machine time). After the three stages, one more tick (not timed) shows whether the workflow's schedule
step queues the hand-scheduled drafts again; the figure is printed. The allowances are a
model of a practised user, not a measurement of one: the figures are an estimate.

Targets (the seed): set-up under 5 min, content generation under 2 min, social scheduling under 1 min of user time.
Uses Debian's /usr/bin/chromium through Playwright; never downloads a browser. About a minute or two to run.

Run: `make bench-setup` or `python bench/bench_setup_time.py [--json FILE] [--screenshots DIR] [--post FILE]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POST = ROOT / "tests" / "agents" / "leo" / "corpus" / "07-product-launch.md"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
MERCHANT, OWNER, PASSWORD = "juniper", "owner@juniper.example", "the owner's long passphrase"
CHANNELS = (("x", "X"), ("linkedin", "LinkedIn"), ("facebook", "Facebook"))
HANDLES = {"x": "@juniperfinch", "linkedin": "urn:li:organization:4242", "facebook": "104242"}  # sandbox accounts
PER_CLICK_S, PER_FIELD_S, PER_WORD_S, PER_READ_S, WORKER_WAIT_S = 3.0, 5.0, 0.3, 10.0, 30.0
TARGETS_S = {"campaign set-up": 300.0, "content generation": 120.0, "social scheduling": 60.0}


@dataclass
class Stage:
    name: str
    target_s: float
    machine_s: float = 0.0
    clicks: int = 0
    fields: int = 0
    words: int = 0
    reads: int = 0
    worker_wait_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def actions(self) -> int:
        return self.clicks + self.fields

    @property
    def user_s(self) -> float:
        return (self.machine_s + PER_CLICK_S * self.clicks + PER_FIELD_S * self.fields + PER_WORD_S * self.words + PER_READ_S * self.reads
                + self.worker_wait_s)

    def row(self) -> dict:
        return {**asdict(self), "machine_s": round(self.machine_s, 2), "actions": self.actions, "estimated_user_s": round(self.user_s, 1),
                "within_target": self.user_s <= self.target_s}


class Marketer:
    """The browser tab, counting what a person would do: clicks, fields filled, words typed."""

    def __init__(self, tab, shots: Path | None) -> None:
        self.tab, self.shots, self.stage = tab, shots, None

    def begin(self, name: str) -> Stage:
        self.stage = Stage(name, TARGETS_S[name])
        self._started = time.perf_counter()
        return self.stage

    def end(self) -> None:
        self.stage.machine_s = time.perf_counter() - self._started
        errors = self.tab.locator(ERRORS)
        if errors.count():
            raise SystemExit(f"{self.stage.name}: the app shows an error: {errors.first.inner_text()[:500]}")

    def click(self, locator) -> None:
        locator.click()
        self.stage.clicks += 1

    def type_into(self, locator, text: str) -> None:
        locator.fill(text)
        self.stage.fields += 1
        self.stage.words += len(text.split())

    def paste_into(self, locator, text: str) -> None:
        locator.fill(text)
        self.stage.fields += 1

    def click_until(self, locator, confirmation: str, timeout_ms: int = 120_000) -> None:
        """Click, then wait for a new success message containing `confirmation` (one left from an earlier action does not
        count); a new warning instead (the app refused) ends the benchmark with its text."""
        success, warning = '[data-testid="stAlertContentSuccess"]', '[data-testid="stAlertContentWarning"]'
        before = self.tab.locator(f"{success}, {warning}").all_inner_texts()
        self.click(locator)
        self.tab.wait_for_function(
            """([success, warning, text, before]) => [...document.querySelectorAll(success)]
                .some(a => a.innerText.includes(text) && !before.includes(a.innerText))
                || [...document.querySelectorAll(warning)].some(a => !before.includes(a.innerText))""",
            arg=[success, warning, confirmation, before], timeout=timeout_ms)
        refused = [t for t in self.tab.locator(warning).all_inner_texts() if t not in before]
        if refused:
            raise SystemExit(f"{self.stage.name}: the app refused: {refused[0][:500]}")
        self.settled()

    def pick(self, box, option: str) -> None:
        """Choose `option` in a select or multiselect: counted as two clicks (open the list, choose), driven by keyboard."""
        box.locator("input").click()
        self.tab.keyboard.type(option)
        self.tab.get_by_role("option", name=option, exact=True).wait_for()
        self.tab.keyboard.press("Enter")
        self.tab.keyboard.press("Escape")
        self.stage.clicks += 2

    def settled(self, heading: str | None = None) -> None:
        self.tab.wait_for_selector('[data-testid="stAppViewContainer"]')
        if heading:
            self.tab.get_by_role("heading", name=heading, exact=True).first.wait_for()
        self.tab.wait_for_selector(IDLE)

    def shot(self, name: str) -> None:
        if self.shots is not None:
            self.tab.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)


# --- the fresh home and the app -----------------------------------------------------------------
def environment(home: Path) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = {**os.environ, "CAMPAIGNS_HOME": str(home), "CAMPAIGNS_DEFAULT_MERCHANT": MERCHANT, "CAMPAIGNS_LLM_ENGINE": "offline",
           "CAMPAIGNS_TOKEN_KEY": Fernet.generate_key().decode()}
    for name in ("CAMPAIGNS_DATABASE_URL", "CAMPAIGNS_WAREHOUSE", "CAMPAIGNS_WAREHOUSE_URL", "CAMPAIGNS_PUBLISH_MODE",
                 "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        env.pop(name, None)
    return env


def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "campaigns.cli.main", *args], cwd=ROOT, env=env, input=stdin, capture_output=True,
                          text=True, timeout=300)
    if done.returncode:
        raise SystemExit(f"campaigns {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def prepare(env: dict[str, str]) -> None:
    """The merchant, its owner and a sandbox account per platform, from the CLI (not timed)."""
    cli(env, "merchants", "add", MERCHANT, "--name", "Juniper & Finch")
    cli(env, "users", "add", OWNER, "--name", "Jo Owner", "--merchant", MERCHANT, "--role", "owner", "--password-stdin", stdin=PASSWORD + "\n")
    for platform_, _ in CHANNELS:
        cli(env, "accounts", "add", "--merchant", MERCHANT, "--platform", platform_, "--handle", HANDLES[platform_])


def serve(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboards/app.py", "--server.headless", "true", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the app exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return server, url
        except OSError:
            time.sleep(0.25)  # polling a health endpoint: there is no event to wait on
    server.kill()
    raise SystemExit("the app did not start within 90 s")


# --- the three stages ---------------------------------------------------------------------------
def campaign_setup(m: Marketer, url: str, post: str) -> Stage:
    tab = m.tab
    tab.goto(url)
    m.settled()
    stage = m.begin("campaign set-up")  # from the sign-in form on screen
    m.type_into(tab.get_by_role("textbox", name="Email", exact=True), OWNER)
    m.type_into(tab.get_by_role("textbox", name="Password", exact=True), PASSWORD)
    m.click(tab.get_by_role("button", name="Sign in", exact=True))
    tab.locator('[data-testid="stSidebar"]').get_by_text(OWNER).wait_for()
    m.settled()
    m.click(tab.locator('[data-testid="stSidebarNavLink"]', has_text="Orchestration").first)
    m.settled("Orchestration")
    form = tab.locator('[data-testid="stForm"]')
    form.wait_for()
    budget = form.get_by_label("Budget", exact=True)
    m.type_into(budget, "2500")
    channels = form.locator('[data-testid="stMultiSelect"]').filter(has_text="Channels")
    for value, _ in CHANNELS:
        m.pick(channels, value)
    m.type_into(form.get_by_label("Variants per format"), "1")
    m.paste_into(form.get_by_label("Blog post", exact=False), post)
    m.shot("1-plan-form")
    m.click_until(form.get_by_role("button", name="Plan and save"), "Planned and saved", timeout_ms=180_000)
    m.end()
    m.shot("2-planned")
    stage.notes.append("the Orchestration page's plan form (goal, dates and time zone left at their defaults); Ava plans and Leo writes "
                       "the drafts (offline engine) inside Plan and save, so their time is in this stage's machine time")
    return stage


def content_generation(m: Marketer, env: dict[str, str]) -> Stage:
    tab = m.tab
    stage = m.begin("content generation")
    worker = time.perf_counter()
    report = cli(env, "workflow", "run", "--merchant", MERCHANT)  # the sensor's tick: generate_content stores Leo's drafts
    stage.notes.append(f"worker tick `campaigns workflow run` {time.perf_counter() - worker:.1f} s: {report.strip().splitlines()[-1][:120] if report.strip() else ''}")
    stage.worker_wait_s = WORKER_WAIT_S
    m.click(tab.locator('[data-testid="stSidebarNavLink"]', has_text="Content Studio").first)
    m.settled("Content Studio")
    tab.get_by_text("Source post", exact=True).wait_for()
    for _, label in CHANNELS:
        m.click(tab.get_by_role("tab", name=label, exact=True))
        stage.reads += 1  # the marketer reads the draft's preview before approving it
        m.click_until(tab.get_by_role("button", name="Approve", exact=True).first, "as it reads now")
    m.end()
    m.shot("3-approved")
    return stage


def social_scheduling(m: Marketer) -> Stage:
    tab = m.tab
    stage = m.begin("social scheduling")
    for _, label in CHANNELS:
        m.click(tab.get_by_role("tab", name=label, exact=True))
        expander = tab.locator('[data-testid="stExpander"]:visible').filter(
            has=tab.locator("summary").get_by_text("Schedule", exact=True))
        m.click(expander.locator("summary").first)
        m.click_until(expander.get_by_role("button", name="Schedule", exact=True).first, "Queued cc-")
    m.end()
    m.shot("4-scheduled")
    stage.notes.append("each approved draft: open Schedule, keep the best time and the account, Schedule")
    return stage


def queued_posts(env: dict[str, str]) -> list[int]:
    """The campaign content id of every post in the merchant's social queue (one entry per queued post)."""
    from sqlalchemy import select

    from campaigns.core.settings import Settings
    from campaigns.core.store.db import session_scope
    from campaigns.core.store.models import SocialQueueItem

    settings = Settings(home=Path(env["CAMPAIGNS_HOME"]))
    with session_scope(settings.store_url) as s:
        return sorted(s.scalars(select(SocialQueueItem.content_id).where(SocialQueueItem.merchant_id == MERCHANT)))


# --- report -------------------------------------------------------------------------------------
def table(stages: list[Stage]) -> str:
    lines = [f"{'stage':<20} {'machine s':>9} {'actions':>7} {'clicks':>6} {'fields':>6} {'words':>5} {'reads':>5} {'wait s':>6} {'user s (est.)':>13} {'target s':>8}  verdict",
             "-" * 110]
    for s in stages:
        lines.append(f"{s.name:<20} {s.machine_s:9.1f} {s.actions:7d} {s.clicks:6d} {s.fields:6d} {s.words:5d} {s.reads:5d} {s.worker_wait_s:6.0f} {s.user_s:13.1f} "
                     f"{s.target_s:8.0f}  {'within' if s.user_s <= s.target_s else 'OVER'}")
    return "\n".join(lines)


def load() -> dict:
    info = {"cpus": os.cpu_count(), "machine": platform.machine()}
    try:
        info["loadavg_1m"] = round(os.getloadavg()[0], 2)
    except OSError:
        pass
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--post", type=Path, default=POST, help="the blog post to plan from (Markdown with front matter)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    parser.add_argument("--screenshots", type=Path, help="save a screenshot after each stage into this folder")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing; install Debian's chromium (apt-get install chromium) to run this benchmark")
    post = args.post.read_text(encoding="utf-8")
    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    started = time.perf_counter()
    before = load()
    with tempfile.TemporaryDirectory(prefix="bench-setup-") as tmp:
        env = environment(Path(tmp) / "home")
        print("a fresh home: merchant, owner and sandbox accounts from the CLI ...", flush=True)
        prepare(env)
        server, url = serve(env, Path(tmp) / "streamlit.log")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                tab = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
                tab.set_default_timeout(60_000)
                m = Marketer(tab, args.screenshots)
                stages = []
                for run in (lambda: campaign_setup(m, url, post), lambda: content_generation(m, env), lambda: social_scheduling(m)):
                    stages.append(run())
                    print(f"  {stages[-1].name}: {stages[-1].machine_s:.1f} s machine time", flush=True)
                browser.close()
            queued = queued_posts(env)
            # not timed: the workflow's next tick after the manual scheduling (its schedule step must not queue them twice)
            cli(env, "workflow", "run", "--merchant", MERCHANT)
            after_tick = queued_posts(env)
        finally:
            server.terminate()
            server.wait(timeout=15)
    if len(queued) != len(CHANNELS):
        raise SystemExit(f"expected {len(CHANNELS)} queued posts, found {len(queued)}")
    model = (f"user time = machine time + {PER_CLICK_S:g} s/click + {PER_FIELD_S:g} s/field + {PER_WORD_S:g} s/typed word + {PER_READ_S:g} s/draft read "
             f"(+ {WORKER_WAIT_S:g} s mean wait for the once-a-minute workflow sensor in content generation); an estimate, not a measurement")
    print()
    print(table(stages))
    print(f"\nmodel: {model}")
    for s in stages:
        for note in s.notes:
            print(f"  {s.name}: {note}")
    after = load()
    again = sorted(i for i in set(queued) if after_tick.count(i) > queued.count(i))  # queued by hand, then by the workflow too
    print(f"{len(queued)} posts queued from Content Studio (cc-{', cc-'.join(map(str, queued))}); {len(after_tick)} after the workflow's next tick"
          + (f": the workflow's schedule step queued cc-{', cc-'.join(map(str, again))} a second time" if again else ""))
    print(f"run time {time.perf_counter() - started:.0f} s; load average {before.get('loadavg_1m')} -> "
          f"{after.get('loadavg_1m')} on {after['cpus']} CPUs")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"post": str(args.post), "model": model, "per_click_s": PER_CLICK_S, "per_field_s": PER_FIELD_S,
                                         "per_word_s": PER_WORD_S, "per_read_s": PER_READ_S, "worker_wait_s": WORKER_WAIT_S, "stages": [s.row() for s in stages],
                                         "queued_content_ids": queued, "queued_content_ids_after_next_tick": after_tick, "machine": {"before": before, "after": after}}, indent=2))
        print(f"results in {args.json}")


if __name__ == "__main__":
    main()
