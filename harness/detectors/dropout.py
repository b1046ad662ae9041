"""audio_dropout: the sound falls to (near) digital silence in the middle of playback.

| param | default | meaning (FFmpeg's silencedetect in brackets) |
| --- | --- | --- |
| window_s | 0.01 | RMS window: 10 ms resolves the start and end of a gap to a hundredth of a second. |
| silence_dbfs | -70 | a window is silent when every channel's RMS is at or below this [noise -60 dB]. A dropped stream is digital zero through HDMI and the analog noise floor (-80..-90 dBFS) through a line input; quiet passages, room tone and reverb tails of real programme stay above -65 dBFS, so -70 separates them with margin. |
| min_duration_s | 0.1 | shortest gap reported [d 2.0]. A 100 ms hole is an audible defect; pauses inside programme are never digital silence. |
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from harness.detectors.base import Detector, Params, RunTracker
from harness.events import Event
from harness.media import AudioBlock


class DropoutParams(Params):
    window_s: float = Field(0.01, gt=0, le=1)
    silence_dbfs: float = Field(-70.0, le=0)
    min_duration_s: float = Field(0.1, ge=0)


class AudioDropout(Detector):
    name = "audio_dropout"
    version = "1"
    consumes = "audio"
    Params = DropoutParams
    params: DropoutParams

    def __init__(self, params: BaseModel | dict[str, Any] | None = None) -> None:
        super().__init__(params)
        self._runs = RunTracker(self.params.min_duration_s)
        self._rest: np.ndarray | None = None
        self._rest_t = 0.0
        self._t: list[np.ndarray] = []
        self._db: list[np.ndarray] = []

    def feed_audio(self, block: AudioBlock) -> None:
        p = self.params
        x = block.samples if block.samples.ndim == 2 else block.samples[:, None]
        t0 = block.start_s
        if self._rest is not None and len(self._rest):
            x = np.concatenate([self._rest, x])
            t0 = self._rest_t
        n = int(round(p.window_s * block.samplerate))
        k = len(x) // n
        self._rest, self._rest_t = x[k * n :], t0 + k * n / block.samplerate
        if k == 0:
            return
        w = x[: k * n].reshape(k, n, x.shape[1]).astype(np.float64)
        rms = np.sqrt((w * w).mean(axis=1)).max(axis=1)
        db = 20 * np.log10(np.maximum(rms, 1e-6))  # floor at -120 dBFS (digital silence)
        times = t0 + np.arange(k) * n / block.samplerate
        silent = db <= p.silence_dbfs
        for t, s, d in zip(times.tolist(), silent.tolist(), db.tolist(), strict=True):
            self._runs.update(t, s, d)
        self._t.append(times)
        self._db.append(db)

    def finish(self) -> list[Event]:
        p = self.params
        out = []
        for s, e, sc in self._runs.finish():
            level = float(np.max(sc))
            conf = float(np.clip(0.5 + (p.silence_dbfs - level) / 40.0, 0.5, 1.0))
            out.append(Event("audio_dropout", s, e, conf, self.name, {"max_level_dbfs": round(level, 1)}))
        return out

    def signals(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        if not self._t:
            return {}
        t, db = np.concatenate(self._t), np.concatenate(self._db)
        k = 5  # 50 ms points are enough for a plot
        m = (len(t) // k) * k
        return {"audio level dBFS": (t[:m:k], db[:m].reshape(-1, k).min(axis=1))}
