"""`vqa bench pauses`: audio_dropout on programme that pauses into silence on its own.

The recipe's clean sources tagged `gated_speech`, `music_rests` or `recorded_voice` (test group
and quick set) are rendered as sound only, through the bench's AAC clip path, twice: clean, where
every event is a false alarm, and with seeded cuts (audio_dropout at severities 0.33 / 0.66 / 1.0,
0.12-1.0 s, one every ~20 s, each placed mid-phrase: the programme sounds at its start and through
most of it), where each cut must be found. FFmpeg's silencedetect (the bench's settings) runs
beside it. Sound only: the pictures of these sources do not matter to an audio detector and
cost most of a full bench build.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.bench.detect import run_baseline, run_detector
from harness.bench.metrics import Span
from harness.bench.sound import RATE
from harness.bench.sources import BenchRecipe, SourceSpec, render_audio, write_clip
from harness.impairments.audio import audio_dropout
from harness.impairments.common import AudioClip

TAGS = ("gated_speech", "music_rests", "recorded_voice")
SYSTEMS = ("audio_dropout", "ffmpeg silencedetect")
SEVERITIES = (0.33, 0.66, 1.0)
CUT_EVERY_S = 20.0


@dataclass
class PauseRow:
    source: str
    tag: str
    seconds: float
    false_alarms: dict[str, int] = field(default_factory=dict)
    cuts: int = 0
    found: dict[str, dict[float, list[int]]] = field(default_factory=dict)  # system -> sev -> [hit, n]


def pausing_sources(recipe: BenchRecipe) -> list[tuple[str, SourceSpec]]:
    out = []
    for group, s in recipe.all_sources():
        tag = next((t for t in TAGS if t in s.hard_negative), None)
        if tag is not None and (group == "test" or s.quick):
            out.append((tag, s))
    return out


def _levels(seg: np.ndarray) -> np.ndarray:
    k = len(seg) // 480
    return 20 * np.log10(np.maximum(np.sqrt((seg[: k * 480].reshape(k, 480, -1) ** 2).mean(axis=1)).max(axis=1), 1e-6))


def _sounding(x: np.ndarray, a: int, b: int) -> bool:
    """The programme sounds (above -60 dBFS) through the 50 ms either side of `a` and through 80 %
    of [a, b): a cut mid-phrase. A cut that starts in the programme's own pause is not measured."""
    edge = _levels(x[max(0, a - RATE // 20) : a + RATE // 20])
    return bool(np.all(edge > -60) and np.mean(_levels(x[a:b]) > -60) >= 0.8)


def _cuts(x: np.ndarray, seed: int) -> tuple[np.ndarray, list[tuple[float, float, float]]]:
    """`x` with a seeded cut every ~CUT_EVERY_S where the programme sounds; (start, end, severity) each."""
    rng = np.random.default_rng(seed)
    truths: list[tuple[float, float, float]] = []
    seconds = len(x) / RATE
    for i, at0 in enumerate(np.arange(2.0, seconds - 3.0, CUT_EVERY_S)):
        sev = SEVERITIES[i % len(SEVERITIES)]
        for _ in range(50):  # a place where the programme sounds through the whole cut
            at = float(at0 + rng.uniform(0, CUT_EVERY_S - 4.0))
            dur = float(rng.uniform(0.12, 1.0))
            if at + dur < seconds - 1 and _sounding(x, int(at * RATE), int((at + dur) * RATE)):
                x = audio_dropout(AudioClip(x, RATE), at, dur, sev)[0].samples
                truths.append((at, at + dur, sev))
                break
    return x, truths


def _hit(truth: tuple[float, float, float], events: list[Span], tol: float = 0.1) -> bool:
    return any(s < truth[1] + tol and e > truth[0] - tol for s, e in events)


def _clip(path: Path, audio: np.ndarray) -> Path:
    frames = (np.zeros((16, 16, 3), np.uint8) for _ in range(int(len(audio) / RATE * 25)))
    write_clip(path, frames, audio, 25.0)
    return path


def run_pauses(recipe: BenchRecipe) -> list[PauseRow]:
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for tag, s in pausing_sources(recipe):
            seed = recipe.seed * 1000 + sum(s.id.encode())
            length = recipe.clean_length_s(s)
            x = render_audio(s.audio, s.video, recipe.clip, seed, length)
            row = PauseRow(s.id, tag, length)
            clean = _clip(Path(d) / "clean.mp4", x)
            y, truths = _cuts(x, seed)
            cut = _clip(Path(d) / "cut.mp4", y)
            row.cuts = len(truths)
            for system in SYSTEMS:
                if system == "audio_dropout":
                    ev_clean, ev_cut = (run_detector(p, system)[0] for p in (clean, cut))
                else:
                    ev_clean, ev_cut = (run_baseline(p, system, length, 25.0) for p in (clean, cut))
                row.false_alarms[system] = len(ev_clean)
                by_sev: dict[float, list[int]] = {}
                for t in truths:
                    h = by_sev.setdefault(t[2], [0, 0])
                    h[0] += int(_hit(t, ev_cut))
                    h[1] += 1
                row.found[system] = by_sev
            rows.append(row)
    return rows


def summary(rows: list[PauseRow]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for tag in (*TAGS, "all"):
        part = [r for r in rows if tag in (r.tag, "all")]
        if not part:
            continue
        secs = sum(r.seconds for r in part)
        for system in SYSTEMS:
            fa = sum(r.false_alarms[system] for r in part)
            sev = {s: [sum(r.found[system].get(s, [0, 0])[i] for r in part) for i in (0, 1)] for s in SEVERITIES}
            hit, n = sum(v[0] for v in sev.values()), sum(v[1] for v in sev.values())
            out.setdefault(tag, {})[system] = {
                "minutes": round(secs / 60, 1),
                "false_alarms": fa,
                "per_hour": round(fa * 3600 / secs, 1),
                "recall": round(hit / n, 2) if n else None,
                "recall_by_severity": {str(s): (round(v[0] / v[1], 2) if v[1] else None) for s, v in sev.items()},
                "cuts": n,
            }
    return out


def table(summ: dict[str, Any]) -> str:
    lines = [
        "| programme | system | minutes | false alarms (per hour) | recall on cuts | 0.33 / 0.66 / 1.0 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for tag, systems in summ.items():
        for system, m in systems.items():
            sev = " / ".join("-" if v is None else f"{v:.2f}" for v in m["recall_by_severity"].values())
            rec = "-" if m["recall"] is None else f"{m['recall']:.2f} of {m['cuts']}"
            lines.append(
                f"| {tag} | {system} | {m['minutes']} | {m['false_alarms']} ({m['per_hour']}) | {rec} | {sev} |"
            )
    return "\n".join(lines)
