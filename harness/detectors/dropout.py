"""audio_dropout: the sound falls to (near) silence in the middle of playback.

A 10 ms window is silent when every channel's RMS is at or below

    max(silence_dbfs, min(floor - relative_drop_db, max_dropout_dbfs))

where `floor` is the programme's own quiet level: the `floor_percentile` of the window levels
over the surrounding `floor_window_s` (digital silence left out). The absolute part catches a
cut to digital zero or to the analogue noise floor on any programme; the relative part catches
a drop far below anything the programme itself does, e.g. loud music (quiet level -25 dBFS)
falling 40 dB to -60 dBFS, which an absolute -70 dBFS rule misses. Quiet programme (a night
scene at -55 dBFS, speech pauses at room-tone level) has a low floor, so only the absolute rule
applies to it. Levels are known once the window around them is read, so events come at `finish`.

| param | default | meaning (FFmpeg's silencedetect in brackets) |
| --- | --- | --- |
| window_s | 0.01 | RMS window: 10 ms resolves the start and end of a gap to a hundredth of a second. |
| silence_dbfs | -70 | always silent at or below this [noise -60 dB]. A dropped stream is digital zero through HDMI and the analog noise floor (-80..-90 dBFS) through a line input; quiet passages, room tone and reverb tails of real programme stay above -65 dBFS, so -70 separates them with margin. |
| floor_percentile | 20 | the programme's quiet level: 20 % of its windows are quieter. Speech pauses are 15-30 % of speech, so for speech this is about the room tone; a gap of up to 1 s in a 10 s span cannot pull it down. |
| floor_window_s | 10 | span (centred) the floor is taken over. |
| relative_drop_db | 25 | silent when this far below the floor. Music and film sound do not fall 25 dB below their own 20th percentile for 0.1 s except through a fault (benchmark: clean programme stays 6-12 dB above that line at its quietest). |
| max_dropout_dbfs | -45 | the relative rule never calls a window louder than this silent. |
| merge_gap_s | 0.5 | gaps closer than this are one event: programme attenuated by 40 dB still peaks above the line now and then (speech syllables at -60 dBFS), and a sound that cuts out twice within half a second is heard as one broken passage. |
| min_duration_s | 0.1 | shortest gap reported [d 2.0]. A 100 ms hole is an audible defect; pauses inside programme are never digital silence. |
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from harness.detectors.base import Detector, Params, RunTracker, Series
from harness.events import Event
from harness.media import AudioBlock


class DropoutParams(Params):
    window_s: float = Field(0.01, gt=0, le=1)
    silence_dbfs: float = Field(-70.0, le=0)
    floor_percentile: float = Field(20.0, ge=0, le=100)
    floor_window_s: float = Field(10.0, gt=0)
    relative_drop_db: float = Field(25.0, ge=0)
    max_dropout_dbfs: float = Field(-45.0, le=0)
    merge_gap_s: float = Field(0.5, ge=0)
    min_duration_s: float = Field(0.1, ge=0)


class AudioDropout(Detector):
    name = "audio_dropout"
    version = "2"
    consumes = "audio"
    Params = DropoutParams
    params: DropoutParams

    def __init__(self, params: BaseModel | dict[str, Any] | None = None) -> None:
        super().__init__(params)
        self._rest: np.ndarray | None = None
        self._rest_t = 0.0
        self._t = Series()
        self._db = Series()
        self._limit: np.ndarray = np.zeros(0)

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
        self._t.extend(t0 + np.arange(k) * n / block.samplerate)
        self._db.extend(db)

    def limits(self) -> np.ndarray:
        """Per window: the level at or below which it counts as silent (see the module doc)."""
        p = self.params
        if not len(self._db):
            return np.zeros(0)
        db = self._db.array()
        span = max(1, int(round(p.floor_window_s / p.window_s)))
        hop = max(1, int(round(1.0 / p.window_s)))  # the floor is re-taken every second
        limit = np.full(len(db), p.silence_dbfs)
        for c in range(0, len(db), hop):
            lo, hi = max(0, c + hop // 2 - span // 2), min(len(db), c + hop // 2 + span // 2)
            part = db[lo:hi]
            part = part[part > -119.0]  # digital silence says nothing about the programme
            if len(part) < hop // 2:
                continue
            floor = float(np.percentile(part, p.floor_percentile))
            rel = min(floor - p.relative_drop_db, p.max_dropout_dbfs)
            limit[c : c + hop] = max(p.silence_dbfs, rel)
        return limit

    def finish(self) -> list[Event]:
        p = self.params
        runs = RunTracker(p.min_duration_s)
        if len(self._db):
            t, db = self._t.array(), self._db.array()
            self._limit = self.limits()
            for tt, d, lim in zip(t.tolist(), db.tolist(), self._limit.tolist(), strict=True):
                runs.update(tt, d <= lim, d)
        merged: list[tuple[float, float, list[float]]] = []
        for s, e, sc in runs.finish():
            if merged and s - merged[-1][1] <= p.merge_gap_s:
                merged[-1] = (merged[-1][0], e, merged[-1][2] + sc)
            else:
                merged.append((s, e, sc))
        out = []
        for s, e, sc in merged:
            level = float(np.max(sc))
            conf = float(np.clip(0.5 + (p.silence_dbfs - level) / 40.0, 0.5, 1.0))
            out.append(Event("audio_dropout", s, e, conf, self.name, {"max_level_dbfs": round(level, 1)}))
        return out

    def signals(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        if not len(self._t):
            return {}
        t, db = self._t.array(), self._db.array()
        k = 5  # 50 ms points are enough for a plot
        m = (len(t) // k) * k
        out = {"audio level dBFS": (t[:m:k], db[:m].reshape(-1, k).min(axis=1))}
        if len(self._limit) == len(db):
            out["silence limit dBFS"] = (t[:m:k], self._limit[:m].reshape(-1, k).max(axis=1))
        return out
