"""Shared pieces of the impairment library: in-memory clips, the ground truth, time windows, seeds.

Every impairment takes a clip, a window ``[at_s, at_s + duration_s)`` on the clip's own clock, a
severity in [0, 1] and a seed, and returns a new clip plus a `Truth` saying exactly what it did.
Inputs are never modified; samples and frames outside the window are returned unchanged.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from harness.events import EVENT_TYPES

AUDIO_RATE = 48000


@dataclass
class Truth:
    """What an impairment did: the event type a detector should report, where, and how.

    `type` is an id from `harness.events.EVENT_TYPES` where one fits; defects no detector reports
    yet (e.g. wrong_scaling) use their own defect name. `params` holds the measured specifics
    (counts, levels, positions) and always `defect` and `severity`.
    """

    type: str
    start_s: float
    end_s: float
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def is_event_type(self) -> bool:
        return self.type in EVENT_TYPES

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["start_s"] = round(self.start_s, 6)
        d["end_s"] = round(self.end_s, 6)
        return _jsonable(d)


def _jsonable(x: Any) -> Any:
    """numpy scalars/arrays inside params -> plain Python, so Truth serialises with json."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, np.generic):
        return _jsonable(x.item())
    if isinstance(x, float):
        return round(x, 9)
    return x


@dataclass
class VideoClip:
    """Video in memory: BGR uint8 frames (H, W, 3) at a constant `fps`; frame i is shown at i / fps."""

    frames: list[np.ndarray]
    fps: float

    def __len__(self) -> int:
        return len(self.frames)


@dataclass
class AudioClip:
    """Audio in memory: float32 samples (n, channels) at `rate` Hz; sample i plays at i / rate."""

    samples: np.ndarray
    rate: int = AUDIO_RATE


def check_severity(severity: float) -> float:
    """Severity must be a number in [0, 1]; anything else is a caller's mistake, said plainly."""
    s = float(severity)
    if not 0.0 <= s <= 1.0 or math.isnan(s):
        raise ValueError(f"severity must be in [0, 1], got {severity!r}")
    return s


def rng_for(seed: int, name: str) -> np.random.Generator:
    """A generator fixed by (seed, defect name): the same seed gives the same damage for a defect,
    and two defects with the same seed do not share their random stream."""
    key = sum((i + 1) * b for i, b in enumerate(name.encode()))
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, key])


def index_window(at_s: float, duration_s: float, rate: float, n: int) -> tuple[int, int]:
    """Indices [a, b) of the frames/samples whose time i / rate lies in [at_s, at_s + duration_s)."""
    if duration_s <= 0 or at_s < 0:
        raise ValueError(f"window must have at_s >= 0 and duration_s > 0, got at={at_s} duration={duration_s}")
    a = min(n, max(0, math.ceil(at_s * rate - 1e-6)))
    b = min(n, max(a, math.ceil((at_s + duration_s) * rate - 1e-6)))
    if b <= a:
        raise ValueError(f"window {at_s:g}+{duration_s:g} s holds no frame/sample of a {n / rate:.3f} s clip")
    return a, b


def truth(kind: str, defect: str, a: int, b: int, rate: float, severity: float, **params: Any) -> Truth:
    """The Truth for a window [a, b) of indices at `rate` per second."""
    return Truth(kind, a / rate, b / rate, {"defect": defect, "severity": severity, **params})


def interpolate(severity: float, at0: float, at1: float) -> float:
    """Linear map of severity 0..1 onto at0..at1: the per-defect tables in the docstrings are these."""
    return at0 + (at1 - at0) * severity
