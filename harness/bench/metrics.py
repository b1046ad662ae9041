"""Event matching and the benchmark's metrics, on plain (start_s, end_s) lists.

Matching rule: a detected event matches a truth window when the two overlap once the truth is
widened by `tol_s` (0.1 s) on each side, i.e. IoU > 0 with 0.1 s of slack for a detector that
reports a frame or a window late. Matching is one-to-one, greedy by overlap: a truth is found at
most once and a second event on the same truth (a defect split in two) counts as a false alarm.

Per system (one of our detectors or an FFmpeg baseline):
- recall: matched truths / truths of the defects it is responsible for (also per severity);
- precision: matched events / all events on those impaired clips and on the clean clips;
- false alarms per hour of clean content: events on clean clips (hard negatives included) per
  hour of clean clips;
- other-defect alarms per hour: events on clips impaired with a defect it is not responsible for
  (a freeze detector firing on a stutter is reported here, not hidden, but is not a clean error);
- start/end error: |event start - truth start|, |event end - truth end| of matched pairs, median
  and 95th percentile;
- throughput: seconds of media per wall second (decode included).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field

Span = tuple[float, float]
TOLERANCE_S = 0.1


def match(truths: list[Span], events: list[Span], tol_s: float = TOLERANCE_S) -> list[tuple[int, int]]:
    """One-to-one (truth index, event index) pairs whose spans overlap with `tol_s` slack."""
    cands = []
    for i, (ts, te) in enumerate(truths):
        for j, (es, ee) in enumerate(events):
            ov = min(te + tol_s, ee) - max(ts - tol_s, es)
            if ov > 0:
                cands.append((ov, i, j))
    pairs, used_t, used_e = [], set(), set()
    for _, i, j in sorted(cands, key=lambda c: (-c[0], c[1], c[2])):
        if i not in used_t and j not in used_e:
            pairs.append((i, j))
            used_t.add(i)
            used_e.add(j)
    return sorted(pairs)


@dataclass
class Tally:
    """Counts and errors accumulated over clips for one system."""

    truths: int = 0
    matched: int = 0
    false_own: int = 0
    false_clean: int = 0
    other_alarms: int = 0
    clean_s: float = 0.0
    other_s: float = 0.0
    media_s: float = 0.0
    wall_s: float = 0.0
    by_severity: dict[float, list[int]] = field(default_factory=dict)  # severity -> [matched, truths]
    start_err: list[float] = field(default_factory=list)
    end_err: list[float] = field(default_factory=list)
    clean_alarms: list[str] = field(default_factory=list)  # "source start-end", for reading the misses
    frames: list[int] = field(default_factory=lambda: [0, 0, 0])  # frame-level [tp, fp, fn] where scored

    def add(
        self,
        kind: str,
        truths: list[Span],
        events: list[Span],
        duration_s: float,
        severity: float = 0.0,
        where: str = "",
    ) -> None:
        """One clip: kind "own" (a defect this system is responsible for), "clean" or "other"."""
        if kind == "clean":
            self.false_clean += len(events)
            self.clean_s += duration_s
            self.clean_alarms += [f"{where} {s:.2f}-{e:.2f}" for s, e in events]
        elif kind == "other":
            self.other_alarms += len(events)
            self.other_s += duration_s
        else:
            pairs = match(truths, events)
            self.truths += len(truths)
            self.matched += len(pairs)
            self.false_own += len(events) - len(pairs)
            sev = self.by_severity.setdefault(round(severity, 2), [0, 0])
            sev[0] += len(pairs)
            sev[1] += len(truths)
            for i, j in pairs:
                self.start_err.append(abs(events[j][0] - truths[i][0]))
                self.end_err.append(abs(events[j][1] - truths[i][1]))

    def add_frames(self, truth: np.ndarray, flagged: np.ndarray) -> None:
        """Frame-level counts of one clip: truth 1 corrupted, 0 clean, 255 neither (left out)."""
        n = min(len(truth), len(flagged))
        t, f = np.asarray(truth[:n]), np.asarray(flagged[:n], bool)
        keep = t != 255
        t, f = t[keep] == 1, f[keep]
        self.frames[0] += int(np.sum(t & f))
        self.frames[1] += int(np.sum(~t & f))
        self.frames[2] += int(np.sum(t & ~f))

    def frame_scores(self) -> dict[str, float | None]:
        tp, fp, fn = self.frames
        if tp + fp + fn == 0:
            return {"frame_precision": None, "frame_recall": None, "frame_f1": None}
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        return {
            "frame_precision": round(p, 4),
            "frame_recall": round(r, 4),
            "frame_f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
        }

    def summary(self) -> dict[str, Any]:
        detected = self.matched + self.false_own + self.false_clean

        def q(xs: list[float], p: float) -> float | None:
            return round(float(np.percentile(xs, p)), 3) if xs else None

        return {
            "truths": self.truths,
            "matched": self.matched,
            "recall": round(self.matched / self.truths, 4) if self.truths else None,
            "recall_by_severity": {f"{k:.2f}": round(m / n, 4) for k, (m, n) in sorted(self.by_severity.items()) if n},
            "precision": round(self.matched / detected, 4) if detected else 1.0,
            "false_alarms_clean": self.false_clean,
            "false_alarms_clean_at": self.clean_alarms,
            "clean_hours": round(self.clean_s / 3600, 5),
            "false_alarms_per_clean_hour": round(self.false_clean / (self.clean_s / 3600), 1) if self.clean_s else 0.0,
            "other_defect_alarms": self.other_alarms,
            "other_defect_alarms_per_hour": round(self.other_alarms / (self.other_s / 3600), 1)
            if self.other_s
            else 0.0,
            "start_err_median_s": q(self.start_err, 50),
            "start_err_p95_s": q(self.start_err, 95),
            "end_err_median_s": q(self.end_err, 50),
            "end_err_p95_s": q(self.end_err, 95),
            "media_s": round(self.media_s, 2),
            "wall_s": round(self.wall_s, 3),
            "media_s_per_s": round(self.media_s / self.wall_s, 1) if self.wall_s else None,
            **self.frame_scores(),
            "frames_tp_fp_fn": list(self.frames),
        }


# --- tables ----------------------------------------------------------------------------------


def cell(x: Any, fmt: str = "{:.2f}") -> str:
    """A markdown table cell: "-" for a value not measured."""
    return "-" if x is None else fmt.format(x)


def severity_cell(recall_by_severity: dict[str, float]) -> str:
    """Recall per severity, "0.93 / 1.00 / 1.00", in severity order."""
    return " / ".join(f"{v:.2f}" for v in recall_by_severity.values()) or "-"


# --- regression floors ---------------------------------------------------------------------


class Floor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_recall: float = Field(ge=0, le=1)
    min_precision: float = Field(ge=0, le=1)
    max_false_alarms_per_clean_hour: float = Field(ge=0)
    min_frame_f1: float | None = Field(None, ge=0, le=1, description="frame-level F1, for detectors scored per frame")


class MeasureFloor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_recall: float = Field(ge=0, le=1)
    min_exact: float = Field(ge=0, le=1)
    max_clean_false_alarms: int = Field(ge=0)


class Floors(BaseModel):
    """`reference_content/bench_floors.yaml`: per detector (and per frame-code measurement), what
    `--check` holds the quick run to."""

    model_config = ConfigDict(extra="forbid")
    measured_with: str = ""
    detectors: dict[str, Floor]
    measurements: dict[str, MeasureFloor] = Field(default_factory=dict)


def load_floors(path: Any) -> Floors:
    from pathlib import Path

    return Floors.model_validate(yaml.safe_load(Path(path).read_text()))


def check_floors(
    results: dict[str, dict[str, Any]], floors: Floors, measurements: dict[str, dict[str, Any]] | None = None
) -> list[str]:
    """One line per broken floor: detector (or measurement), metric, measured value and the floor.
    Measurement floors are checked when `measurements` is given (the frame-code part ran)."""
    broken = []
    for name, m in floors.measurements.items() if measurements is not None else ():
        r = (measurements or {}).get(name)
        if r is None:
            broken.append(f"frame-code {name}: not measured (floor file names it, the run did not)")
            continue
        for key, floor in (("recall", m.min_recall), ("exact", m.min_exact)):
            value = r[key] if r[key] is not None else 0.0
            if value < floor:
                broken.append(f"frame-code {name}: {key} {value:.3f} < floor {floor:.3f}")
        if r["clean_false_alarms"] > m.max_clean_false_alarms:
            fa = r["clean_false_alarms"]
            broken.append(f"frame-code {name}: clean_false_alarms {fa} > floor {m.max_clean_false_alarms}")
    for name, f in floors.detectors.items():
        r = results.get(name)
        if r is None:
            broken.append(f"{name}: not measured (floor file names it, the run did not)")
            continue
        recall = r["recall"] if r["recall"] is not None else 0.0
        if recall < f.min_recall:
            broken.append(f"{name}: recall {recall:.3f} < floor {f.min_recall:.3f}")
        if r["precision"] < f.min_precision:
            broken.append(f"{name}: precision {r['precision']:.3f} < floor {f.min_precision:.3f}")
        fa = r["false_alarms_per_clean_hour"]
        if fa > f.max_false_alarms_per_clean_hour:
            broken.append(
                f"{name}: false_alarms_per_clean_hour {fa:.1f} > floor {f.max_false_alarms_per_clean_hour:.1f}"
            )
        if f.min_frame_f1 is not None:
            f1 = r.get("frame_f1") or 0.0
            if f1 < f.min_frame_f1:
                broken.append(f"{name}: frame_f1 {f1:.3f} < floor {f.min_frame_f1:.3f}")
    return broken
