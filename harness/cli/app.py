"""`vqa`: the harness's command line.

vqa devices                         the inventory, one line a device
vqa analyze MEDIA [--json OUT|-]    detectors on a media file or capture bundle (exit 0 clean, 1 defects, 2 bad input)
vqa reference build [--force]       build the reference titles
vqa report                          Allure HTML report from reports/allure-results
vqa bench speed                     our detectors vs FFmpeg's filters on a 1080p30 file
vqa models [verify [NAME]]          the ONNX models, their cards, and whether each file matches its card

Each command group is one module of this package with a `register(subparsers)`; its handlers
return an exit code and raise CliError for bad input.
"""

from __future__ import annotations

import argparse
import faulthandler
import importlib
import signal
import sys
import threading

from harness.cli.common import EXIT_BAD_INPUT, CliError, release_devices

# In the order `vqa --help` lists them.
COMMAND_MODULES: list[str] = [
    "harness.cli.lab",
    "harness.cli.analyze",
    "harness.cli.reference",
    "harness.cli.report",
    "harness.cli.bench",
    "harness.cli.models",
    "harness.cli.train",
    "harness.cli.impair",
    "harness.cli.capture",
]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vqa", description="Device-capture playback validation harness.")
    sub = p.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return p


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM ends a command as Ctrl-C does: recordings closed, children stopped


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    # SIGINT too, even where it arrives ignored: a shell without job control starts background
    # commands (a CI runner's, a lab script's `vqa capture ... &`) with SIGINT ignored, and
    # `kill -INT` then left a recording running to its end (seen in CI)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler) if main_thread else None
    dumps = False
    if main_thread and hasattr(signal, "SIGUSR1"):
        # `kill -USR1 PID` prints every thread's stack to stderr: for a command that seems stuck
        try:
            faulthandler.register(signal.SIGUSR1, all_threads=True)
            dumps = True
        except (OSError, ValueError, AttributeError):  # stderr is no file (called in-process, captured)
            pass
    try:
        return int(args.func(args))
    except CliError as e:
        print(f"vqa: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("vqa: interrupted", file=sys.stderr)
        return 130
    finally:
        release_devices()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if previous_int is not None:
            signal.signal(signal.SIGINT, previous_int)
        if dumps:
            faulthandler.unregister(signal.SIGUSR1)
