"""frozen_video: the picture stops changing anywhere for a while.

Each frame is compared to the one before on a coarse grid of blocks; the frame's *activity* is
the largest mean absolute luma difference of any block, so a static shot with one moving element
(lips, a clock hand) keeps a high activity and is not a freeze.

A frame counts as still when its activity (median of 3 neighbouring frames, so one encoder spike
does not split a freeze) is at most

    min(block_mad_threshold, max(exact_repeat_mad, relative_drop * reference))

where `reference` is the median activity of the live (not still) frames of the last
`reference_s` seconds, locked while a still run lasts. The relative part is what separates a
freeze under capture noise from a static shot with grain: both change by noise only, but a
freeze changes by *less* than the grainy picture did just before (the grain stopped, only the
capture noise is left). A picture that never changed from the start (a grainy still) has no drop
and is not reported, unless its frames are exact repeats.

| param | default | meaning (FFmpeg's freezedetect in brackets) |
| --- | --- | --- |
| block_mad_threshold | 1.0 | most a still block may change (8-bit levels) [noise -60 dB ~ 0.26 levels over the whole frame]. A held frame through an HDMI capture and our near-lossless recording changes by well under 1 level; live footage moves some block by several. |
| exact_repeat_mad | 0.1 | at or below this a frame is a repeat whatever came before: H.264 at CRF 16 leaves held frames 0.00-0.1 apart, a grainy still (sigma 1.5 grain) 0.3-0.7. |
| relative_drop | 0.5 | a still frame changes by at most half of what the live picture changed just before. Benchmark: a freeze under sigma-1.3 capture noise on a grainy still measures 0.05-0.2 against 0.4 before it. |
| reference_s | 2.0 | the live history the reference is taken from; at the start of a capture, the first 2 s. |
| grid | 8 | blocks per side (64 blocks). |
| min_duration_s | 0.5 | shortest still run reported [d 2.0]. Animation holds a drawing for 2-3 frames (< 0.15 s); half a second of a stopped picture is a visible freeze. |
| min_spatial_std | 3.0 | frames flatter than this (luma std) are black or solid colour: those detectors own them, so a black screen is not also reported as a freeze. |
| subsample | 4 | every 4th pixel in each direction. |
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from harness.detectors.base import Detector, Params, RunTracker, Series, block_activity
from harness.events import Event
from harness.media import Frame


class FreezeParams(Params):
    block_mad_threshold: float = Field(1.0, gt=0)
    exact_repeat_mad: float = Field(0.1, ge=0)
    relative_drop: float = Field(0.5, gt=0, le=1)
    reference_s: float = Field(2.0, gt=0)
    grid: int = Field(8, ge=1, le=32)
    min_duration_s: float = Field(0.5, ge=0)
    min_spatial_std: float = Field(3.0, ge=0)
    subsample: int = Field(4, ge=1, le=16)


class FrozenVideo(Detector):
    name = "frozen_video"
    version = "2"
    consumes = "video"
    Params = FreezeParams
    params: FreezeParams

    def __init__(self, params: BaseModel | dict[str, Any] | None = None) -> None:
        super().__init__(params)
        self._prev: np.ndarray | None = None
        self._t = Series()
        self._motion = Series()
        self._flat = Series(bool)
        self._threshold: np.ndarray = np.zeros(0)

    def feed_video(self, frame: Frame) -> None:
        p = self.params
        cur, act = block_activity(frame.luma, self._prev, p.grid, p.subsample)
        self._prev = cur
        self._t.append(frame.pts_s)
        if act is None:
            self._motion.append(float("inf"))  # the first frame (or a new size) is not a repeat of anything
            self._flat.append(False)
            return
        self._motion.append(act)
        self._flat.append(float(cur.std()) < p.min_spatial_std)

    def still_mask(self) -> np.ndarray:
        """Per frame: does it repeat the frame before (see the module doc)? Also fills the threshold signal."""
        p = self.params
        t = np.asarray(self._t)
        m = np.asarray(self._motion)
        n = len(m)
        if n == 0:
            return np.zeros(0, bool)
        sm = m.copy()
        if n >= 3:
            win = np.stack([np.r_[m[0], m[:-1]], m, np.r_[m[1:], m[-1]]])
            sm = np.median(win, axis=0)
            sm[0] = m[0]
        live: list[tuple[float, float]] = []  # (time, activity) of recent live frames
        head = [
            x for x, tt in zip(sm.tolist(), t.tolist(), strict=True) if tt - t[0] <= p.reference_s and np.isfinite(x)
        ]
        start_ref = float(np.median(head)) if head else 0.0
        still = np.zeros(n, bool)
        thr = np.zeros(n)
        locked: float | None = None
        for i in range(n):
            x = float(sm[i])
            if locked is None:
                while live and t[i] - live[0][0] > p.reference_s:
                    live.pop(0)
                ref = float(np.median([v for _, v in live])) if len(live) >= 3 else start_ref
                limit = min(p.block_mad_threshold, max(p.exact_repeat_mad, p.relative_drop * ref))
            else:
                limit = locked
            thr[i] = limit
            still[i] = x <= limit and not self._flat[i]
            if still[i]:
                locked = limit
            else:
                locked = None
                if np.isfinite(x) and not self._flat[i]:
                    live.append((float(t[i]), x))
        self._threshold = thr
        return still

    def finish(self) -> list[Event]:
        p = self.params
        still = self.still_mask()
        runs = RunTracker(p.min_duration_s)
        m = np.asarray(self._motion)
        for i, tt in enumerate(self._t):
            # a freeze starts at the frame that was held, i.e. the one before the first repeat
            if still[i] and i > 0 and not still[i - 1]:
                runs.update(self._t[i - 1], True, float(m[i]))
            runs.update(tt, bool(still[i]), float(m[i]) if np.isfinite(m[i]) else 0.0)
        out = []
        for s, e, sc in runs.finish():
            conf = float(np.clip(1.0 - np.mean(sc) / p.block_mad_threshold * 0.5, 0.5, 1.0))
            out.append(
                Event(
                    "frozen_video",
                    s,
                    e,
                    conf,
                    self.name,
                    {"max_block_mad": round(float(np.max(sc)), 3), "frames": len(sc)},
                )
            )
        return out

    def signals(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        t, m = np.asarray(self._t[1:]), np.asarray(self._motion[1:])
        out = {"max block motion": (t, m)}
        if len(self._threshold) == len(self._t):
            out["still threshold"] = (t, self._threshold[1:])
        return out
