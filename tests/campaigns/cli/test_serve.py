"""`campaigns serve` ends every process it started (and what those started) on SIGTERM, SIGINT or a child's exit.

Real processes throughout: `serve` runs in a process of its own, its children listen on ports
and start grandchildren that listen too, and the test checks that nothing is left running or
listening afterwards.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from campaigns.cli.serve import Children

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc (Linux)")

REPO = Path(__file__).resolve().parents[3]

# A child like Dagster's `dev`: listens, and starts a grandchild that listens too. With "stubborn" it ignores SIGINT
# and SIGTERM (only SIGKILL ends it); with "exits" it ends on its own after a second.
CHILD = textwrap.dedent("""
    import signal, socket, subprocess, sys, time
    port, grandchild_port, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    listen = "import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); time.sleep(300)"
    subprocess.Popen([sys.executable, "-c", listen, str(grandchild_port)])
    if mode == "stubborn":
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    s = socket.socket(); s.bind(("127.0.0.1", port)); s.listen()
    time.sleep(1 if mode == "exits" else 300)
""")

# `campaigns serve` with stand-in children (the real command is tested below, at the real cost).
SERVE = textwrap.dedent("""
    import json, sys
    from campaigns.cli import serve
    from campaigns.core.settings import get_settings
    commands = json.loads(sys.argv[1])
    serve.GRACE_SECONDS = 2
    serve.child_commands = lambda settings, dagster_port, app_port, *rest: commands
    serve.serve_both(get_settings(), 0, 0)
""")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def start_serve(home: Path, children: dict[str, str]) -> tuple[subprocess.Popen, list[int]]:
    """Serve with one stand-in per mode in `children` (name -> mode); returns the process and every port it should open."""
    import json

    ports, commands = [], {}
    for name, mode in children.items():
        port, grandchild_port = free_port(), free_port()
        ports += [port, grandchild_port]
        commands[name] = [sys.executable, "-c", CHILD, str(port), str(grandchild_port), mode]
    env = {**os.environ, "CAMPAIGNS_HOME": str(home), "PYTHONPATH": str(REPO)}
    env.pop("DAGSTER_HOME", None)
    serve = subprocess.Popen([sys.executable, "-c", SERVE, json.dumps(commands)], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return serve, ports


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_every_child_and_grandchild(home: Path, sig: int) -> None:
    serve, ports = start_serve(home, {"Dagster UI": "polite", "Streamlit app": "stubborn"})
    try:
        assert wait_for(lambda: all(listening(p) for p in ports), 60), serve.stdout.read() if serve.poll() is not None else "not listening"
        started = descendants(serve.pid)
        assert len(started) >= 4
        serve.send_signal(sig)
        assert serve.wait(30) == 0
        assert wait_for(lambda: not any(running(p) for p in started), 10), "a child outlived serve"
        assert not any(listening(p) for p in ports)
        assert "stopping" in serve.stdout.read()
        assert not (home / "dagster" / "serve.pid").exists()
    finally:
        if serve.poll() is None:
            serve.kill()


def test_when_one_child_exits_the_others_are_stopped(home: Path) -> None:
    serve, ports = start_serve(home, {"Dagster UI": "exits", "Streamlit app": "polite"})
    assert serve.wait(60) == 0
    assert wait_for(lambda: not any(listening(p) for p in ports), 10)


def test_stopping_children_that_are_already_gone_is_quiet() -> None:
    children = Children(grace_seconds=0.2)
    process = children.start([sys.executable, "-c", "pass"], os.environ)
    process.wait()
    children.stop()
    assert not children.all_running()


@pytest.mark.slow
def test_the_real_serve_leaves_nothing_listening_after_sigterm(home: Path) -> None:
    """`campaigns serve` with Dagster and Streamlit (tens of seconds: Dagster loads the code location)."""
    dagster_port, app_port = free_port(), free_port()
    env = {**os.environ, "CAMPAIGNS_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    serve = subprocess.Popen([str(Path(sys.executable).with_name("campaigns")), "serve", "--dagster-port", str(dagster_port), "--app-port", str(app_port)],
                             cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started: set[int] = set()
    try:
        assert wait_for(lambda: listening(dagster_port) and listening(app_port), 240), "serve did not come up"
        started = descendants(serve.pid)
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(90) == 0
        assert wait_for(lambda: not any(running(p) for p in started), 30), "a child outlived serve"
        assert not listening(dagster_port) and not listening(app_port)
    finally:
        for pid in {*started, *descendants(serve.pid)}:
            if running(pid):
                os.kill(pid, signal.SIGKILL)
        if serve.poll() is None:
            serve.kill()


def test_the_children_are_dagster_and_streamlit_on_the_given_ports(home: Path) -> None:
    from campaigns.cli.serve import child_commands
    from campaigns.core.settings import get_settings

    commands = child_commands(get_settings(), 3999, 8599)
    dagster, streamlit = commands["Dagster UI"], commands["Streamlit app"]
    assert Path(dagster[0]).name == "dagster" and dagster[1:3] == ["dev", "-w"] and dagster[-2:] == ["-p", "3999"]
    assert Path(streamlit[0]).name == "streamlit" and streamlit[1] == "run" and "8599" in streamlit


def test_a_second_serve_of_the_same_instance_is_refused(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from campaigns.cli.main import app

    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))  # restored after the test (ensure_dagster_home sets it)
    (home / "dagster").mkdir(parents=True)
    (home / "dagster" / "serve.pid").write_text(str(os.getppid()))  # a live process holds the instance
    result = CliRunner().invoke(app, ["serve", "--dagster-port", "3999", "--app-port", "8599"])
    assert result.exit_code == 2
    assert "another `campaigns serve` runs the Dagster instance" in " ".join(result.output.split())
    assert (home / "dagster" / "serve.pid").read_text() == str(os.getppid())


def test_every_ui_binds_to_the_loopback_unless_told_and_the_app_hides_its_toolbar(tmp_path) -> None:
    from campaigns.cli.serve import child_commands
    from campaigns.core.settings import Settings

    commands = child_commands(Settings(home=tmp_path), 3999, 8599, 8799)
    assert set(commands) == {"Dagster UI", "Streamlit app", "REST API"}
    assert commands["Dagster UI"][-4:] == ["-h", "127.0.0.1", "-p", "3999"]
    app = " ".join(commands["Streamlit app"])
    assert "--server.address 127.0.0.1" in app and "--client.toolbarMode viewer" in app and "--server.port 8599" in app
    assert commands["REST API"][-5:] == ["api", "--host", "127.0.0.1", "--port", "8799"]
    exposed = child_commands(Settings(home=tmp_path), 3999, 8599, 8799, host="10.0.0.5")
    assert "10.0.0.5" in exposed["Dagster UI"] and "--server.address 10.0.0.5" in " ".join(exposed["Streamlit app"])
    assert "127.0.0.1" in exposed["REST API"]  # the API stays on the loopback: it goes behind a TLS proxy
