"""black_frames: the picture is black (or nearly) for a while.

Parameters and why each default holds (FFmpeg's blackdetect in brackets):

| param | default | meaning |
| --- | --- | --- |
| pixel_threshold | 32 | 8-bit luma at or below which a pixel counts as black [pix_th 0.10 ~ 38 in limited range]. 32 covers limited-range black (16) and full-range black (0) plus capture noise and compression ringing, and stays below the darkest shadow detail a viewer still reads as picture. |
| black_ratio | 0.99 | share of black pixels that makes a frame black [picture_black_ratio_th 0.98]. Stricter, so that a dark scene with a few highlights (a lamp, stars, a subtitle line) is not called black; a device's black frame is uniform and clears either bar. |
| min_duration_s | 0.1 | shortest run reported [d 2.0]. Three frames at 25-30 fps: a black flash in a release is a defect a viewer notices; FFmpeg's 2 s is tuned for finding scene breaks, not glitches. |
| subsample | 4 | every 4th pixel in each direction is enough for a ratio over 57k pixels at 720p and keeps the cost per frame far below decoding. |
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from harness.detectors.base import Detector, Params, RunTracker
from harness.events import Event
from harness.media import Frame


class BlackParams(Params):
    pixel_threshold: int = Field(32, ge=0, le=255)
    black_ratio: float = Field(0.99, gt=0, le=1)
    min_duration_s: float = Field(0.1, ge=0)
    subsample: int = Field(4, ge=1, le=16)


class BlackFrames(Detector):
    name = "black_frames"
    version = "1"
    consumes = "video"
    Params = BlackParams
    params: BlackParams

    def __init__(self, params: BaseModel | dict[str, Any] | None = None) -> None:
        super().__init__(params)
        p = self.params
        self._runs = RunTracker(p.min_duration_s)
        self._t: list[float] = []
        self._ratio: list[float] = []
        self._mean: list[float] = []

    def feed_video(self, frame: Frame) -> None:
        p = self.params
        sub: np.ndarray = frame.luma[:: p.subsample, :: p.subsample]
        ratio = float(np.count_nonzero(sub <= p.pixel_threshold)) / sub.size
        self._t.append(frame.pts_s)
        self._ratio.append(ratio)
        self._mean.append(float(sub.mean()))
        self._runs.update(frame.pts_s, ratio >= p.black_ratio, ratio)

    def finish(self) -> list[Event]:
        return [
            Event(
                "black_frames",
                s,
                e,
                float(np.mean(sc)),
                self.name,
                {"black_ratio_min": round(float(np.min(sc)), 4), "frames": len(sc)},
            )
            for s, e, sc in self._runs.finish()
        ]

    def black_mask(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-frame times and whether each frame is black (used by start-up measurement)."""
        return np.asarray(self._t), np.asarray(self._ratio) >= self.params.black_ratio

    def signals(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        t = np.asarray(self._t)
        return {"mean luma": (t, np.asarray(self._mean)), "black pixel ratio": (t, np.asarray(self._ratio))}
