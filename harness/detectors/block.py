"""block_corruption: macroblocks the decoder got wrong (lost slices, concealment streaks, displaced
or one-colour blocks), found by a fully convolutional network on each picture.

Each frame's luma is resized to the model's 360 rows and run through the ONNX model
`models/block_corruption.onnx` (trained by `vqa train block-corruption`; see its card), in batches.
The model gives a probability per 16x16 cell of its input and a frame probability. Two decisions:

- **v1** (the seed's): binarise the map at `cell_threshold`; the frame is corrupted when the
  corrupted-area ratio (share of cells above it) exceeds `area_ratio`.
- **v2**: the model's frame head (a logistic decision learned on statistics of the map) above
  `frame_threshold`.

Runs of corrupted frames of at least `min_duration_s` become events with the peak area ratio, the
region (bounding box of the corrupted cells at the peak frame, as shares of width and height) and
the peak frame's probability map (for the heatmap evidence).

| param | default | meaning |
| --- | --- | --- |
| decision | v1 | which decision flags a frame; on the held-out test sources v1 keeps false alarms at a quarter of v2's for similar F1 (model card, README) |
| cell_threshold | 0.5 | probability above which a cell counts as corrupted (v1 and the area ratio reported) |
| area_ratio | 0.07 | v1: corrupted-area ratio above which a frame is corrupted (the seed's 0.07) |
| frame_threshold | 0.5 | v2: frame probability above which a frame is corrupted |
| min_duration_s | 0.1 | shortest run reported: 3 frames at 25-30 fps. Single-frame flags on clean footage (soft, defocused areas) are the model's commonest false alarm; real damage spreads over frames until the next keyframe |
| batch | 8 | frames per model call |
| model | block_corruption | model name in the models folder (`vqa models`) |
"""

from __future__ import annotations

from typing import Any, Literal

import cv2
import numpy as np
from pydantic import BaseModel, Field

from harness.detectors.base import Detector, Params, RunTracker, Series
from harness.events import Event
from harness.media import Frame
from harness.ml.runtime import OnnxModel

INPUT_HEIGHT = 360
CELL = 16


def model_input(luma: np.ndarray) -> np.ndarray:
    """A luma plane as the model takes it: 360 rows, width keeping the aspect in whole cells."""
    h, w = luma.shape[:2]
    width = max(CELL, int(round(w * INPUT_HEIGHT / h / CELL)) * CELL)
    if (w, h) == (width, INPUT_HEIGHT):
        return luma
    return cv2.resize(
        luma, (width, INPUT_HEIGHT), interpolation=cv2.INTER_AREA if h > INPUT_HEIGHT else cv2.INTER_LINEAR
    )


class BlockParams(Params):
    decision: Literal["v1", "v2"] = "v1"
    cell_threshold: float = Field(0.5, gt=0, lt=1)
    area_ratio: float = Field(0.07, ge=0, lt=1)
    frame_threshold: float = Field(0.5, gt=0, lt=1)
    min_duration_s: float = Field(0.1, ge=0)
    batch: int = Field(8, ge=1, le=64)
    model: str = "block_corruption"


class BlockCorruption(Detector):
    name = "block_corruption"
    version = "1"
    consumes = "video"
    Params = BlockParams
    params: BlockParams

    def __init__(self, params: BaseModel | dict[str, Any] | None = None) -> None:
        super().__init__(params)
        self.model = OnnxModel.load(self.params.model)
        self._runs = RunTracker(self.params.min_duration_s)
        self._pending: list[tuple[np.ndarray, float]] = []
        self._t = Series()
        self._area = Series()
        self._prob = Series()
        self._run_peak: tuple[float, float, np.ndarray] | None = None  # (area, time, map) of the open run
        self._peaks: list[tuple[float, float, np.ndarray]] = []
        self._was_flagged = False

    def feed_video(self, frame: Frame) -> None:
        x = model_input(frame.luma)
        if self._pending and self._pending[0][0].shape != x.shape:
            self._run()  # a resolution change mid-capture: finish the batch of the old size
        self._pending.append((x, frame.pts_s))
        if len(self._pending) >= self.params.batch:
            self._run()

    def _run(self) -> None:
        if not self._pending:
            return
        batch = np.stack([x for x, _ in self._pending]).astype(np.float32)[:, None]
        out = self.model.run({"luma": batch})
        maps, probs = out["map"][:, 0], out["frame"].reshape(-1)
        p = self.params
        for (_, t), m, prob in zip(self._pending, maps, probs, strict=True):
            area = float(np.mean(m >= p.cell_threshold))
            flagged = area > p.area_ratio if p.decision == "v1" else float(prob) >= p.frame_threshold
            self._t.append(t)
            self._area.append(area)
            self._prob.append(float(prob))
            if flagged:
                if self._run_peak is None or area > self._run_peak[0]:
                    self._run_peak = (area, t, m.copy())
            elif self._was_flagged and self._run_peak is not None:
                self._peaks.append(self._run_peak)
                self._run_peak = None
            self._was_flagged = flagged
            self._runs.update(t, flagged, float(prob) if p.decision == "v2" else area)
        self._pending = []

    def finish(self) -> list[Event]:
        self._run()
        if self._run_peak is not None:
            self._peaks.append(self._run_peak)
            self._run_peak = None
        runs = self._runs.finish()
        events = []
        for s, e, scores in runs:
            peak = next((pk for pk in self._peaks if s - 1e-6 <= pk[1] < e + 1e-6), None)
            details: dict[str, Any] = {"frames": len(scores), "decision": self.params.decision}
            if peak is not None:
                area, t, m = peak
                details.update(
                    peak_area_ratio=round(area, 4), key_s=round(t, 3), **_region(m, self.params.cell_threshold)
                )
                details["heatmap"] = encode_map(m)
            events.append(Event("block_corruption", s, e, float(np.max(scores)), self.name, details))
        return events

    def signals(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        t = np.asarray(self._t)
        return {"corrupted area ratio": (t, np.asarray(self._area)), "block corruption p": (t, np.asarray(self._prob))}

    def frame_decisions(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-frame times and whether each frame was flagged (the benchmark's frame-level scores)."""
        t, area, prob = np.asarray(self._t), np.asarray(self._area), np.asarray(self._prob)
        if self.params.decision == "v1":
            return t, area > self.params.area_ratio
        return t, prob >= self.params.frame_threshold


def _region(m: np.ndarray, threshold: float) -> dict[str, Any]:
    ys, xs = np.nonzero(m >= threshold)
    if not len(ys):  # a v2 frame with no cell above the threshold: the most likely cell
        y, x = np.unravel_index(int(np.argmax(m)), m.shape)
        ys, xs = np.array([y]), np.array([x])
    h, w = m.shape
    return {
        "region": [
            round(float(xs.min()) / w, 3),
            round(float(ys.min()) / h, 3),
            round(float(xs.max() + 1) / w, 3),
            round(float(ys.max() + 1) / h, 3),
        ]
    }


def encode_map(m: np.ndarray) -> dict[str, Any]:
    """A probability map as JSON-friendly text: rows x cols and one hex byte (0-255) a cell."""
    q = np.clip(np.round(m * 255), 0, 255).astype(np.uint8)
    return {"rows": int(q.shape[0]), "cols": int(q.shape[1]), "hex": q.tobytes().hex()}


def decode_map(d: dict[str, Any]) -> np.ndarray:
    return np.frombuffer(bytes.fromhex(d["hex"]), np.uint8).reshape(d["rows"], d["cols"]).astype(np.float32) / 255
