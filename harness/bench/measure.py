"""Frame-code measurement benchmark: frame-coded titles impaired with cadence and A/V faults, measured
by `harness.measure.tracker.ReferenceTracker` exactly as a capture of the title is, and compared with the
impairment's truth.

Clips: each title of the recipe's `measure` section (`reference_content/titles.yaml`, 12 s at 360p,
25 / 30 / 23.976 fps) clean, and impaired with each of `measure.defects` at each severity
(`vqa bench detect --quick`: the quick titles and the quick severities). Cadence faults get a window
drawn like the detector dataset's; A/V faults cover the title between `av_margins_s`, so that
several sync events fall inside.

Scoring per defect:

- cadence (drop_frames, repeat_frames, stutter, freeze): the truth's `shown` map (title frame in
  each slot of the window) gives the title frames never shown and the number of extra shows. A
  clip is *detected* when the measurement reports a drop or a repeat inside the window, and
  *exact* when it reports exactly those dropped frames and exactly that many repeats there.
  `count err` is |measured - true| of dropped plus repeated frames, per clip.
- A/V (av_offset, av_drift): each sync event inside the window is a truth, expected at the
  truth's offset (constant, or growing at the drift rate from the window's start). It is
  *detected* (and exact) when the measured offset is within `AV_TOLERANCE_MS` of it; `error` is
  |measured - expected| in ms.
- false alarms: on clean titles, any dropped, repeated or out-of-order frame and any sync event
  measured more than `AV_TOLERANCE_MS` off zero; on impaired clips, drops or repeats reported
  outside the fault's window (`outside alarms`).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.bench.dataset import stable_seed
from harness.bench.metrics import cell, severity_cell
from harness.bench.sources import BenchRecipe, bench_dir
from harness.impairments import IMPAIRMENTS, impair_file, truth_path
from harness.measure.tracker import ReferenceReport, ReferenceTracker
from harness.media import AudioBlock, Frame, MediaReader
from harness.reference.titles import load_manifest

CADENCE = {"drop_frames", "repeat_frames", "stutter", "freeze"}
AV = {"av_offset", "av_drift"}
AV_TOLERANCE_MS = 5.0  # a twentieth of the BT.1359 window; the measurement is good to ~1 ms


@dataclass
class MeasureClip:
    path: str  # relative to the measure folder
    title: str
    defect: str  # "none" for the clean title
    severity: float
    seed: int = 0
    at_s: float | None = None
    duration_s: float | None = None
    truth: dict[str, Any] = field(default_factory=dict)


def plan(recipe: BenchRecipe, quick: bool = False) -> list[MeasureClip]:
    spec = recipe.measure
    if spec is None:
        return []
    titles = spec.quick_titles if quick and spec.quick_titles else spec.titles
    sevs = recipe.quick.severities if quick else recipe.severities
    rows = [MeasureClip(f"{t}/clean.mp4", t, "none", 0.0) for t in titles]
    for t in titles:
        length = float(load_manifest(t)["duration_s"])
        for defect in spec.defects:
            if defect not in IMPAIRMENTS:
                raise ValueError(f"measure.defects: unknown defect {defect!r}")
            for sev in sevs:
                rng = np.random.default_rng(stable_seed(recipe.seed, "measure", t, defect, f"{sev:.2f}"))
                if defect in AV:
                    at, dur = spec.av_margins_s[0], length - spec.av_margins_s[0] - spec.av_margins_s[1]
                else:
                    lo, hi = recipe.durations_s.get(defect, recipe.durations_s["default"])
                    dur = round(float(rng.uniform(lo, hi)), 2)
                    at = round(float(rng.uniform(recipe.margin_s, length - recipe.margin_s - dur)), 2)
                seed = int(rng.integers(0, 2**31 - 1))
                rows.append(MeasureClip(f"{t}/{defect}-s{sev:.2f}.mp4", t, defect, sev, seed, at, dur))
    return rows


def measure_dir(recipe: BenchRecipe) -> Path:
    return bench_dir(recipe) / "measure"


def _make(row: MeasureClip, root: str, title_path: str) -> MeasureClip:
    out = Path(root) / row.path
    if row.defect == "none":
        out.parent.mkdir(parents=True, exist_ok=True)
        if not out.exists():  # the title itself, copied so that the folder holds every clip measured
            shutil.copyfile(title_path, out)
        return row
    tp = truth_path(out)
    if not (out.exists() and tp.exists()):
        assert row.at_s is not None and row.duration_s is not None
        impair_file(title_path, out, row.defect, row.at_s, row.duration_s, row.severity, row.seed)
    row.truth = json.loads(tp.read_text())["truth"]
    return row


def measure_file(path: Path, title: str) -> ReferenceReport:
    man = load_manifest(title)
    tracker = ReferenceTracker(man["fps"], [e["frame"] for e in man["sync"]["events"]])
    for item in MediaReader(path).read(video=True, audio=True, fast=True):
        if isinstance(item, Frame):
            tracker.feed_video(item)
        elif isinstance(item, AudioBlock):
            tracker.feed_audio(item)
    return tracker.finish()


@dataclass
class ClipScore:
    defect: str
    severity: float
    truths: int = 0
    detected: int = 0
    exact: int = 0
    errors: list[float] = field(default_factory=list)
    outside_alarms: int = 0
    clean_alarms: int = 0
    clean_events: int = 0
    media_s: float = 0.0
    wall_s: float = 0.0


def score_clip(row: MeasureClip, rep: ReferenceReport, fps: float) -> ClipScore:
    sc = ClipScore(row.defect, row.severity)
    if row.defect == "none":
        sc.clean_alarms += len(rep.dropped) + len(rep.repeated) + len(rep.out_of_order)
        for e in rep.sync:
            sc.clean_events += 1
            if e.offset_ms is None or abs(e.offset_ms) > AV_TOLERANCE_MS:
                sc.clean_alarms += 1
        return sc
    t = row.truth
    if row.defect in CADENCE:
        shown = [int(x) for x in t["params"]["shown"]]
        a = int(round(t["start_s"] * fps))
        b = a + len(shown)
        prev, extra = a - 1, 0
        for s in shown:
            extra += s == prev
            prev = s
        never = sorted(set(range(a, b)) - set(shown))
        dropped_in = [f for f in rep.dropped if a <= f < b]
        repeated_in = [f for f in rep.repeated if a - 1 <= f < b]
        sc.outside_alarms = len(rep.dropped) - len(dropped_in) + len(rep.repeated) - len(repeated_in)
        sc.truths = 1
        sc.detected = int(bool(dropped_in or repeated_in))
        sc.exact = int(dropped_in == never and len(repeated_in) == extra)
        sc.errors.append(float(abs(len(dropped_in) - len(never)) + abs(len(repeated_in) - extra)))
        return sc
    # A/V: every sync event inside the window is a truth
    p = t["params"]
    for e in rep.sync:
        ts = e.frame / fps
        if not t["start_s"] <= ts < t["end_s"]:
            continue
        if row.defect == "av_offset":
            want = float(p["offset_ms"])
        else:
            want = float(p["drift_ms_per_min"]) * (ts - t["start_s"]) / 60.0
        sc.truths += 1
        if e.offset_ms is None:
            continue
        err = abs(e.offset_ms - want)
        sc.errors.append(err)
        ok = err <= AV_TOLERANCE_MS
        sc.detected += ok
        sc.exact += ok
    sc.outside_alarms = len(rep.dropped) + len(rep.repeated) + len(rep.out_of_order)
    return sc


def measure_clip(row: MeasureClip, root: str) -> tuple[MeasureClip, ClipScore]:
    man = load_manifest(row.title)
    t0 = time.perf_counter()
    rep = measure_file(Path(root) / row.path, row.title)
    wall = time.perf_counter() - t0
    sc = score_clip(row, rep, float(man["fps"]))
    sc.wall_s = wall
    sc.media_s = float(man["duration_s"])
    return row, sc


@dataclass
class MeasureResult:
    rows: dict[str, dict[str, Any]]
    clips: int
    wall_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"clips": self.clips, "wall_s": round(self.wall_s, 1), "measurements": self.rows}

    def table(self) -> str:
        head = (
            "| measurement of | truths | recall | recall @ severity | exact | error med / p95 | outside alarms |"
            " clean false alarms | media s / s |"
        )
        out = [head, "| --- |" + " ---: |" * 8]
        for name, r in self.rows.items():
            out.append(
                f"| {name} | {r['truths']} | {cell(r['recall'])} | {severity_cell(r['recall_by_severity'])} |"
                f" {cell(r['exact'])} |"
                f" {cell(r['error_median'], '{:.1f}')} / {cell(r['error_p95'], '{:.1f}')} {r['error_unit']} |"
                f" {r['outside_alarms']} | {r['clean_false_alarms']} of {r['clean_checks']} |"
                f" {cell(r['media_s_per_s'], '{:.0f}')} |"
            )
        return "\n".join(out)


def summarize(scores: list[ClipScore], defects: list[str]) -> dict[str, dict[str, Any]]:
    clean = [s for s in scores if s.defect == "none"]
    clean_fa = sum(s.clean_alarms for s in clean)
    # clean checks: each clean title's cadence (one check) plus each of its sync events
    clean_checks = len(clean) + sum(s.clean_events for s in clean)
    rows: dict[str, dict[str, Any]] = {}
    for d in defects:
        ss = [s for s in scores if s.defect == d]
        truths = sum(s.truths for s in ss)
        errs = [e for s in ss for e in s.errors]
        by_sev: dict[str, float] = {}
        for sev in sorted({s.severity for s in ss}):
            t = sum(s.truths for s in ss if s.severity == sev)
            if t:
                by_sev[f"{sev:.2f}"] = round(sum(s.detected for s in ss if s.severity == sev) / t, 4)
        media = sum(s.media_s for s in ss + clean)
        wall = sum(s.wall_s for s in ss + clean)
        rows[d] = {
            "truths": truths,
            "recall": round(sum(s.detected for s in ss) / truths, 4) if truths else None,
            "recall_by_severity": by_sev,
            "exact": round(sum(s.exact for s in ss) / truths, 4) if truths else None,
            "error_unit": "ms" if d in AV else "frames",
            "error_median": round(float(np.median(errs)), 2) if errs else None,
            "error_p95": round(float(np.percentile(errs, 95)), 2) if errs else None,
            "outside_alarms": sum(s.outside_alarms for s in ss),
            "clean_false_alarms": clean_fa,
            "clean_checks": clean_checks,
            "media_s_per_s": round(media / wall, 1) if wall else None,
        }
    return rows


def build_clips(
    recipe: BenchRecipe,
    quick: bool = False,
    jobs: int = 2,
    progress: Callable[[int, int], None] | None = None,
    select: Callable[[MeasureClip], bool] | None = None,
) -> tuple[Path, list[MeasureClip]]:
    """Build the measurement titles (cached) and their impaired clips; return (folder, rows).
    `select` keeps only some rows of the plan (tests use a few)."""
    from harness.reference.titles import ensure_titles

    rows = [r for r in plan(recipe, quick) if select is None or select(r)]
    root = measure_dir(recipe)
    if not rows:
        return root, []
    titles = {t.id: str(t.path) for t in ensure_titles(sorted({r.title for r in rows}), suite_only=False)}
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_make, r, str(root), titles[r.title]) for r in rows]
        done = []
        for i, f in enumerate(futures, 1):
            done.append(f.result())
            if progress:
                progress(i, len(rows))
    return root, done


def run_measure_bench(
    recipe: BenchRecipe, quick: bool = False, jobs: int = 2, progress: Callable[[int, int], None] | None = None
) -> MeasureResult:
    t0 = time.perf_counter()
    root, rows = build_clips(recipe, quick, jobs)
    scores: list[ClipScore] = []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(measure_clip, r, str(root)) for r in rows]
        for i, f in enumerate(futures, 1):
            scores.append(f.result()[1])
            if progress:
                progress(i, len(rows))
    defects = list(recipe.measure.defects) if recipe.measure else []
    return MeasureResult(summarize(scores, defects), len(rows), time.perf_counter() - t0)
