"""`campaigns --help` loads no command group's dependencies, and still lists every command and group."""

import inspect
import json
import os
import subprocess
import sys

from typer.testing import CliRunner

from campaigns.cli.main import LAZY_COMMANDS, LAZY_GROUPS, _Unloaded, app

HEAVY = ("sqlalchemy", "alembic", "polars", "numpy", "scipy", "dagster", "anthropic", "streamlit")

HELP_IN_A_FRESH_PROCESS = """
import json, sys
from campaigns.cli.main import app
sys.argv = ["campaigns", "--help"]
try:
    app()
except SystemExit:
    pass
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in {heavy})))
"""


def test_help_imports_no_heavy_library(home) -> None:
    code = HELP_IN_A_FRESH_PROCESS.format(heavy=set(HEAVY))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, "COLUMNS": "200", "CAMPAIGNS_HOME": str(home)})
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == [], f"`campaigns --help` imported {loaded}"
    assert "Commands" in done.stdout


def test_help_lists_every_command_and_group() -> None:
    out = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    listed = {line.split()[1] for line in out.output.splitlines() if line.startswith("│ ") and len(line.split()) > 2}
    defined_in_main = {"demo-data", "import", "build", "migrate", "serve"}
    assert set(LAZY_COMMANDS) | set(LAZY_GROUPS) | defined_in_main <= listed
    for lazy in (*LAZY_COMMANDS.values(), *LAZY_GROUPS.values()):
        assert lazy.help in " ".join(out.output.replace("│", " ").split())


def test_registry_help_matches_the_loaded_commands() -> None:
    """The one-line help `campaigns --help` shows is the loaded command's own first paragraph."""
    for name, lazy in {**LAZY_COMMANDS, **LAZY_GROUPS}.items():
        command = _Unloaded(name, lazy).load()
        first_paragraph = " ".join(inspect.cleandoc(command.help or "").split("\n\n")[0].split())
        assert first_paragraph == lazy.help, name
        assert command.name == name
        if lazy.group:
            assert command.list_commands(None), f"group {name} has no commands"


def test_a_group_loads_when_invoked() -> None:
    out = CliRunner().invoke(app, ["merchants", "--help"], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "add" in out.output and "list" in out.output
