"""frozen_video: the picture stops changing anywhere for a while.

Each frame is compared to the one before on a coarse grid of blocks; the frame counts as a repeat
only when *every* block is still. A static shot with one moving element (lips, a clock hand,
grain) moves at least one block, so it is not a freeze.

| param | default | meaning (FFmpeg's freezedetect in brackets) |
| --- | --- | --- |
| block_mad_threshold | 1.0 | largest mean absolute luma difference (8-bit levels) a block may have and still count as unchanged [noise -60 dB ~ 0.26 levels, over the whole frame]. A repeated frame through an HDMI capture and our near-lossless recording differs by well under 1 level; live footage moves some block by several. Measured per block, so that small motion is not averaged away. |
| grid | 8 | blocks per side (64 blocks). |
| min_duration_s | 0.5 | shortest still run reported [d 2.0]. Animation holds a drawing for 2-3 frames (< 0.15 s); half a second of a stopped picture is a visible freeze. |
| min_spatial_std | 3.0 | frames flatter than this (luma std) are black or solid colour: those detectors own them, so a black screen is not also reported as a freeze. |
| subsample | 4 | every 4th pixel in each direction. |
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from harness.detectors.base import Detector, Params, RunTracker
from harness.events import Event
from harness.media import Frame


class FreezeParams(Params):
    block_mad_threshold: float = Field(1.0, gt=0)
    grid: int = Field(8, ge=1, le=32)
    min_duration_s: float = Field(0.5, ge=0)
    min_spatial_std: float = Field(3.0, ge=0)
    subsample: int = Field(4, ge=1, le=16)


class FrozenVideo(Detector):
    name = "frozen_video"
    version = "1"
    consumes = "video"
    Params = FreezeParams
    params: FreezeParams

    def __init__(self, params: BaseModel | dict[str, Any] | None = None) -> None:
        super().__init__(params)
        self._runs = RunTracker(self.params.min_duration_s)
        self._prev: np.ndarray | None = None
        self._prev_t = 0.0
        self._in_run = False
        self._t: list[float] = []
        self._motion: list[float] = []

    def feed_video(self, frame: Frame) -> None:
        p = self.params
        sub: np.ndarray = frame.luma[:: p.subsample, :: p.subsample]
        g = p.grid
        h, w = (sub.shape[0] // g) * g, (sub.shape[1] // g) * g
        cur = sub[:h, :w].astype(np.int16)
        if self._prev is None or self._prev.shape != cur.shape:
            self._prev, self._prev_t = cur, frame.pts_s
            return
        diff = np.abs(cur - self._prev)
        block = diff.reshape(g, h // g, g, w // g).mean(axis=(1, 3))
        motion = float(block.max())
        flat = float(cur.std()) < p.min_spatial_std
        still = motion <= p.block_mad_threshold and not flat
        self._t.append(frame.pts_s)
        self._motion.append(motion)
        # a freeze starts at the frame that was held, i.e. the previous one
        if still and not self._in_run:
            self._runs.update(self._prev_t, True, motion)
        self._runs.update(frame.pts_s, still, motion)
        self._in_run = still
        self._prev, self._prev_t = cur, frame.pts_s

    def finish(self) -> list[Event]:
        p = self.params
        out = []
        for s, e, sc in self._runs.finish():
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
        return {"max block motion": (np.asarray(self._t), np.asarray(self._motion))}
