"""`vqa`: the harness's command line.

vqa devices                         the inventory, one line a device
vqa analyze MEDIA [--json OUT|-]    detectors on a media file or capture bundle (exit 0 clean, 1 defects, 2 bad input)
vqa reference build [--force]       build the reference titles
vqa report                          Allure HTML report from reports/allure-results
vqa bench speed                     our detectors vs FFmpeg's filters on a 1080p30 file
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

EXIT_CLEAN, EXIT_DEFECTS, EXIT_BAD_INPUT = 0, 1, 2

# Modules that add sub-commands: each defines `register(subparsers)`; their handlers return an
# exit code and raise CliError for bad input.
EXTENSIONS: list[str] = ["harness.cli_lab", "harness.cli_impair", "harness.cli_capture", "harness.cli_bench"]

# The `vqa bench` sub-parsers, set by build_parser before extensions register, so that an
# extension can add a bench sub-command (harness.cli_bench adds `detect`).
BENCH_SUBPARSERS: Any = None


class CliError(Exception):
    """Bad input or usage: printed as one line, exit 2."""


def _progress(enabled: bool):
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


def cmd_devices(args: argparse.Namespace) -> int:
    from harness.config import InventoryError, load_inventory

    try:
        inv = load_inventory(args.inventory)
    except InventoryError as e:
        raise CliError(str(e)) from None
    for d in inv.devices:
        faults = len(d.simulator.faults) if d.simulator else 0
        extra = f"  faults={faults}" if faults else ""
        print(
            f"{d.name:<16} {d.kind:<8} {d.control:<28} video={d.rig.video} audio={d.rig.audio or '-'}"
            f"  features={','.join(d.features) or '-'}{extra}"
        )
    return EXIT_CLEAN


def cmd_analyze(args: argparse.Namespace) -> int:
    from harness.analysis import analyze
    from harness.detectors import DEFAULT_DETECTORS, REGISTRY
    from harness.media import MediaError
    from harness.reference import TitleError

    names = [x.strip() for x in args.detectors.split(",")] if args.detectors else list(DEFAULT_DETECTORS)
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise CliError(f"unknown detector(s) {', '.join(unknown)}; known: {', '.join(sorted(REGISTRY))}")
    with _progress(sys.stderr.isatty() and not args.quiet) as prog:
        task = prog.add_task(f"analysing {Path(args.media).name}", total=1.0)

        def cb(t: float, total: float) -> None:
            prog.update(task, completed=min(1.0, t / total) if total else 0.0)

        try:
            result = analyze(args.media, names, progress=cb, reference=args.reference)
        except (MediaError, TitleError) as e:
            raise CliError(str(e)) from None
    for w in result.media.decode_errors:
        print(f"vqa: warning: {w} (analysed what could be decoded)", file=sys.stderr)
    text = result.to_json()
    if args.json == "-":
        print(text)
    else:
        if args.json:
            Path(args.json).write_text(text + "\n")
        m = result.media
        v = m.video or {}
        print(
            f"{m.path}: {m.duration_s:.2f} s"
            + (f", {v.get('width')}x{v.get('height')} @ {v.get('fps')} fps" if v else "")
            + (f", audio {m.audio['samplerate']} Hz x{m.audio['channels']}" if m.audio else ", no audio")
        )
        for ev in result.events:
            span = f"{ev.start_s:8.2f} - {ev.end_s:8.2f} s"
            print(f"  {ev.type:<15} {span}  ({ev.duration_s:.2f} s, confidence {ev.confidence:.2f})")
        for k, val in result.measurements.items():
            print(f"  {k:<24} {val:10.3f}")
        if result.reference is not None:
            r = result.reference
            if r.dropped:
                print(f"  dropped title frames: {_ranges(r.dropped)}")
            if r.repeated:
                print(f"  repeated title frames: {_ranges(r.repeated)}")
        print(f"verdict: {result.verdict} ({len(result.events)} event(s))")
    return EXIT_DEFECTS if result.events else EXIT_CLEAN


def _ranges(xs: list[int]) -> str:
    """[3, 4, 5, 9, 9] -> '3-5, 9 (x2)': runs of consecutive frames, repeats counted."""
    from collections import Counter

    counts = Counter(xs)
    keys = sorted(counts)
    parts: list[str] = []
    i = 0
    while i < len(keys):
        j = i
        while j + 1 < len(keys) and keys[j + 1] == keys[j] + 1 and counts[keys[j + 1]] == counts[keys[i]] == 1:
            j += 1
        s = str(keys[i]) if i == j else f"{keys[i]}-{keys[j]}"
        parts.append(s + (f" (x{counts[keys[i]]})" if counts[keys[i]] > 1 else ""))
        i = j + 1
    return ", ".join(parts)


def cmd_reference_build(args: argparse.Namespace) -> int:
    from harness.reference import TitleError, build, cached, load_recipes, media_dir

    recipes = load_recipes()
    if args.titles:
        want = [x.strip() for x in args.titles.split(",")]
        unknown = [w for w in want if w not in {r.id for r in recipes}]
        if unknown:
            raise CliError(f"unknown title(s) {', '.join(unknown)}; known: {', '.join(r.id for r in recipes)}")
        recipes = [r for r in recipes if r.id in want]
    elif args.suite:
        recipes = [r for r in recipes if r.suite]
    with _progress(sys.stderr.isatty()) as prog:
        for r in recipes:
            t = None if args.force else cached(r)
            if t is None:
                task = prog.add_task(f"building {r.id}", total=1.0)
                try:

                    def step(i: int, n: int, task: Any = task) -> None:
                        prog.update(task, completed=i / n)

                    t = build(r, progress=step)
                except TitleError as e:
                    raise CliError(str(e)) from None
                state = "built"
            else:
                state = "cached"
            print(f"{t.id:<16} {state:<7} {t.width}x{t.height} @ {t.fps:g} fps, {t.duration_s:g} s  {t.path}")
    print(f"media in {media_dir()}")
    return EXIT_CLEAN


def cmd_report(args: argparse.Namespace) -> int:
    from harness.reporting import ReportError, generate_html

    try:
        index = generate_html(Path(args.results), Path(args.output))
    except ReportError as e:
        raise CliError(str(e)) from None
    print(f"report: {index}")
    return EXIT_CLEAN


def cmd_bench_reference(args: argparse.Namespace) -> int:
    from harness.bench_speed import run_reference

    report = run_reference(args.title)
    print(report.table())
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return EXIT_CLEAN


def cmd_bench_speed(args: argparse.Namespace) -> int:
    from harness.bench_speed import run

    report = run(Path(args.file) if args.file else None, seconds=args.seconds)
    print(report.table())
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return EXIT_CLEAN


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vqa", description="Device-capture playback validation harness.")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("devices", help="list the lab inventory")
    d.add_argument("--inventory", help="inventory YAML (default: $VQA_INVENTORY or devices/lab.yaml)")
    d.set_defaults(func=cmd_devices)

    a = sub.add_parser("analyze", help="run detectors on a media file or capture bundle")
    a.add_argument("media", help="media file (anything FFmpeg reads) or capture bundle directory")
    a.add_argument("--json", metavar="OUT", help="write the JSON report to OUT ('-' for stdout)")
    a.add_argument("--detectors", help="comma-separated detector names (default: all default detectors)")
    a.add_argument("--reference", help="reference title the capture shows (frame-code measurements)")
    a.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    a.set_defaults(func=cmd_analyze)

    r = sub.add_parser("reference", help="reference titles")
    rs = r.add_subparsers(dest="reference_command", required=True)
    rb = rs.add_parser("build", help="build (or reuse cached) reference titles")
    rb.add_argument("--titles", help="comma-separated title ids (default: all)")
    rb.add_argument("--force", action="store_true", help="rebuild even when cached")
    rb.add_argument("--suite", action="store_true", help="only the titles the release suites play")
    rb.set_defaults(func=cmd_reference_build)

    rp = sub.add_parser("report", help="generate the Allure HTML report")
    rp.add_argument("--results", default="reports/allure-results")
    rp.add_argument("--output", default="reports/allure-report")
    rp.set_defaults(func=cmd_report)

    b = sub.add_parser("bench", help="benchmarks")
    bs = b.add_subparsers(dest="bench_command", required=True)
    sp = bs.add_parser("speed", help="our detectors vs FFmpeg blackdetect/freezedetect/silencedetect, 1080p30")
    sp.add_argument("--file", help="media to analyse (default: a generated 1080p30 clip with audio)")
    sp.add_argument("--seconds", type=float, default=60.0, help="length of the generated clip")
    sp.add_argument("--json", help="write results as JSON")
    sp.set_defaults(func=cmd_bench_speed)
    sr = bs.add_parser("reference", help="frame-code + sync-mark measurement speed on a frame-coded title")
    sr.add_argument("--title", default="sync-1080p60", help="reference title id (built if missing)")
    sr.add_argument("--json", help="write results as JSON")
    sr.set_defaults(func=cmd_bench_reference)
    global BENCH_SUBPARSERS
    BENCH_SUBPARSERS = bs
    for module in EXTENSIONS:
        importlib.import_module(module).register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except CliError as e:
        print(f"vqa: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("vqa: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    # run through the package module, so extensions that import harness.cli see the same globals
    from harness.cli import main as _main

    sys.exit(_main())
