"""`vqa train NAME`: train a model from data the repository regenerates, export it to ONNX with its card.

vqa train block-corruption|audio-artifacts [--size quick|full] [--device cpu|cuda] [--seed N] [--steps N]
    [--models-dir DIR]

`full` writes the shipped model into `models/` (or `$VQA_MODELS_DIR`); `quick` (minutes, for tests)
writes into reference_content/media/models-quick/ unless --models-dir says otherwise, so a quick run
never replaces the shipped model. Needs the `train` extra: `pip install -e '.[train]'` (torch, CPU).
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from typing import Any

from harness.cli.common import EXIT_CLEAN, CliError

TRAINABLE = ("block-corruption", "audio-artifacts")


def quick_models_dir() -> Path:
    from harness.train.blockdata import data_dir

    return data_dir().parent / "models-quick"


def cmd_train(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("torch") is None:
        raise CliError("training needs torch: pip install -e '.[train]' (the CPU build, torch==2.13.0)")
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise CliError("--device cuda: this torch build sees no CUDA device; use --device cpu")
    out = Path(args.models_dir) if args.models_dir else (quick_models_dir() if args.size == "quick" else None)
    log = lambda m: print(m, flush=True)  # noqa: E731
    if args.name == "audio-artifacts":
        from harness.train.audio import train as train_audio

        card = train_audio(args.size, args.device, out, args.seed, args.steps, log=log)
        m = card.metrics.get("held_out_test_sources", {})
        scores = f"held-out balanced accuracy {m.get('balanced_accuracy')}, recall {m.get('recall')}"
    else:
        from harness.train.block import train

        card = train(args.size, args.device, out, args.seed, args.steps, log=log)
        m = card.metrics.get("held_out_test_sources", {})
        scores = f"held-out frames v1 F1 {m.get('frames_v1', {}).get('f1')}, v2 F1 {m.get('frames_v2', {}).get('f1')}"
    print(
        f"wrote {card.file} ({card.size_bytes / 1e6:.2f} MB, sha256 {card.sha256[:12]}) "
        f"in {card.training.time_s:.0f} s; {scores}"
    )
    return EXIT_CLEAN


def register(subparsers: Any) -> None:
    """Add `vqa train` to the CLI."""
    p = subparsers.add_parser("train", help="train a model and export it to ONNX with its card")
    p.add_argument("name", choices=TRAINABLE, help="the model to train")
    p.add_argument(
        "--size", choices=("quick", "full"), default="full", help="quick: minutes, for tests; full: what ships"
    )
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=None, help="optimiser steps (default by size)")
    p.add_argument("--models-dir", default=None, metavar="DIR", help="where the ONNX and its card go")
    p.set_defaults(func=cmd_train)
