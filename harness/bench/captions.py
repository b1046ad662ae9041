"""`vqa bench captions`: the caption check on captioned reference titles with injected caption faults.

Each clip is a suite title (its frame codes and picture) with its cues drawn by the caption
renderer as a device would, some cues faulted (`harness.impairments.captions`), encoded as a
capture card's H.264 would be (CRF 23), then analysed as a capture of that title with
`captions="reference"`. Clips cycle through renderer styles (a translucent box, a black edge, a
drop shadow; white or yellow; text 4.5-6 % of the height), so the numbers are not those of one
look. Faults go on every other cue (never two neighbours, so a stuck or shifted cue cannot hide
behind the next), their kinds cycled through `KINDS` so each comes up as often (the seed shifts
which cue gets which).

Scored per cue: a faulted cue (late or early by 250 ms or more, missing, garbled, stuck) is
found when its cue reports that problem; 80 ms (2 frames) is inside the 3-frame policy, so that
row scores the measured error only. A false alarm is any problem reported on a clean cue.
Timing error = measured start (or, for stuck, end) error minus the injected one, in ms.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from harness.analysis import analyze
from harness.config import FaultSpec
from harness.impairments.captions import schedule, truth
from harness.measure.captions import CaptionTrack, Cue
from harness.reference.captions import CaptionStyle, draw, title_cues
from harness.reference.titles import Title, ensure_titles

# (label, fault type, offset_ms, severity)
KINDS: list[tuple[str, str, float, float]] = [
    ("late 80 ms", "caption_offset", 80, 1.0),
    ("late 250 ms", "caption_offset", 250, 1.0),
    ("late 1000 ms", "caption_offset", 1000, 1.0),
    ("early 250 ms", "caption_offset", -250, 1.0),
    ("missing", "caption_missing", 0, 1.0),
    ("garbled 0.33", "caption_garbled", 0, 0.33),
    ("garbled 0.66", "caption_garbled", 0, 0.66),
    ("garbled 1.0", "caption_garbled", 0, 1.0),
    ("stuck", "caption_stuck", 0, 1.0),
]
STYLES = [
    CaptionStyle(),
    CaptionStyle(edge="outline"),
    CaptionStyle(edge="shadow", color=(255, 230, 0), text_height=0.06),
    CaptionStyle(edge="box", box_alpha=0.55, text_height=0.045),
    CaptionStyle(edge="outline", color=(255, 230, 0), text_height=0.055),
]


@dataclass
class CueRow:
    clip: str
    title: str
    style: str
    cue: int
    kind: str  # "clean" or a KINDS label
    expected: str | None  # the problem a checker must report (None: none)
    found: list[str]
    start_error_frames: int | None
    end_error_frames: int | None
    injected_start_frames: int | None
    injected_end_frames: int | None
    cer: float | None


@dataclass
class ClipResult:
    name: str
    seconds: float
    analysis_s: float
    ocr_calls: int
    rows: list[CueRow] = field(default_factory=list)


def _encode(path: Path, frames: list[np.ndarray], fps: float) -> None:
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        s.options = {"crf": "23", "preset": "veryfast"}
        for img in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def _frames(t: Title, seconds: float) -> list[np.ndarray]:
    n = int(round(seconds * t.fps))
    with av.open(str(t.path)) as c:
        return [f.to_ndarray(format="bgr24") for _, f in zip(range(n), c.decode(video=0), strict=False)]


def plan(cues: list[Cue], clip_no: int, seed: int) -> list[tuple[int, tuple[str, str, float, float]]]:
    """(cue position, kind) of the faulted cues of clip `clip_no` (0: the clean clip)."""
    if clip_no == 0:
        return []
    first = clip_no % 2
    slots = list(range(first, len(cues), 2))
    start = (seed * 5 + (clip_no - 1) * len(slots)) % len(KINDS)  # every kind as often as the others
    return [(k, KINDS[(start + i) % len(KINDS)]) for i, k in enumerate(slots)]


def run_clip(t: Title, frames: list[np.ndarray], cues: list[Cue], clip_no: int, work: Path, seed: int) -> ClipResult:
    seconds = len(frames) / t.fps
    cues = [c for c in cues if c.end_s <= seconds - 0.5]
    style = STYLES[(clip_no + seed) % len(STYLES)]
    faults: list[FaultSpec] = []
    kinds: dict[int, str] = {}
    for k, (label, ftype, off, sev) in plan(cues, clip_no, seed):
        c = cues[k]
        faults.append(
            FaultSpec(type=ftype, at_s=c.start_s, duration_s=0.01, offset_ms=off, severity=sev, seed=seed + k)  # type: ignore[arg-type]
        )
        kinds[c.index] = label
    track = CaptionTrack(schedule(cues, faults, seconds))
    shown = [draw(img, text, style) if (text := track.at(i / t.fps)) else img for i, img in enumerate(frames)]
    name = f"{t.id}-clip{clip_no}"
    path = work / f"{name}.mp4"
    _encode(path, shown, t.fps)
    t0 = time.perf_counter()
    res = analyze(path, [], reference=t.id, captions="reference")
    took = time.perf_counter() - t0
    cap = res.captions or {}
    got = {c["cue"]["index"]: c for c in cap.get("cues", [])}
    out = ClipResult(name, seconds, took, int(cap.get("ocr_calls", 0)))
    style_name = f"{style.edge}/{'white' if style.color == (255, 255, 255) else 'yellow'}/{style.text_height:g}"
    for row in truth(cues, faults, t.fps, seconds):
        g = got.get(row["cue"])
        if g is None:  # outside what the recording covers whole
            continue
        kind = kinds.get(row["cue"], "clean")
        out.rows.append(
            CueRow(
                name,
                t.id,
                style_name,
                row["cue"],
                kind,
                row["problem"] if kind != "late 80 ms" else None,
                list(g["problems"]),
                g["start_error_frames"],
                g["end_error_frames"],
                row.get("start_error_frames", 0 if row["problem"] is None or kind == "late 80 ms" else None),
                row.get("end_error_frames", 0 if row["problem"] is None or kind == "late 80 ms" else None),
                g["cer"],
            )
        )
    # the 80 ms rows: the injected error is known even though the policy passes them
    for r in out.rows:
        if r.kind == "late 80 ms":
            cue = next(x for x in cues if x.index == r.cue)
            moved = Cue(cue.index, cue.start_s + 0.08, cue.end_s + 0.08, cue.text).frames(t.fps)
            r.injected_start_frames = moved[0] - cue.frames(t.fps)[0]
            r.injected_end_frames = moved[1] - cue.frames(t.fps)[1]
    return out


def run(quick: bool = False, work: Path | None = None, seed: int = 0, clips: int | None = None) -> dict[str, Any]:
    """Every clip of every captioned suite title; a summary and the rows."""
    work = work or Path("reports") / "bench" / "captions"
    work.mkdir(parents=True, exist_ok=True)
    seconds = 20.0 if quick else 40.0
    n = clips if clips is not None else (3 if quick else 9)
    titles = [t for t in ensure_titles() if title_cues(t.id)]
    if quick:
        titles = titles[:1]
    results: list[ClipResult] = []
    for t in titles:
        frames = _frames(t, seconds)
        cues = title_cues(t.id) or []
        for k in range(n):
            results.append(run_clip(t, frames, cues, k, work, seed))
    return {
        "summary": summary(results),
        "clips": [r.__dict__ | {"rows": [x.__dict__ for x in r.rows]} for r in results],
    }


def _pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def summary(results: list[ClipResult]) -> dict[str, Any]:
    rows = [r for c in results for r in c.rows]
    fps = 25.0
    by: dict[str, dict[str, Any]] = {}
    for label in ["clean"] + [k[0] for k in KINDS]:
        rs = [r for r in rows if r.kind == label]
        if not rs:
            continue
        d: dict[str, Any] = {"cues": len(rs)}
        if label == "clean" or label == "late 80 ms":
            d["false_alarms"] = sum(bool(r.found) for r in rs)
        else:
            d["found"] = sum(r.expected in r.found for r in rs)
            d["recall"] = round(d["found"] / len(rs), 3)
        errs = []
        for r in rs:
            if r.injected_start_frames is None or r.start_error_frames is None:
                continue
            if label == "stuck":
                errs.append(abs((r.end_error_frames or 0) - (r.injected_end_frames or 0)) / fps * 1000)
            else:
                errs.append(abs(r.start_error_frames - r.injected_start_frames) / fps * 1000)
        if errs and label not in ("missing",) and not label.startswith("garbled"):
            d["timing_error_ms_median"] = statistics.median(errs)
            d["timing_error_ms_p95"] = _pct(errs, 0.95)
        by[label] = d
    clean = [r for r in rows if r.kind == "clean" and r.cer is not None]
    analysis = sum(c.analysis_s for c in results)
    return {
        "clips": len(results),
        "cues": len(rows),
        "by_kind": by,
        "clean_cer_mean": round(statistics.mean(r.cer or 0.0 for r in clean), 4) if clean else None,
        "clean_cer_max": round(max(r.cer or 0.0 for r in clean), 4) if clean else None,
        "false_alarms_on_clean_cues": sum(bool(r.found) for r in rows if r.kind == "clean"),
        "analysis_s_per_clip_s": round(analysis / max(1e-9, sum(c.seconds for c in results)), 4),
        "ocr_calls": sum(c.ocr_calls for c in results),
    }


def table(s: dict[str, Any]) -> str:
    lines = [
        f"caption benchmark: {s['clips']} clips, {s['cues']} cues judged",
        f"{'kind':<14} {'cues':>5} {'found':>6} {'recall':>7} {'FA':>4} {'timing err ms (median / p95)':>30}",
    ]
    for k, d in s["by_kind"].items():
        te = (
            f"{d['timing_error_ms_median']:.0f} / {d['timing_error_ms_p95']:.0f}"
            if d.get("timing_error_ms_median") is not None
            else "-"
        )
        lines.append(
            f"{k:<14} {d['cues']:>5} {d.get('found', '-')!s:>6} {d.get('recall', '-')!s:>7} "
            f"{d.get('false_alarms', '-')!s:>4} {te:>30}"
        )
    lines.append(
        f"clean cues: CER mean {s['clean_cer_mean']}, max {s['clean_cer_max']}; "
        f"false alarms {s['false_alarms_on_clean_cues']}; analysis {s['analysis_s_per_clip_s']:.3f} s per clip second "
        f"(captions and frame codes only), {s['ocr_calls']} OCR calls"
    )
    return "\n".join(lines)
