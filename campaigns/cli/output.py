"""Console helpers: one place for messages, errors and exit codes, and for keeping user text inert.

Commands print f-strings that mix the CLI's own markup (``[bold]campaigns build[/]``) with user
text: a campaign named ``oops [/]`` or ``[link=file:///etc/passwd]x``. Both consoles here render
markup through `defuse_markup`, which keeps only the few style tags the CLI itself writes (colours
and bold, balanced) and escapes every other bracket, so user text can neither crash a command
(MarkupError) nor print a terminal hyperlink. Tables, titles and panels go through the same
rendering. `esc` escapes a value completely, for places that want it spelled out.
"""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import RE_TAGS, escape
from rich.text import Text

EXIT_INVALID = 2  # bad input: a file, an argument, a state the action does not allow
EXIT_UNDELIVERED = 3  # the command ran, but some items ended FAILED or waiting for a person's review
EXIT_INTERNAL = 1  # an unexpected error (a bug); the message says how to see the traceback

# the styles the CLI's own messages use; any other tag in printed text is shown literally
_COLOURS = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")
ALLOWED_STYLES = frozenset({"bold", "dim", "italic", "underline", "strike", "reverse", *_COLOURS, *(f"bright_{c}" for c in _COLOURS)})


def esc(value: object) -> str:
    """User text for a Rich string: every tag-like bracket escaped, so it prints exactly as written."""
    return escape(str(value))


def defuse_markup(markup: str) -> str:
    """Markup with only balanced tags of `ALLOWED_STYLES` left active; every other tag (``[link=...]``, a stray ``[/]``) escaped."""
    out: list[str] = []
    open_tags: list[str] = []
    position = 0
    for match in RE_TAGS.finditer(markup):
        full, escapes, tag = match.groups()
        start, end = match.span()
        out.append(markup[position:start])
        position = end
        if len(escapes) % 2:  # already escaped: prints literally
            out.append(full)
            continue
        name = tag.strip().lower()
        if name.startswith("/"):
            closing = name[1:].strip()
            target = closing or (open_tags[-1] if open_tags else None)
            keep = target is not None and target in open_tags
            if keep:
                del open_tags[len(open_tags) - 1 - open_tags[::-1].index(target)]
        else:
            keep = bool(name) and all(word in ALLOWED_STYLES for word in name.split())
            if keep:
                open_tags.append(name)
        out.append(full if keep else f"{escapes}\\[{tag}]")
    out.append(markup[position:])
    return "".join(out)


class SafeConsole(Console):
    """A Rich console whose markup cannot be driven by user text (see `defuse_markup`); no emoji codes either."""

    def render_str(self, text: str, *, markup: bool | None = None, emoji: bool | None = None, **kwargs) -> Text:  # type: ignore[override]
        if markup is None:
            markup = self._markup
        return super().render_str(defuse_markup(text) if markup else text, markup=markup, emoji=False, **kwargs)


console = SafeConsole()
err_console = SafeConsole(stderr=True)


def fail(message: str, code: int = EXIT_INVALID) -> NoReturn:
    err_console.print(Text.assemble(Text("error:", style="bold red"), " ", message), highlight=False, soft_wrap=True)
    raise typer.Exit(code)
