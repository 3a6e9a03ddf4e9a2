"""Every `campaigns ...` command the app or the docs print exists, with the options it is shown with.

The commands are taken from code (fenced blocks and backtick spans) in README.md and docs/**/*.md,
and from the string literals of dashboards/ (the app's hints); each is resolved in the Typer app's
command tree and its `--help` runs in process, so a hint naming a missing group, command or option fails.
"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import typer
from typer.testing import CliRunner

from campaigns.cli.main import app

ROOT = Path(__file__).resolve().parents[3]
FENCE = re.compile(r"```[a-z]*\n(.*?)```", re.S)
SPAN = re.compile(r"`(campaigns [^`\n]+)`")


def _commands_in(text: str) -> list[str]:
    found = []
    for block in FENCE.findall(text):
        for line in block.splitlines():
            line = line.strip().removeprefix("$ ")
            for part in line.split(" #")[0].split("&&"):
                if part.strip().startswith("campaigns "):
                    found.append(part.strip())
    found += SPAN.findall(FENCE.sub("", text))
    return found


def _python_strings(path: Path) -> list[str]:
    texts = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            texts.append(node.value)
        elif isinstance(node, ast.JoinedStr):  # f-strings: a placeholder stands for each interpolated value
            texts.append("".join(v.value if isinstance(v, ast.Constant) else "ID" for v in node.values))
    return texts


def printed_commands() -> list[tuple[str, str]]:
    """(where, command) for every command printed by the docs and the app."""
    out = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        out += [(str(doc.relative_to(ROOT)), c) for c in _commands_in(doc.read_text(encoding="utf-8"))]
    for module in sorted((ROOT / "dashboards").rglob("*.py")):
        for text in _python_strings(module):
            out += [(str(module.relative_to(ROOT)), c) for c in _commands_in(text)]
    return out


def _tokens(command: str) -> list[str]:
    # usage notation: [optional], (a | b), x|y, "..." and <placeholders> are not arguments of their own
    cleaned = re.sub(r"[\[\]()]", " ", command.replace("...", " ").replace("\\", " "))
    cleaned = re.sub(r"\s\|\s", " ", cleaned)
    try:
        parts = shlex.split(cleaned)
    except ValueError:
        parts = cleaned.split()
    parts = [p for p in parts if p != "|"]
    # the top-level options (`campaigns --debug COMMAND`) belong to the group, not to the command
    return [p for i, p in enumerate(parts) if not (i == 1 and p in GLOBAL_OPTIONS)]


GLOBAL_OPTIONS = {"--debug"}


def _problem(command: str) -> str | None:
    """Why `command` does not exist as printed, or None when it does.

    `campaigns email templates list | check --file F` names sibling commands; `(--at ISO | --best)`
    alternative options of one command.
    """
    segments = [s for s in re.sub(r"[()]", " ", command).split(" | ")]
    commands = [segments[0]]
    for segment in segments[1:]:
        if segment.strip().startswith("-"):
            commands[-1] += " " + segment
        else:
            commands.append(segment)
    first = commands[0]
    if len(commands) > 1:
        parent = _path(first)[:-1]
        return next(filter(None, (_check(c if c is first else f"campaigns {' '.join(parent)} {c}") for c in commands)), None)
    return _check(first)


def _path(command: str) -> list[str]:
    tokens, path = _tokens(command)[1:], []
    node = typer.main.get_command(app)
    ctx = node.context_class(node, info_name="campaigns")
    while hasattr(node, "get_command") and tokens and (child := node.get_command(ctx, tokens[0])) is not None:
        path.append(tokens.pop(0))
        node, ctx = child, child.context_class(child, info_name=path[-1], parent=ctx)
    return path


def _check(command: str) -> str | None:
    tokens = _tokens(command)[1:]
    path: list[str] = []
    node = typer.main.get_command(app)
    ctx = node.context_class(node, info_name="campaigns")
    while hasattr(node, "get_command") and tokens and not tokens[0].startswith("-"):
        if "|" in tokens[0]:  # `schedule|launch ID`: each alternative must exist
            rest = " ".join(shlex.quote(t) for t in tokens[1:])
            return next(filter(None, (_check(f"campaigns {' '.join([*path, alt])} {rest}") for alt in tokens[0].split("|"))), None)
        child = node.get_command(ctx, tokens[0])
        if child is None:
            return f"no command {tokens[0]!r} under `campaigns {' '.join(path)}`".replace(" `", "`", 0)
        path.append(tokens.pop(0))
        node = child
        ctx = node.context_class(node, info_name=path[-1], parent=ctx)
    result = CliRunner().invoke(app, [*path, "--help"])
    if result.exit_code != 0:
        return f"`campaigns {' '.join(path)} --help` failed: {result.output}"
    if hasattr(node, "get_command"):
        return None if tokens in ([], ["--help"]) else f"`campaigns {' '.join(path)}` is a group; {tokens[0]!r} is not one of its commands"
    # Typer carries its own copy of click: tell options from arguments by their declared kind
    options = {name: p for p in node.params if p.param_type_name == "option" for name in [*p.opts, *p.secondary_opts]}
    arguments = [p for p in node.params if p.param_type_name == "argument"]
    unlimited = any(a.nargs == -1 for a in arguments)
    positional = 0
    while tokens:
        token = tokens.pop(0)
        if token == "--help":
            continue
        if token.startswith("-") and "|" in token:  # `--live|--sandbox`
            tokens[:0] = token.split("|")
            continue
        if token.startswith("-") and len(token) > 1:
            name = token.split("=")[0]
            option = options.get(name)
            if option is None:
                return f"`campaigns {' '.join(path)}` has no option {name}"
            if not option.is_flag and not option.count and "=" not in token and name not in option.secondary_opts and tokens \
                    and not tokens[0].startswith("--"):
                tokens.pop(0)
        else:
            positional += 1
    if not unlimited and positional > len(arguments):
        return f"`campaigns {' '.join(path)}` takes {len(arguments)} argument(s), the hint gives {positional}"
    return None


def test_every_printed_command_exists() -> None:
    commands = printed_commands()
    assert len(commands) > 50  # the extraction finds the docs' and the app's commands
    assert any(where.startswith("dashboards/") for where, _ in commands)
    problems = sorted({f"{where}: {command}\n    {reason}" for where, command in commands if (reason := _problem(command))})
    assert not problems, "commands printed that do not exist as shown:\n" + "\n".join(problems)


def test_the_check_catches_a_wrong_hint() -> None:
    assert "no command 'agents'" in (_problem("campaigns agents repurpose https://example.com/post") or "")
    assert "argument" in (_problem("campaigns accounts add x @yourshop") or "")
    assert "no option --bogus" in (_problem("campaigns email send --bogus 1") or "")
    assert "no command 'bogus'" in (_problem("campaigns email templates list | bogus --file F") or "")
    assert "no command 'nope'" in (_problem("campaigns workflow status|nope CAMPAIGN_ID") or "")
    assert _problem("campaigns social schedule --account ID --text T (--at ISO | --best) [--campaign ID]") is None
    assert _problem("campaigns accounts add --platform x --handle @yourshop --timezone Europe/Berlin") is None
