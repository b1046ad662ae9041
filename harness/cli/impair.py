"""`vqa impair IN OUT --defect TYPE --at S --duration S --severity X [--seed N]`.

Applies one impairment from `harness.impairments` to a media file and writes OUT (H.264 + AAC in
MP4) and OUT.truth.json. Exit 0 on success, 2 on bad input with one line (unknown defect: the
line lists the known ones).
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from harness.cli.common import EXIT_CLEAN, CliError


def _number(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return v


def _param(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    for conv in (int, float):
        try:
            return key, conv(value)
        except ValueError:
            pass
    return key, value


def cmd_impair(args: argparse.Namespace) -> int:
    from harness.impairments import IMPAIRMENTS, ImpairError, impair_file, truth_path

    if args.defect not in IMPAIRMENTS:
        raise CliError(f"unknown defect {args.defect!r}; known: {', '.join(IMPAIRMENTS)}")
    spec = IMPAIRMENTS[args.defect]
    params = dict(args.param or [])
    unknown = sorted(set(params) - set(spec.params))
    if unknown:
        known = ", ".join(spec.params) or "none"
        raise CliError(f"defect {args.defect!r} takes no parameter {', '.join(unknown)}; its parameters: {known}")
    if not 0.0 <= args.severity <= 1.0:
        raise CliError(f"--severity must be in [0, 1], got {args.severity:g}")
    if args.at < 0 or args.duration <= 0:
        raise CliError(f"--at must be >= 0 and --duration > 0, got --at {args.at:g} --duration {args.duration:g}")
    try:
        t = impair_file(
            args.input, args.output, args.defect, args.at, args.duration, args.severity, args.seed, **params
        )
    except ImpairError as e:
        raise CliError(str(e)) from None
    print(
        f"{args.output}: {args.defect} ({t.type}) {t.start_s:.3f}-{t.end_s:.3f} s,"
        f" severity {args.severity:g}, seed {args.seed}"
    )
    print(f"truth: {truth_path(args.output)}")
    return EXIT_CLEAN


def register(subparsers: Any) -> None:
    """Add `vqa impair` to the CLI."""
    p = subparsers.add_parser("impair", help="apply one defect to a media file and write its ground truth")
    p.add_argument("input", metavar="IN", help="media file to impair")
    p.add_argument("output", metavar="OUT", help="output MP4 (OUT.truth.json is written next to it)")
    p.add_argument("--defect", required=True, metavar="TYPE", help="defect name (see harness.impairments.IMPAIRMENTS)")
    p.add_argument("--at", required=True, type=_number, metavar="S", help="window start, seconds")
    p.add_argument("--duration", required=True, type=_number, metavar="S", help="window length, seconds")
    p.add_argument(
        "--severity", required=True, type=_number, metavar="X", help="0..1 (per-defect meaning in its docstring)"
    )
    p.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    p.add_argument(
        "--param", action="append", type=_param, metavar="KEY=VALUE", help="defect-specific parameter, e.g. color=green"
    )
    p.set_defaults(func=cmd_impair)
