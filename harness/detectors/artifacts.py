"""audio_artifacts: hum, hiss, distortion and clicks, heard without the clean audio, by a small CNN
on one-second windows (`models/audio_artifacts.onnx`, trained by `vqa train audio-artifacts`; see
its card and the README's "Audio artifacts").

Windows of 1 s start every 0.5 s. Each goes through `harness.ml.features` (the same code the model
was trained on) as the mono mix and, where the channels differ (side within 20 dB of mid), as each
channel too: a fault on one channel is diluted in the mix. A window's defect probability is the
highest over its views, its clean probability the lowest. A window is flagged with the most likely
defect when that defect's probability reaches `threshold`; runs of at least `min_windows` windows
flagged with the same defect become one event (`audio_hum`, `audio_hiss`, `audio_distortion`,
`audio_clicks`), from the defect's onset to the last window's centre. The model needs a share of a
window to hear a defect, and that share differs by class (clicks: a third; hiss: nearly all), so a
window's edge is up to a second from the onset. The onset is placed where the features change:
over the columns of the last clean window and the first flagged one (1.5 s), the split that best
separates their means (a least-squares mean-shift change point), measured within 0.2 s on most
injected faults (README).

Each event carries the mean class probabilities of its windows, the view that heard it, the
signal-processing measures of its most confident window (`harness.detectors.audiosp`: mains comb
prominence, noise-floor flatness, clipped-run share, click rate) and that window's log-mel image for
the report's spectrogram.

| param | default | meaning |
| --- | --- | --- |
| threshold | 0.5 | class probability at which a window is flagged |
| min_windows | 2 | shortest run reported, in windows (2: 1.5 s). A single window's flag on clean programme is the model's commonest false alarm; the faults it is for last seconds |
| per_channel | true | also run each channel where they differ |
| batch | 32 | windows per model call |
| model | audio_artifacts | model name in the models folder (`vqa models`) |
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from harness.detectors import audiosp
from harness.detectors.base import Detector, Params, Series
from harness.events import Event
from harness.media import AudioBlock
from harness.ml import features as fe
from harness.ml.runtime import OnnxModel

CLASSES = ("clean", "hum", "hiss", "distortion", "clicks")
EVENT_OF = {1: "audio_hum", 2: "audio_hiss", 3: "audio_distortion", 4: "audio_clicks"}
WINDOW_SAMPLES = (fe.WINDOW_FRAMES - 1) * fe.HOP + fe.N_FFT
STEP_SAMPLES = fe.HOP_FRAMES * fe.HOP
VIEWS = ("mix", "left", "right")


def onset(before: np.ndarray, flagged: np.ndarray) -> float:
    """Seconds from the start of the clean window `before` (rows x columns) to the defect's onset,
    given the window `flagged` that starts half a window later: the least-squares split of their
    columns into two means. Splits within 3 columns of either end are not considered."""
    overlap = fe.WINDOW_FRAMES - fe.HOP_FRAMES
    x = np.concatenate([before[:, : fe.WINDOW_FRAMES - overlap], flagged], axis=1).astype(np.float64)
    n = x.shape[1]
    c = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(x, axis=1)], axis=1)
    j = np.arange(3, n - 2)
    left = c[:, j] / j
    right = (c[:, -1:] - c[:, j]) / (n - j)
    score = j * (n - j) / n * np.sum((right - left) ** 2, axis=0)
    k = int(j[int(np.argmax(score))])
    return (k * fe.HOP + (fe.N_FFT - fe.HOP) / 2) / fe.RATE


class ArtifactParams(Params):
    threshold: float = Field(0.5, gt=0, lt=1)
    min_windows: int = Field(2, ge=1, le=20)
    per_channel: bool = True
    batch: int = Field(32, ge=1, le=256)
    model: str = "audio_artifacts"


def encode_image(img: np.ndarray) -> dict[str, Any]:
    """A front-end image's log-mel rows as JSON-friendly text: one hex byte a cell, -120..+20 dB."""
    db = img[: fe.N_MELS] * 20.0 - 40.0
    q = np.clip(np.round((db + 120.0) / 140.0 * 255), 0, 255).astype(np.uint8)
    return {"rows": int(q.shape[0]), "cols": int(q.shape[1]), "hex": q.tobytes().hex(), "db_range": [-120, 20]}


def decode_image(d: dict[str, Any]) -> np.ndarray:
    """dB (rows, cols) of `encode_image`."""
    q = np.frombuffer(bytes.fromhex(d["hex"]), np.uint8).reshape(d["rows"], d["cols"]).astype(np.float32)
    return q / 255.0 * 140.0 - 120.0


class AudioArtifacts(Detector):
    name = "audio_artifacts"
    version = "1"
    consumes = "audio"
    Params = ArtifactParams
    params: ArtifactParams

    def __init__(self, params: BaseModel | dict[str, Any] | None = None) -> None:
        super().__init__(params)
        self.model = OnnxModel.load(self.params.model)
        self._buf = np.zeros((0, 2), np.float32)
        self._buf_start = 0  # absolute sample index of _buf[0]
        self._next = 0  # absolute sample index of the next window's start
        self._t0: float | None = None
        self._rate_in = fe.RATE
        self._pending: list[tuple[float, np.ndarray, list[np.ndarray]]] = []  # (t, raw, view images)
        self._t = Series()
        self._p = [Series(np.float32) for _ in CLASSES]
        self._runs: list[dict[str, Any]] = []
        self._open: dict[str, Any] | None = None
        self._prev: tuple[float, list[np.ndarray]] | None = None  # the last window's time and views
        self.windows = 0

    # --- feeding -------------------------------------------------------------------------------

    def feed_audio(self, block: AudioBlock) -> None:
        x = np.asarray(block.samples, np.float32)
        if x.ndim == 1:
            x = x[:, None]
        if x.shape[1] == 1:
            x = np.repeat(x, 2, axis=1)
        elif x.shape[1] > 2:
            x = x[:, :2]
        if self._t0 is None:
            self._t0 = float(block.start_s)
            self._rate_in = int(block.samplerate)
        if block.samplerate != fe.RATE:
            x = fe.to_rate(x, int(block.samplerate))
        self._buf = np.concatenate([self._buf, x]) if len(self._buf) else x
        while self._next + WINDOW_SAMPLES <= self._buf_start + len(self._buf):
            a = self._next - self._buf_start
            self._window(self._buf[a : a + WINDOW_SAMPLES])
            self._next += STEP_SAMPLES
        drop = self._next - self._buf_start
        if drop > 0:
            self._buf = self._buf[drop:]
            self._buf_start += drop

    def _window(self, raw: np.ndarray) -> None:
        assert self._t0 is not None
        t = self._t0 + self._next / fe.RATE
        views = [fe.columns(fe.mono(raw))]
        if self.params.per_channel and fe.channels_differ(raw):
            views += [fe.columns(raw[:, 0]), fe.columns(raw[:, 1])]
        self._pending.append((t, raw, views))
        if len(self._pending) >= self.params.batch:
            self._run()

    def _run(self) -> None:
        if not self._pending:
            return
        images = [v for _, _, views in self._pending for v in views]
        probs = self.model.run({"features": np.stack(images)[:, None].astype(np.float32)})["probs"]
        i = 0
        for t, raw, views in self._pending:
            p = probs[i : i + len(views)]
            i += len(views)
            window_p = p.max(axis=0)
            window_p[0] = p[:, 0].min()
            defect = int(np.argmax(window_p[1:])) + 1
            view = int(np.argmax(p[:, defect]))
            flagged = float(window_p[defect]) >= self.params.threshold
            self._t.append(t)
            for k in range(len(CLASSES)):
                self._p[k].append(float(window_p[k]))
            self.windows += 1
            self._track(t, defect if flagged else 0, window_p, raw, views, view)
            self._prev = (t, views)
        self._pending = []

    def _track(self, t: float, cls: int, p: np.ndarray, raw: np.ndarray, views: list[np.ndarray], view: int) -> None:
        image = views[view]
        run = self._open
        if run is not None and (cls != run["cls"] or t - run["last_t"] > 0.5 + 1e-6):
            self._close()
            run = None
        if cls == 0:
            return
        if run is None:
            run = self._open = {"cls": cls, "start": t, "last_t": t, "p": [], "peak": -1.0, "onset": None}
            prev = self._prev
            if prev is not None and abs(t - prev[0] - STEP_SAMPLES / fe.RATE) < 1e-6:
                v = view if view < len(prev[1]) else 0
                run["edge"] = (prev[1][v], views[v])  # references only: the columns are not copied
        run["last_t"] = t
        run["p"].append(p.copy())
        if float(p[cls]) > run["peak"]:
            x = raw[:, 0] if view == 1 else raw[:, 1] if view == 2 else fe.mono(raw)
            run.update(peak=float(p[cls]), peak_t=t, view=VIEWS[view], image=image, raw=x.copy())

    def _close(self) -> None:
        if self._open is not None and len(self._open["p"]) >= self.params.min_windows:
            self._runs.append(self._open)  # shorter runs are dropped here: memory stays flat for hours
        self._open = None

    def finish(self) -> list[Event]:
        self._run()
        self._close()
        events = []
        for r in self._runs:
            if len(r["p"]) < self.params.min_windows:
                continue
            sp = audiosp.measure(r["raw"], fe.RATE)  # only for what is reported: the click filter is slow
            mean = np.mean(r["p"], axis=0)
            half = WINDOW_SAMPLES / fe.RATE / 2
            details: dict[str, Any] = {
                "windows": len(r["p"]),
                "probabilities": {c: round(float(v), 4) for c, v in zip(CLASSES, mean, strict=True)},
                "channel": r["view"],
                "key_s": round(r["peak_t"] + half, 3),
                "signal": sp,
                "spectrogram": encode_image(r["image"]),
            }
            start, end = r["start"] + half, r["last_t"] + half
            if "edge" in r:
                start = r["start"] - STEP_SAMPLES / fe.RATE + onset(*r["edge"])
            end = max(end, start + 0.1)
            events.append(Event(EVENT_OF[r["cls"]], start, end, float(mean[r["cls"]]), self.name, details))
        return events

    def signals(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        t = np.asarray(self._t) + 0.5
        p = np.stack([np.asarray(s) for s in self._p[1:]]) if len(self._t) else np.zeros((4, 0))
        return {"audio defect p": (t, p.max(axis=0) if p.size else np.zeros(0))}

    def window_probs(self) -> tuple[np.ndarray, np.ndarray]:
        """Window start times and their (N, 5) class probabilities (the benchmark's window scores)."""
        return np.asarray(self._t), np.stack([np.asarray(s) for s in self._p], axis=1)
