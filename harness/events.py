"""What detectors produce: events (a defect over a time span) and named measurements."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

EVENT_TYPES = (
    "black_frames",
    "frozen_video",
    "stutter",
    "block_corruption",
    "tearing",
    "solid_color",
    "letterbox",
    "audio_dropout",
    "audio_clicks",
    "audio_hum",
    "audio_hiss",
    "audio_distortion",
    "loudness",
    "channel_fault",
    # audio_levels (harness/detectors/levels.py)
    "audio_loudness",
    "audio_true_peak",
    "audio_level_jump",
    "audio_channel_missing",
    "audio_channel_swap",
    "audio_phase_inverted",
    "av_sync_offset",
    "lip_sync",
    "caption_missing",
    "caption_timing",
    "caption_text",
    "startup_delay",
    "rebuffering",
)


@dataclass
class Event:
    """A defect seen between `start_s` and `end_s` on the capture clock (seconds from capture start)."""

    type: str
    start_s: float
    end_s: float
    confidence: float
    detector: str
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.type!r}; known: {', '.join(EVENT_TYPES)}")

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["start_s"] = round(self.start_s, 4)
        d["end_s"] = round(self.end_s, 4)
        d["confidence"] = round(self.confidence, 4)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Event:
        return cls(
            d["type"],
            float(d["start_s"]),
            float(d["end_s"]),
            float(d["confidence"]),
            d["detector"],
            dict(d.get("details", {})),
        )

    def describe(self) -> str:
        return f"{self.type} from {self.start_s:.2f} s to {self.end_s:.2f} s ({self.duration_s:.2f} s)"


@dataclass
class Measurement:
    """A named number with its unit, e.g. startup_time_s = 0.82 s."""

    name: str
    value: float
    unit: str = ""
