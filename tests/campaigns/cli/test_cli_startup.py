"""`campaigns --help` and the heavy groups' own help load no command's dependencies, and still list every command."""

import inspect
import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from campaigns.cli import ab_commands, automation_commands, email_commands, email_template_commands
from campaigns.cli.main import LAZY_COMMANDS, LAZY_GROUPS, _Unloaded, app

HEAVY = ("sqlalchemy", "alembic", "polars", "numpy", "scipy", "dagster", "anthropic", "streamlit")

HELP_IN_A_FRESH_PROCESS = """
import json, sys
from campaigns.cli.main import app
sys.argv = ["campaigns", *{argv}]
try:
    app()
except SystemExit:
    pass
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in {heavy})))
"""


def _modules_loaded_by(argv: list[str], home) -> tuple[list[str], str]:
    """The heavy libraries `campaigns <argv>` imports in a fresh process, and what it printed."""
    code = HELP_IN_A_FRESH_PROCESS.format(argv=argv, heavy=set(HEAVY))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, "COLUMNS": "200", "CAMPAIGNS_HOME": str(home)})
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stdout


def test_help_imports_no_heavy_library(home) -> None:
    loaded, out = _modules_loaded_by(["--help"], home)
    assert loaded == [], f"`campaigns --help` imported {loaded}"
    assert "Commands" in out


@pytest.mark.parametrize(("group", "a_command"), [("email", "ab-create"), ("automations", "run-due")])
def test_a_groups_help_imports_no_heavy_library(home, group: str, a_command: str) -> None:
    """The email stack (delivery, A/B tests with scipy, templates, automations) loads in the commands, not for the group's help."""
    loaded, out = _modules_loaded_by([group, "--help"], home)
    assert loaded == [], f"`campaigns {group} --help` imported {loaded}"
    assert a_command in out


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


def test_literal_defaults_equal_the_modules_constants() -> None:
    """Option defaults written out in the CLI (so its help does not import the module) stay equal to the module's."""
    from campaigns.email import delivery

    assert email_commands.DEFAULT_BATCH == delivery.DEFAULT_BATCH
    send = _Unloaded("email", LAZY_GROUPS["email"]).load().commands["send"]
    assert next(p.default for p in send.params if p.name == "batch_size") == delivery.DEFAULT_BATCH


def test_expected_errors_are_the_services_errors() -> None:
    """The errors the email and automation commands report with exit code 2 (imported when one is raised)."""
    from campaigns.audiences.suppression import MissingUnsubscribeKeyError
    from campaigns.content.approvals import NotApprovedError
    from campaigns.core.merchants import UnknownMerchantError

    email = (LookupError, ValueError, NotApprovedError, UnknownMerchantError, MissingUnsubscribeKeyError)
    assert email_commands.expected_errors() == ab_commands.expected_errors() == email_template_commands.expected_errors() == email
    assert automation_commands.expected_errors() == (LookupError, ValueError, NotApprovedError, UnknownMerchantError)
