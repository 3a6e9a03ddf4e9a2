"""Console helpers: one place for messages, errors and exit codes."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)

EXIT_INVALID = 2  # bad input: a file, an argument, a state the action does not allow
EXIT_UNDELIVERED = 3  # the command ran, but some items ended FAILED or waiting for a person's review


def fail(message: str, code: int = EXIT_INVALID) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)
