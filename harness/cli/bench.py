"""`vqa dataset build` and `vqa bench`: the labelled dataset, the detector benchmark, the speed benchmarks.

vqa dataset build [--recipe PATH] [--out DIR] [--quick] [--jobs N]
vqa bench speed [--file MEDIA] [--seconds N] [--json OUT]
vqa bench reference [--title ID] [--json OUT]
vqa bench detect [--quick] [--recipe PATH] [--json OUT] [--floors PATH] [--check] [--jobs N]
vqa bench pauses [--recipe PATH] [--json OUT]
vqa bench artifacts [--segments N] [--clean-seconds S] [--clips N] [--json OUT]
vqa bench soak [--minutes N] [--device NAME] [--title ID] [--chunk S] [--json OUT]

`bench detect --check` exits 1 with one line per broken floor (detector, metric, value, floor);
bad input (recipe or floors file) exits 2 with one line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.cli.common import EXIT_CLEAN, EXIT_DEFECTS, CliError, progress_bar

FLOORS_PATH = Path(__file__).resolve().parents[2] / "reference_content" / "bench_floors.yaml"


def _recipe(path: str | None) -> Any:
    from harness.bench.sources import load_recipe

    try:
        return load_recipe(Path(path) if path else None)
    except (OSError, ValidationError, ValueError) as e:
        raise CliError(
            f"bad bench recipe {path or 'reference_content/bench_recipe.yaml'}: {e}".splitlines()[0]
        ) from None


def _selection(args: argparse.Namespace) -> tuple[list[str] | None, Any]:
    """`--only` detectors and `--group`: the detectors to run and a row filter (None: everything)."""
    from harness.detectors import REGISTRY
    from harness.impairments import IMPAIRMENTS

    only = [x.strip() for x in args.only.split(",")] if getattr(args, "only", None) else None
    for name in only or []:
        if name not in REGISTRY:
            raise CliError(f"--only {name}: unknown detector; known: {', '.join(sorted(REGISTRY))}")
    group = getattr(args, "group", None)
    if only is None and group is None:
        return None, None

    def keep(r: Any) -> bool:
        if group is not None and r.group != group:
            return False
        return only is None or r.defect == "none" or IMPAIRMENTS[r.defect].event_type in only

    return only, keep


def _build(args: argparse.Namespace, recipe: Any, select: Any = None) -> tuple[Path, list[Any], float]:
    from harness.bench.dataset import build_dataset

    t0 = time.perf_counter()
    with progress_bar(sys.stderr.isatty()) as prog:
        task = prog.add_task("building the dataset", total=1.0)

        def step(i: int, n: int) -> None:
            prog.update(task, completed=i / n, description=f"building the dataset ({i}/{n} clips)")

        try:
            manifest, rows = build_dataset(
                recipe, Path(args.out) if getattr(args, "out", None) else None, args.quick, args.jobs, step, select
            )
        except RuntimeError as e:  # a missing tool (espeak-ng, ffmpeg, scikit-video), said in one line
            raise CliError(str(e)) from None
    return manifest, rows, time.perf_counter() - t0


def cmd_dataset_build(args: argparse.Namespace) -> int:
    recipe = _recipe(args.recipe)
    manifest, rows, wall = _build(args, recipe)
    clean = sum(1 for r in rows if r.defect == "none")
    print(f"{len(rows)} clips ({clean} clean, {len(rows) - clean} impaired) in {wall:.0f} s")
    print(f"manifest: {manifest}")
    return EXIT_CLEAN


def cmd_bench_detect(args: argparse.Namespace) -> int:
    from harness.bench.detect import run_bench
    from harness.bench.measure import run_measure_bench
    from harness.bench.metrics import check_floors, load_floors
    from harness.reference.titles import TitleError

    floors = None
    if args.check:
        try:
            floors = load_floors(args.floors or FLOORS_PATH)
        except (OSError, ValidationError, ValueError) as e:
            raise CliError(f"bad floors file {args.floors or FLOORS_PATH}: {e}".splitlines()[0]) from None
    from harness.bench.detect import BASELINES, available_baselines
    from harness.bench.measure import MeasureResult

    recipe = _recipe(args.recipe)
    only, select = _selection(args)
    manifest, rows, build_s = _build(args, recipe, select)
    bases = [b for b in available_baselines() if only is None or BASELINES[b][0] in only]
    with progress_bar(sys.stderr.isatty()) as prog:
        task = prog.add_task("running detectors and FFmpeg baselines", total=1.0)

        def step(i: int, n: int) -> None:
            prog.update(task, completed=i / n)

        result = run_bench(
            rows,
            manifest.parent,
            detectors=only,
            baselines=bases,
            fps=recipe.clip.fps,
            jobs=args.jobs or 2,
            progress=step,
        )
        if only is not None:  # a targeted run: the frame-code part is not the detectors asked for
            measured = MeasureResult(rows={}, clips=0, wall_s=0.0)
        else:
            task = prog.add_task("frame-code measurements on impaired reference titles", total=1.0)

            def mstep(i: int, n: int) -> None:
                prog.update(task, completed=i / n)

            try:
                measured = run_measure_bench(recipe, args.quick, jobs=args.jobs or 2, progress=mstep)
            except (TitleError, ValueError) as e:
                raise CliError(f"frame-code benchmark: {e}".splitlines()[0]) from None
    result.notes.append(f"dataset build {build_s:.0f} s (cached clips are reused), benchmark {result.wall_s:.0f} s")
    result.notes.append(f"frame-code measurements: {measured.clips} clips, {measured.wall_s:.0f} s (builds included)")
    print(result.table())
    print()
    print(measured.table())
    print()
    for n in result.notes:
        print(f"- {n}")
    if args.json:
        doc = {
            "quick": args.quick,
            "recipe_digest": recipe.digest(),
            "build_s": round(build_s, 1),
            **result.to_dict(),
            "frame_code": measured.to_dict(),
        }
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
    if floors is not None:
        if only is not None:  # a targeted run answers for its own detectors only
            floors = floors.model_copy(
                update={"detectors": {k: v for k, v in floors.detectors.items() if k in only}, "measurements": {}}
            )
        broken = check_floors(result.systems, floors, measured.rows if only is None else None)
        for line in broken:
            print(f"floor broken: {line}", file=sys.stderr)
        if broken:
            return EXIT_DEFECTS
        print(f"all floors in {args.floors or FLOORS_PATH} hold")
    return EXIT_CLEAN


def cmd_bench_reference(args: argparse.Namespace) -> int:
    from harness.bench.speed import run_reference

    report = run_reference(args.title)
    print(report.table())
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return EXIT_CLEAN


def cmd_bench_pauses(args: argparse.Namespace) -> int:
    from harness.bench.pauses import run_pauses, summary, table

    rows = run_pauses(_recipe(args.recipe))
    summ = summary(rows)
    print(table(summ))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summ, "rows": [r.__dict__ for r in rows]}, indent=2) + "\n")
    return EXIT_CLEAN


def cmd_bench_artifacts(args: argparse.Namespace) -> int:
    from harness.train.audiobench import run_artifacts, table

    rep = run_artifacts(clean_s=args.clean_seconds, window_segments=args.segments, event_clips=args.clips)
    print(table(rep))
    if args.json:
        Path(args.json).write_text(json.dumps(rep.to_dict(), indent=2) + "\n")
    return EXIT_CLEAN


def cmd_bench_captions(args: argparse.Namespace) -> int:
    from harness.bench.captions import run, table

    rep = run(quick=args.quick, clips=args.clips, seed=args.seed)
    print(table(rep["summary"]))
    if args.json:
        Path(args.json).write_text(json.dumps(rep, indent=2, default=str) + "\n")
    return EXIT_CLEAN


def cmd_bench_speed(args: argparse.Namespace) -> int:
    from harness.bench.speed import run

    report = run(Path(args.file) if args.file else None, seconds=args.seconds)
    print(report.table())
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return EXIT_CLEAN


def cmd_bench_soak(args: argparse.Namespace) -> int:
    from harness.bench.soak import run_soak
    from harness.config import InventoryError

    if args.minutes <= 0:
        raise CliError("--minutes must be more than 0")
    if args.long_file:
        from harness.bench.soak import run_long_analysis

        long = run_long_analysis(args.minutes)
        print(long.table())
        if args.json:
            Path(args.json).write_text(json.dumps(long.to_dict(), indent=2) + "\n")
        return EXIT_DEFECTS if long.rss_growth_mb >= 50 else EXIT_CLEAN
    try:
        report = run_soak(args.minutes, args.device, args.title, chunk_s=args.chunk, inventory=args.inventory)
    except InventoryError as e:
        raise CliError(str(e)) from None
    print(report.table())
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return EXIT_DEFECTS if report.leaks() or report.defects else EXIT_CLEAN


def register(subparsers: Any) -> None:
    """Add `vqa dataset build` and `vqa bench speed|reference|detect`."""
    d = subparsers.add_parser("dataset", help="the labelled clip dataset of the detector benchmark")
    ds = d.add_subparsers(dest="dataset_command", required=True)
    b = ds.add_parser("build", help="render clean clips and every impairment at each severity, write manifest.json")
    b.add_argument("--recipe", help="bench recipe YAML (default: reference_content/bench_recipe.yaml)")
    b.add_argument("--out", help="output folder (default: reference_content/media/bench/<recipe digest>)")
    b.add_argument("--quick", action="store_true", help="the quick subset: fewer sources and severities")
    b.add_argument("--jobs", type=int, help="worker processes (default: CPU count, at most 4)")
    b.set_defaults(func=cmd_dataset_build)

    b = subparsers.add_parser("bench", help="benchmarks")
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
    p = bs.add_parser("detect", help="detector recall/precision/false alarms vs FFmpeg filters on the dataset")
    p.add_argument("--quick", action="store_true", help="the quick subset (under 10 min on 2 cores from scratch)")
    p.add_argument("--recipe", help="bench recipe YAML (default: reference_content/bench_recipe.yaml)")
    p.add_argument("--json", metavar="OUT", help="write the results as JSON")
    p.add_argument(
        "--floors", metavar="PATH", help="floors YAML for --check (default: reference_content/bench_floors.yaml)"
    )
    p.add_argument("--check", action="store_true", help="exit 1 when a detector falls below its floors")
    p.add_argument("--jobs", type=int, help="worker processes (default: 2)")
    p.add_argument(
        "--only",
        metavar="DETECTORS",
        help="comma-separated detectors: only them, their baselines, their defects and the clean clips",
    )
    p.add_argument(
        "--group", choices=("train", "test"), help="only the sources of one group (models are scored on test)"
    )
    p.set_defaults(func=cmd_bench_detect, out=None)
    pa = bs.add_parser(
        "pauses", help="audio_dropout on gated speech, recorded voice and music with rests: false alarms, cuts found"
    )
    pa.add_argument("--recipe", help="bench recipe YAML (default: reference_content/bench_recipe.yaml)")
    pa.add_argument("--json", metavar="OUT", help="write the results as JSON")
    pa.set_defaults(func=cmd_bench_pauses)
    ar = bs.add_parser(
        "artifacts", help="audio_artifacts and its signal baseline on the test sources: windows, clean hour, events"
    )
    ar.add_argument("--segments", type=int, default=300, help="test segments scored window by window (default 300)")
    ar.add_argument(
        "--clean-seconds", type=float, default=160.0, help="clean seconds of each test source (default 160: an hour)"
    )
    ar.add_argument("--clips", type=int, default=20, help="impaired 10 s clips per class (default 20)")
    ar.add_argument("--json", metavar="OUT", help="write the results as JSON")
    ar.set_defaults(func=cmd_bench_artifacts)
    ca = bs.add_parser(
        "captions", help="caption check on captioned titles with late, early, missing, garbled and stuck cues"
    )
    ca.add_argument("--quick", action="store_true", help="one title, 3 clips of 20 s (a few minutes)")
    ca.add_argument("--clips", type=int, help="clips per title (default 9; quick 3), the first one clean")
    ca.add_argument("--seed", type=int, default=0, help="which cues are faulted and how (default 0)")
    ca.add_argument("--json", metavar="OUT", help="write the summary and every cue's row as JSON")
    ca.set_defaults(func=cmd_bench_captions)
    so = bs.add_parser("soak", help="play, record and analyse the simulated TV for N minutes; RSS, threads, files")
    so.add_argument("--minutes", type=float, default=60.0, help="how long (default 60)")
    so.add_argument("--device", default="sim-tv01", help="a simulated device from the inventory (default sim-tv01)")
    so.add_argument("--title", default="bbb-720p25", help="reference title to play (default bbb-720p25)")
    so.add_argument("--chunk", type=float, default=20.0, help="seconds per recording (default 20)")
    so.add_argument("--inventory", help="inventory YAML (default: $VQA_INVENTORY or devices/lab.yaml)")
    so.add_argument("--json", metavar="OUT", help="write the samples and the summary as JSON")
    so.add_argument(
        "--long-file", action="store_true", help="instead: analyse one synthetic capture N minutes long, sampling RSS"
    )
    so.set_defaults(func=cmd_bench_soak)
