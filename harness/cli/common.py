"""What every `vqa` command shares: exit codes, the bad-input error, the progress bar."""

from __future__ import annotations

EXIT_CLEAN, EXIT_DEFECTS, EXIT_BAD_INPUT = 0, 1, 2


class CliError(Exception):
    """Bad input or usage: printed as one line, exit 2."""


def progress_bar(enabled: bool):
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        transient=True,
        disable=not enabled,
        console=__import__("rich.console", fromlist=["Console"]).Console(stderr=True),
    )
