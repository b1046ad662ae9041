"""`vqa analyze MEDIA`: detectors and reference measurements on a media file or capture bundle
(exit 0 clean, 1 defects, 2 bad input)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.cli.common import EXIT_CLEAN, EXIT_DEFECTS, CliError, progress_bar


def cmd_analyze(args: argparse.Namespace) -> int:
    from harness.analysis import analyze
    from harness.detectors import DEFAULT_DETECTORS, REGISTRY
    from harness.media import MediaError
    from harness.ml.ocr import OcrError
    from harness.ml.registry import ModelError
    from harness.reference.titles import TitleError

    names = [x.strip() for x in args.detectors.split(",") if x.strip()] if args.detectors else []
    if all(n.startswith("+") for n in names):  # "+a,+b": the defaults plus these
        names = list(DEFAULT_DETECTORS) + [
            n.removeprefix("+") for n in names if n.removeprefix("+") not in DEFAULT_DETECTORS
        ]
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise CliError(f"unknown detector(s) {', '.join(unknown)}; known: {', '.join(sorted(REGISTRY))}")
    with progress_bar(sys.stderr.isatty() and not args.quiet) as prog:
        task = prog.add_task(f"analysing {Path(args.media).name}", total=1.0)

        def cb(t: float, total: float) -> None:
            prog.update(task, completed=min(1.0, t / total) if total else 0.0)

        try:
            result = analyze(args.media, names, progress=cb, reference=args.reference, captions=args.captions)
        except (MediaError, TitleError, ModelError, OcrError) as e:
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
            if ev.type.startswith("caption_"):
                print(f"    {ev.details['summary']}")
        if result.captions is not None and "cues" not in result.captions:
            for c in result.captions["shown"]:  # no cue file: what the picture showed
                text = c["text"].replace("\n", " / ")
                print(f"  caption {c['start_s']:8.2f} - {c['end_s']:8.2f} s  {text}")
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


def register(sub: Any) -> None:
    a = sub.add_parser("analyze", help="run detectors on a media file or capture bundle")
    a.add_argument("media", help="media file (anything FFmpeg reads) or capture bundle directory")
    a.add_argument("--json", metavar="OUT", help="write the JSON report to OUT ('-' for stdout)")
    a.add_argument(
        "--detectors",
        help="comma-separated detector names (default: the default set); +name adds one, e.g. +block_corruption",
    )
    a.add_argument("--reference", help="reference title the capture shows (frame-code measurements)")
    a.add_argument(
        "--captions",
        metavar="CUES.vtt",
        help="check the captions shown against a WebVTT cue file ('reference': the reference title's own; "
        "'off': no check, even for a capture recorded with captions on)",
    )
    a.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    a.set_defaults(func=cmd_analyze)
