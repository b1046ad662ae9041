"""Detector benchmark (`vqa bench detect`): every registered detector and FFmpeg's filters on the
same labelled clips (`harness.bench.dataset`), scored with `harness.bench.metrics`.

A detector is responsible for the defects whose truth type is the event type it reports (its
name): black -> black_frames, freeze -> frozen_video, audio_dropout -> audio_dropout. FFmpeg
baselines run with the settings below, chosen so that only the decision rule differs from ours
(the minimum durations are ours, not FFmpeg's scene-finding 2 s defaults):

| baseline | filter | scored as |
| --- | --- | --- |
| ffmpeg blackdetect | blackdetect=d=0.1 (pix_th 0.10, ratio 0.98 defaults) | black_frames |
| ffmpeg freezedetect | freezedetect=d=0.5 (noise -60 dB default) | frozen_video |
| ffmpeg silencedetect | silencedetect=d=0.1 (noise -60 dB default) | audio_dropout |
| ffmpeg blockdetect | blockdetect score > 2.0 for >= 0.1 s | block_corruption |
| ffmpeg mpdecimate | mpdecimate + showinfo: a run of dropped near-duplicates < 0.5 s | stutter |

silencedetect keeps FFmpeg's own -60 dB, to show what its default does on quiet programme (ours
is -70 dBFS). blockdetect has no event output: a frame counts when its per-frame score exceeds
2.0 (clean 360p footage scores 1.0-1.5); it is 5x slower than the others, so it runs on the clean
and block-damaged clips only and has no other-defect count.

Block corruption is also scored frame by frame: a frame of a block-damaged clip is corrupted when
at least 1 % of its 16x16 cells (at the model's 360 rows) are visibly damaged against the clean
clip (`harness.impairments.blocks.damage_labels`, the rule that labels the training data), clean
when none is, and left out in between; every frame of a clean clip is clean.

Each system runs alone on each clip (ours: one decode of the stream it needs), so its throughput
includes its own decode. Clips are spread over worker processes, one clip per process at a time.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.bench.dataset import CLEAN, ClipRow
from harness.bench.metrics import Span, Tally, cell, severity_cell
from harness.detectors import REGISTRY, create
from harness.events import EVENT_TYPES
from harness.impairments import IMPAIRMENTS
from harness.media import AudioBlock, Frame, MediaReader

# blockdetect costs ~5x our detectors; it runs on clean and block-damaged clips only.
SKIP_OTHER = {"ffmpeg blockdetect"}
BLOCK_SCORE_THRESHOLD = 2.0
BLOCK_MIN_S = 0.1

# baseline name -> (event type it is scored as, ffmpeg arguments)
BASELINES: dict[str, tuple[str, list[str]]] = {
    "ffmpeg blackdetect": ("black_frames", ["-an", "-vf", "blackdetect=d=0.1"]),
    "ffmpeg freezedetect": ("frozen_video", ["-an", "-vf", "freezedetect=d=0.5"]),
    "ffmpeg silencedetect": ("audio_dropout", ["-vn", "-af", "silencedetect=d=0.1"]),
    "ffmpeg blockdetect": ("block_corruption", ["-an", "-vf", "blockdetect,metadata=mode=print:file=-"]),
    "ffmpeg mpdecimate": ("stutter", ["-an", "-vf", "mpdecimate,showinfo"]),
}
HOLD_MAX_S = 0.5  # mpdecimate's longer runs of duplicates are freezes or still shots, not stutter


def _has_filter(name: str) -> bool:
    exe = shutil.which("ffmpeg")
    if exe is None:
        return False
    out = subprocess.run([exe, "-hide_banner", "-filters"], capture_output=True, text=True).stdout
    return re.search(rf"\s{name}\s", out) is not None


def available_baselines() -> list[str]:
    """The baselines this machine's FFmpeg can run (blockdetect arrived in FFmpeg 5.0)."""
    return [b for b in BASELINES if _has_filter(BASELINES[b][1][-1].split("=")[0].split(",")[0])]


FRAME_SCORED = "block_corruption"  # the event type scored frame by frame as well


def frame_truth(clean: Path, impaired: Path) -> np.ndarray:
    """Per frame of an impaired clip: 1 visibly block-corrupted, 0 clean, 255 neither."""
    from harness.detectors.block import CELL, model_input
    from harness.impairments.blocks import damage_labels, frame_label

    out = []
    a_frames = MediaReader(clean).read(video=True, audio=False)
    b_frames = MediaReader(impaired).read(video=True, audio=False)
    for a, b in zip(a_frames, b_frames, strict=False):
        assert isinstance(a, Frame) and isinstance(b, Frame)
        out.append(frame_label(damage_labels(model_input(a.luma), model_input(b.luma), CELL)))
    return np.asarray(out, np.uint8)


def run_detector(path: Path, name: str, params: dict[str, Any] | None = None) -> tuple[list[Span], float]:
    """Events (start, end) of one detector on one file and the media seconds it read."""
    events, duration, _ = run_detector_frames(path, name, params)
    return events, duration


def run_detector_frames(
    path: Path, name: str, params: dict[str, Any] | None = None
) -> tuple[list[Span], float, np.ndarray | None]:
    """As `run_detector`, plus the per-frame decisions of a detector that has them (else None)."""
    det = create(name, params)
    reader = MediaReader(path)
    last = 0.0
    for item in reader.read(video=det.consumes == "video", audio=det.consumes == "audio"):
        if isinstance(item, Frame):
            det.feed_video(item)
            last = item.pts_s
        elif isinstance(item, AudioBlock):
            det.feed_audio(item)
            last = item.start_s + len(item.samples) / item.samplerate
    events = [(e.start_s, e.end_s) for e in det.finish() if e.type == name]
    decide = getattr(det, "frame_decisions", None)
    flags = decide()[1] if decide is not None else None
    return events, max(last, reader.info.duration_s or 0.0), flags


def _pairs(log: str, start: str, end: str, duration_s: float) -> list[Span]:
    starts = [float(x) for x in re.findall(rf"{start}: ?(-?[\d.]+)", log)]
    ends = [float(x) for x in re.findall(rf"{end}: ?(-?[\d.]+)", log)]
    ends += [duration_s] * (len(starts) - len(ends))  # an event still open at the end of the file
    return list(zip(starts, ends, strict=True))


def _block_scores(out: str) -> tuple[list[float], list[float]]:
    times = [float(t) for t in re.findall(r"pts_time:(-?[\d.]+)", out)]
    scores = [float(s) for s in re.findall(r"lavfi\.block=([\d.]+)", out)]
    return times, scores


def _block_events(out: str, fps: float) -> list[Span]:
    times, scores = _block_scores(out)
    events: list[Span] = []
    start: float | None = None
    for t, s in zip(times + [times[-1] + 1 / fps if times else 0.0], scores + [0.0], strict=False):
        if s > BLOCK_SCORE_THRESHOLD and start is None:
            start = t
        elif s <= BLOCK_SCORE_THRESHOLD and start is not None:
            if t - start >= BLOCK_MIN_S - 1e-6:
                events.append((start, t))
            start = None
    return events


def run_baseline(path: Path, name: str, duration_s: float, fps: float) -> list[Span]:
    """Events of one FFmpeg baseline on one file, parsed from its log (or printed metadata)."""
    return run_baseline_frames(path, name, duration_s, fps)[0]


def run_baseline_frames(path: Path, name: str, duration_s: float, fps: float) -> tuple[list[Span], np.ndarray | None]:
    """As `run_baseline`, plus per-frame decisions where the filter has them (blockdetect)."""
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise RuntimeError("ffmpeg is not on PATH (Debian: apt-get install ffmpeg)")
    cmd = [exe, "-hide_banner", "-nostats", "-i", str(path), *BASELINES[name][1], "-f", "null", "-"]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    if name == "ffmpeg blackdetect":
        return _pairs(r.stderr, "black_start", "black_end", duration_s), None
    if name == "ffmpeg freezedetect":
        return _pairs(r.stderr, "freeze_start", "freeze_end", duration_s), None
    if name == "ffmpeg silencedetect":
        return _pairs(r.stderr, "silence_start", "silence_end", duration_s), None
    if name == "ffmpeg mpdecimate":
        return _decimate_events(r.stderr, fps), None
    return _block_events(r.stdout, fps), np.asarray(_block_scores(r.stdout)[1]) > BLOCK_SCORE_THRESHOLD


def _decimate_events(log: str, fps: float) -> list[Span]:
    """Holds from the frames mpdecimate kept (showinfo prints those only): a gap of more than one
    frame between two kept frames is a run of dropped near-duplicates, [first dropped, next kept)."""
    kept = [float(x) for x in re.findall(r"pts_time:(-?[\d.]+)", log)]
    step = 1.0 / fps
    out: list[Span] = []
    for a, b in zip(kept, kept[1:], strict=False):
        if b - a > 1.5 * step and b - a - step < HOLD_MAX_S:
            out.append((a + step, b))
    return out


@dataclass
class ClipRun:
    row: ClipRow
    duration_s: float
    results: dict[str, tuple[list[Span], float]]  # system -> (events, wall seconds)
    frames: dict[str, np.ndarray] = field(default_factory=dict)  # system -> per-frame decisions
    frame_truth: np.ndarray | None = None  # block-corruption frame truth (1 / 0 / 255), where scored


def _run_clip(
    row: ClipRow, root: str, detectors: list[str], baselines: list[str], params: dict[str, dict[str, Any]], fps: float
) -> ClipRun:
    path = Path(root) / row.path
    results: dict[str, tuple[list[Span], float]] = {}
    frames: dict[str, np.ndarray] = {}
    duration = 0.0
    for name in detectors:
        t = time.perf_counter()
        events, duration, flags = run_detector_frames(path, name, params.get(name))
        results[name] = (events, time.perf_counter() - t)
        if flags is not None:
            frames[name] = flags
    for name in baselines:
        other = row.defect != CLEAN and IMPAIRMENTS[row.defect].event_type != event_type_of(name)
        if name in SKIP_OTHER and other:
            continue
        t = time.perf_counter()
        events, flags = run_baseline_frames(path, name, duration, fps)
        results[name] = (events, time.perf_counter() - t)
        if flags is not None:
            frames[name] = flags
    truth = None
    if row.defect == CLEAN:
        truth = np.zeros(max((len(f) for f in frames.values()), default=0), np.uint8)
    elif IMPAIRMENTS[row.defect].event_type == FRAME_SCORED and frames:
        truth = frame_truth(Path(root) / "clean" / f"{row.source}.mp4", path)
    return ClipRun(row, duration, results, frames, truth)


def _frame_cell(r: dict[str, Any]) -> str:
    if r.get("frame_f1") is None:
        return "-"
    return f"{r['frame_precision']:.2f} / {r['frame_recall']:.2f} / {r['frame_f1']:.2f}"


def event_type_of(system: str) -> str:
    return BASELINES[system][0] if system in BASELINES else system


@dataclass
class BenchResult:
    systems: dict[str, dict[str, Any]]
    clips: int
    wall_s: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"clips": self.clips, "wall_s": round(self.wall_s, 1), "systems": self.systems, "notes": self.notes}

    def table(self) -> str:
        """Markdown: one row per system, ours next to the FFmpeg baseline scored as the same type."""
        head = (
            "| system | scored as | truths | recall | recall @ severity | precision | false alarms / clean h |"
            " other-defect alarms / h | frame P / R / F1 | start err med / p95 s | end err med / p95 s | media s / s |"
        )
        out = [head, "|" + " --- |" * 2 + " ---: |" * 10]
        order = sorted(self.systems, key=lambda s: (event_type_of(s), s.startswith("ffmpeg"), s))
        for s in order:
            r = self.systems[s]
            out.append(
                f"| {s} | {event_type_of(s)} | {r['truths']} | {cell(r['recall'])} |"
                f" {severity_cell(r['recall_by_severity'])} | {cell(r['precision'])} |"
                f" {r['false_alarms_per_clean_hour']:.0f} ({r['false_alarms_clean']}) |"
                f" {r['other_defect_alarms_per_hour']:.0f} |"
                f" {_frame_cell(r)} |"
                f" {cell(r['start_err_median_s'])} / {cell(r['start_err_p95_s'])} |"
                f" {cell(r['end_err_median_s'])} / {cell(r['end_err_p95_s'])} | {cell(r['media_s_per_s'], '{:.0f}')} |"
            )
        return "\n".join(out)


def run_bench(
    rows: list[ClipRow],
    root: Path,
    params: dict[str, dict[str, Any]] | None = None,
    detectors: list[str] | None = None,
    baselines: list[str] | None = None,
    fps: float = 25.0,
    jobs: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> BenchResult:
    """Run every system on every clip of `rows` (paths relative to `root`) and score them."""
    t0 = time.perf_counter()
    # detectors named after the one event type they report; the multi-type ones (audio_artifacts)
    # have their own benchmark (`vqa bench artifacts`)
    dets = list(detectors if detectors is not None else [d for d in sorted(REGISTRY) if d in EVENT_TYPES])
    bases = list(baselines if baselines is not None else available_baselines())
    tallies = {s: Tally() for s in dets + bases}
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_run_clip, r, str(root), dets, bases, params or {}, fps) for r in rows]
        for done, fut in enumerate(futures, 1):
            run = fut.result()
            for system, (events, wall) in run.results.items():  # absent: a baseline that skipped the clip
                etype = event_type_of(system)
                row = run.row
                if row.defect == CLEAN:
                    kind = "clean"
                elif IMPAIRMENTS[row.defect].event_type == etype:
                    kind = "own"
                else:
                    kind = "other"
                truths = [(t["start_s"], t["end_s"]) for t in row.truth if t["type"] == etype]
                tally = tallies[system]
                tally.add(kind, truths, events, run.duration_s, row.severity, row.source)
                tally.media_s += run.duration_s
                tally.wall_s += wall
                if system in run.frames and run.frame_truth is not None and kind != "other":
                    tally.add_frames(run.frame_truth, run.frames[system])
            if progress:
                progress(done, len(rows))
    notes = [
        "matching: overlap with 0.1 s tolerance, one-to-one; precision over own-defect and clean clips",
        f"{len(rows)} clips, {sum(1 for r in rows if r.defect == CLEAN)} clean, {jobs} worker process(es)",
    ]
    return BenchResult({s: t.summary() for s, t in tallies.items()}, len(rows), time.perf_counter() - t0, notes)
