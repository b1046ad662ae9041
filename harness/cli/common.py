"""What every `vqa` command shares: exit codes, the bad-input error, the progress bar."""

from __future__ import annotations

from typing import Any

EXIT_CLEAN, EXIT_DEFECTS, EXIT_BAD_INPUT = 0, 1, 2


class CliError(Exception):
    """Bad input or usage: printed as one line, exit 2."""


_held: list[Any] = []  # device locks this command holds; app.main releases them when it returns


def hold_device(name: str) -> None:
    """Hold the device for the rest of this command, or fail naming who holds it."""
    from devices.lock import DeviceBusy, DeviceLock

    try:
        _held.append(DeviceLock(name).acquire())
    except DeviceBusy as e:
        raise CliError(str(e)) from None


def held_device_spec(inventory: str | None, device: str) -> Any:
    """The device's inventory entry, held for the rest of this command (`--inventory`, `--device`)."""
    from harness.config import InventoryError, load_inventory

    try:
        spec = load_inventory(inventory).get(device)
    except InventoryError as e:
        raise CliError(str(e)) from None
    hold_device(spec.name)
    return spec


def release_devices() -> None:
    while _held:
        _held.pop().release()


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
