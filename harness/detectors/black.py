"""black_frames: the picture is black (or nearly) for a while.

A frame is black in one of two ways:

1. **Absolute**: at least `black_ratio` of its pixels are at or below `pixel_threshold` (what
   FFmpeg's blackdetect checks). Catches digital black, limited-range black, black with noise.
2. **Sudden dimming**: the picture drops in one frame to at most `dim_ratio` of the light (luma
   above the black level 16) of the frame before, to a dark frame (mean luma at most `dim_max_mean`),
   and the dark frame is either flat or the same picture dimmed (its correlation with the frame
   before is at least `dim_min_correlation`). Following frames stay black while they keep at most
   that share of the light of the frame before the drop. This catches near-black frames that
   still carry a trace of the picture (a backlight or HDCP failure, a decoder outputting a nearly
   blank plane) where highlights stay above the pixel threshold.

   What it leaves alone: a fade to black (each step dims by a few per cent, never by 4x in one
   frame), a dark scene (no drop), and a cut to a night scene (dark and sudden, but a different
   picture: low correlation). A content fade whose last frames reach full black is still caught
   by rule 1 if the black lasts `min_duration_s`.

Parameters and why each default holds (FFmpeg's blackdetect in brackets):

| param | default | meaning |
| --- | --- | --- |
| pixel_threshold | 32 | 8-bit luma at or below which a pixel counts as black [pix_th 0.10 ~ 38 in limited range]. 32 covers limited-range black (16) and full-range black (0) plus capture noise and compression ringing, and stays below the darkest shadow detail a viewer still reads as picture. |
| black_ratio | 0.99 | share of black pixels that makes a frame black [picture_black_ratio_th 0.98]. Stricter, so that a dark scene with a few highlights (a lamp, stars, a subtitle line) is not called black; a device's black frame is uniform and clears either bar. |
| dim_ratio | 0.25 | most light (mean luma above 16) a suddenly dimmed frame keeps of the frame before it. Benchmark: a picture dimmed to 13 % keeps 0.13; consecutive frames of a fade keep 0.7-0.95. |
| dim_min_level | 12 | least light (mean luma above 16) the frame before a drop must have: a drop from an already dark frame is the end of a fade. |
| dim_max_mean | 40 | a dimmed frame is dark: mean luma at most 40 (a dark scene has 20-35, normal footage 80-130). |
| dim_min_correlation | 0.5 | the dimmed frame is the same picture: correlation of the two frames' luma (subsampled) at least 0.5, or at least half of what consecutive frames of this shot correlate (the best of the last 5 pairs) when that is lower: a fast pan over fine texture correlates only 0.15 frame to frame, dimmed or not. A cut to another scene correlates -0.2..0.1. Frames flatter than luma std 3 skip this check. |
| min_duration_s | 0.1 | shortest run reported [d 2.0]. Three frames at 25-30 fps: a black flash in a release is a defect a viewer notices; FFmpeg's 2 s is tuned for finding scene breaks, not glitches. |
| subsample | 4 | every 4th pixel in each direction is enough for a ratio over 57k pixels at 720p and keeps the cost per frame far below decoding. |
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from pydantic import BaseModel, Field

from harness.detectors.base import Detector, Params, RunTracker, Series
from harness.events import Event
from harness.media import Frame


class _Plane(NamedTuple):
    """A frame's subsampled luma, reduced once to what the dimming rule compares."""

    mean: float
    pixels: np.ndarray  # the subsampled luma as float32
    centred: np.ndarray  # every 2nd pixel, mean removed (for correlations)
    spread: float  # RMS of `centred`

    @classmethod
    def of(cls, sub: np.ndarray) -> _Plane:
        y = sub.astype(np.float32)
        half = y[::2, ::2]
        c = half - half.mean()
        return cls(float(y.mean()), y, c, float(np.sqrt((c * c).mean())))


class BlackParams(Params):
    pixel_threshold: int = Field(32, ge=0, le=255)
    black_ratio: float = Field(0.99, gt=0, le=1)
    dim_ratio: float = Field(0.25, ge=0, lt=1)
    dim_min_level: float = Field(12.0, ge=0)
    dim_max_mean: float = Field(40.0, ge=0, le=255)
    dim_min_correlation: float = Field(0.5, ge=-1, le=1)
    min_duration_s: float = Field(0.1, ge=0)
    subsample: int = Field(4, ge=1, le=16)


class BlackFrames(Detector):
    name = "black_frames"
    version = "2"
    consumes = "video"
    Params = BlackParams
    params: BlackParams

    def __init__(self, params: BaseModel | dict[str, Any] | None = None) -> None:
        super().__init__(params)
        p = self.params
        self._runs = RunTracker(p.min_duration_s)
        self._t = Series()
        self._ratio = Series()
        self._mean = Series()
        self._black = Series(bool)
        self._prev: _Plane | None = None
        self._dim_ref: float | None = None  # light of the frame before a sudden drop, while dimmed
        self._coherence: list[float] = []  # correlation of the last few consecutive live frame pairs

    @staticmethod
    def _correlation(cur: _Plane, prev: _Plane) -> float | None:
        """Pearson correlation of two luma planes (every 2nd subsampled pixel); None when one is flat."""
        if cur.centred.shape != prev.centred.shape or cur.spread < 1e-6 or prev.spread < 1e-6:
            return None
        return float((cur.centred * prev.centred).mean()) / (cur.spread * prev.spread)

    def _same_picture(self, cur: _Plane, prev: _Plane) -> bool:
        if cur.centred.shape != prev.centred.shape:
            return False
        if float(cur.pixels.std()) < 3.0:  # flat: nothing left to correlate; a uniform dark plane is black
            return True
        c = self._correlation(cur, prev)
        if c is None:
            return False
        need = self.params.dim_min_correlation
        if self._coherence:
            need = min(need, 0.5 * max(self._coherence))
        return c >= need

    def feed_video(self, frame: Frame) -> None:
        p = self.params
        sub: np.ndarray = frame.luma[:: p.subsample, :: p.subsample]
        ratio = float(np.count_nonzero(sub <= p.pixel_threshold)) / sub.size
        cur = _Plane.of(sub)
        mean = cur.mean
        light = max(mean - 16.0, 0.0)
        dimmed = False
        if mean <= p.dim_max_mean:
            if self._dim_ref is not None:
                dimmed = light <= p.dim_ratio * self._dim_ref
            elif self._prev is not None:
                before = max(self._prev.mean - 16.0, 0.0)
                if before >= p.dim_min_level and light <= p.dim_ratio * before and self._same_picture(cur, self._prev):
                    self._dim_ref = before
                    dimmed = True
        if not dimmed:
            self._dim_ref = None
            if self._prev is not None:
                c = self._correlation(cur, self._prev)
                if c is not None:
                    self._coherence = (self._coherence + [c])[-5:]
        black = ratio >= p.black_ratio or dimmed
        self._t.append(frame.pts_s)
        self._ratio.append(ratio)
        self._mean.append(mean)
        self._black.append(black)
        self._runs.update(frame.pts_s, black, ratio)
        if self._dim_ref is None:
            self._prev = cur

    def finish(self) -> list[Event]:
        return [
            Event(
                "black_frames",
                s,
                e,
                float(np.mean(sc)),
                self.name,
                {
                    "black_ratio_min": round(float(np.min(sc)), 4),
                    "frames": len(sc),
                    "dimmed": float(np.min(sc)) < self.params.black_ratio,
                },
            )
            for s, e, sc in self._runs.finish()
        ]

    def black_mask(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-frame times and whether each frame is black (used by start-up measurement)."""
        return np.asarray(self._t), np.asarray(self._black, dtype=bool)

    def signals(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        t = np.asarray(self._t)
        return {"mean luma": (t, np.asarray(self._mean)), "black pixel ratio": (t, np.asarray(self._ratio))}
