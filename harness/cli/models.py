"""`vqa models`: the model cards in the models folder and whether each ONNX file is the one its card describes.

vqa models [--json]          one line a model: name, version, size, sha256, status (ok/missing/altered), task, command
vqa models verify [NAME]     sha256 against the card, then onnxruntime loads it; exit 0 when all (or NAME) pass

The folder is `models/` or `$VQA_MODELS_DIR`. A model that fails is one line on stderr naming the file
and the command that rebuilds it, and the exit code is 2; an empty folder says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from harness.cli.common import EXIT_BAD_INPUT, EXIT_CLEAN, CliError


def _folder() -> Path:
    from harness.ml.registry import resolve_models_dir

    d = resolve_models_dir()
    if d.exists() and not d.is_dir():
        raise CliError(f"{d}: not a folder (set VQA_MODELS_DIR to the models folder)")
    return d


def cmd_models(args: argparse.Namespace) -> int:
    from harness.ml.registry import ModelError, card_names, load_card, status

    d = _folder()
    names = card_names(d)
    if not names and not args.json:
        print(f"no models in {d}")
        return EXIT_CLEAN
    rows: list[dict[str, Any]] = []
    broken: list[str] = []
    for name in names:
        try:
            card = load_card(name, d)
        except ModelError as e:
            broken.append(str(e))
            continue
        rows.append({**card.model_dump(mode="json"), "status": status(card, d)})
    if args.json:
        print(json.dumps({"models_dir": str(d), "models": rows, "errors": broken}, indent=2))
    else:
        for r in rows:
            print(
                f"{r['name']:<20} {r['version']:<8} {r['size_bytes'] / 1e6:>7.2f} MB  {r['sha256'][:12]}  "
                f"{r['status']:<8} {r['task']}  [{r['training']['command']}]"
            )
    for line in broken:
        print(line, file=sys.stderr)
    return EXIT_BAD_INPUT if broken else EXIT_CLEAN


def cmd_verify(args: argparse.Namespace) -> int:
    from harness.ml.registry import ModelError, card_names
    from harness.ml.runtime import OnnxModel

    d = _folder()
    names = [args.name] if args.name else card_names(d)
    if not names:
        print(f"no models in {d}")
        return EXIT_CLEAN
    failed = 0
    for name in names:
        try:
            model = OnnxModel.load(name, d)
        except ModelError as e:
            print(e, file=sys.stderr)
            failed += 1
            continue
        print(f"{name}: ok ({model.card.sha256[:12]}, {model.path})")
    return EXIT_BAD_INPUT if failed else EXIT_CLEAN


def register(subparsers: Any) -> None:
    """Add `models` (and `models verify`) to `vqa`'s sub-commands."""
    m = subparsers.add_parser("models", help="list the ONNX models and their cards, or verify them")
    m.add_argument("--json", action="store_true", help="print the cards and their status as JSON")
    m.set_defaults(func=cmd_models)
    sub = m.add_subparsers(dest="models_command")
    v = sub.add_parser("verify", help="check each model's sha256 against its card and load it with onnxruntime")
    v.add_argument("name", nargs="?", help="one model by name (default: every card)")
    v.set_defaults(func=cmd_verify)
