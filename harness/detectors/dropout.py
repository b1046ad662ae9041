"""audio_dropout: the sound stops in the middle of playback.

A 10 ms window is silent when every channel's RMS is at or below

    max(silence_dbfs, min(floor - relative_drop_db, max_dropout_dbfs))

where `floor` is the programme's own quiet level: the `floor_percentile` of the window levels
over the surrounding `floor_window_s`. The absolute part catches a cut to digital zero or to the
analogue noise floor on any programme; the relative part catches a drop far below anything the
programme itself does, e.g. loud music (quiet level -25 dBFS) falling 40 dB to -60 dBFS, which an
absolute -70 dBFS rule misses. Quiet programme (a night scene at -55 dBFS, speech pauses at
room-tone level) has a low floor, so only the absolute rule applies to it.

Silence alone is not a dropout: produced programme pauses into digital silence on its own (voice
through a noise gate decays over 50-100 ms into digital zero between phrases; a note rings out into
a rest). A dropout is a *cut*: the sound stops within milliseconds from a normal level. So each
silent run's entry is measured on 2.5 ms levels (`edge_parts` per window): the cliff into the gap,
the decay before it, the level it fell from, and whether it landed on the gap's level at once. A
programme that has gaps it entered gradually within `pause_window_s` pauses on its own, and there
only cuts are reported; a programme that never pauses into silence (room tone under speech, film
sound, most music) reports every gap, as FFmpeg's silencedetect would. A dropout that starts inside
a programme's own pause cannot be told from the pause by its edges and is not reported.
Levels are known once the window around them is read, so events come at `finish`.

| param | default | meaning (FFmpeg's silencedetect in brackets) |
| --- | --- | --- |
| window_s | 0.01 | RMS window: 10 ms resolves the start and end of a gap to a hundredth of a second. |
| silence_dbfs | -70 | always silent at or below this [noise -60 dB]. A dropped stream is digital zero through HDMI and the analog noise floor (-80..-90 dBFS) through a line input; quiet passages, room tone and reverb tails of real programme stay above -65 dBFS, so -70 separates them with margin. |
| floor_percentile | 20 | the programme's quiet level: 20 % of its windows are quieter, digital silence included. Speech pauses are 15-30 % of speech, so for speech this is about the room tone; a gap of up to 1 s in a 10 s span cannot pull it down; a programme silent for over 20 % of the span pauses on its own and gets the absolute rule only. |
| floor_window_s | 10 | span (centred) the floor is taken over. |
| relative_drop_db | 25 | silent when this far below the floor. Music and film sound do not fall 25 dB below their own 20th percentile for 0.1 s except through a fault (benchmark: clean programme stays 6-12 dB above that line at its quietest). |
| max_dropout_dbfs | -45 | the relative rule never calls a window louder than this silent. |
| merge_gap_s | 0.5 | gaps closer than this are one event: programme attenuated by 40 dB still peaks above the line now and then (speech syllables at -60 dBFS), and a sound that cuts out twice within half a second is heard as one broken passage. |
| min_duration_s | 0.1 | shortest gap reported [d 2.0]. A 100 ms hole is an audible defect. |
| edge_parts | 4 | each window's level is also kept in this many parts (2.5 ms): an AAC codec smears a cut over about 5 ms, a gate's release takes 50-500 ms, so 2.5 ms tells them apart. |
| cliff_db | 6 | a cut leaves the sound at least this far above the silence limit in the last 5 ms before the gap (pink room tone at the limit wavers by +-2 dB). |
| cliff_ratio | 1.0 | ... and the cliff is higher than the fall over the 20 ms before it: a decay falls steadily into the gap and leaves only a step at its end. |
| fall_db | 20 | ... or the sound falls this far within 5 ms: AAC smears a cut over ~5 ms into two steps, which the cliff test alone reads as a decay; a gate closing 100 dB in 50 ms falls 10 dB in 5 ms, a note or a word ending far less. |
| cut_below_programme_db | 30 | ... from a level no more than this under the programme's level: an edited tail cut at -55 dBFS under speech at -22 (recorded prompts end so) is not heard as a dropout. |
| fall_margin_db | 5 | a 5 ms fall must start this much nearer the programme's level than a cliff: a tail trimmed 28 dB down falls steeply too. |
| programme_percentile | 80 | the programme's level: this percentile of its windows above the silence line (the loud parts, so that gaps and decays do not pull it down). |
| settle_db | 12 | ... and 5-25 ms after the edge the sound is within this of the gap's level: a cut lands on it, a gate that closes after speech stopped keeps falling. |
| pause_window_s | 30 | a programme with a gradually entered gap this close pauses on its own. Gated narration and music with rests pause every few seconds; one suspicious gap in half a minute of otherwise continuous sound is judged by level alone. |
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from harness.detectors.base import Detector, Params, Series
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
    edge_parts: int = Field(4, ge=2, le=16)
    cliff_db: float = Field(6.0, ge=0)
    cliff_ratio: float = Field(1.0, ge=0)
    fall_db: float = Field(20.0, ge=0)
    cut_below_programme_db: float = Field(30.0, ge=0)
    fall_margin_db: float = Field(5.0, ge=0)
    settle_db: float = Field(12.0, ge=0)
    pause_window_s: float = Field(30.0, ge=0)
    programme_percentile: float = Field(80.0, ge=0, le=100)


class AudioDropout(Detector):
    name = "audio_dropout"
    version = "3"
    consumes = "audio"
    Params = DropoutParams
    params: DropoutParams

    def __init__(self, params: BaseModel | dict[str, Any] | None = None) -> None:
        super().__init__(params)
        self._rest: np.ndarray | None = None
        self._rest_t = 0.0
        self._t = Series()
        self._db = Series()
        self._fine = Series(np.float16)  # `edge_parts` levels per window, for the shape of the edges
        self._limit: np.ndarray = np.zeros(0)
        self._programme: np.ndarray = np.zeros(0)

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
        w *= w
        rms = np.sqrt(w.mean(axis=1)).max(axis=1)
        db = 20 * np.log10(np.maximum(rms, 1e-6))  # floor at -120 dBFS (digital silence)
        q = n // p.edge_parts
        parts = np.sqrt(w[:, : q * p.edge_parts].reshape(k, p.edge_parts, q, -1).mean(axis=2)).max(axis=2)
        self._t.extend(t0 + np.arange(k) * n / block.samplerate)
        self._db.extend(db)
        self._fine.extend(20 * np.log10(np.maximum(parts.ravel(), 1e-6)))

    def limits(self) -> np.ndarray:
        """Per window: the level at or below which it counts as silent (see the module doc)."""
        return self._levels()[0]

    def _levels(self) -> tuple[np.ndarray, np.ndarray]:
        """Per window: the silence limit, and the programme's level (the `programme_percentile` of
        the windows above the silence line over the same span; the line itself where it has none)."""
        p = self.params
        db = self._db.array()
        span = max(1, int(round(p.floor_window_s / p.window_s)))
        hop = max(1, int(round(1.0 / p.window_s)))  # the floor is re-taken every second
        limit = np.full(len(db), p.silence_dbfs)
        level = np.full(len(db), p.silence_dbfs)
        for c in range(0, len(db), hop):
            lo, hi = max(0, c + hop // 2 - span // 2), min(len(db), c + hop // 2 + span // 2)
            span_db = db[lo:hi]
            part = span_db[span_db > -119.0]
            if len(part) < hop // 2:
                continue  # mostly digital silence: nothing to learn the programme's level from
            # digital silence counts towards the quiet level: a programme that is silent for more
            # than `floor_percentile` of the span pauses into silence on its own (gated voice,
            # music with rests), and only the absolute rule applies to it
            floor = float(np.percentile(span_db, p.floor_percentile))
            rel = min(floor - p.relative_drop_db, p.max_dropout_dbfs)
            limit[c : c + hop] = max(p.silence_dbfs, rel)
            sound = part[part > limit[c]]
            if len(sound):
                level[c : c + hop] = float(np.percentile(sound, p.programme_percentile))
        return limit, level

    def _runs(self, silent: np.ndarray) -> list[tuple[int, int]]:
        """[first, end) window indexes of the silent runs at least `min_duration_s` long."""
        edges = np.diff(np.concatenate([[0], silent.astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        need = int(np.ceil(self.params.min_duration_s / self.params.window_s - 1e-6))
        return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True) if b - a >= need]

    def entry(self, first: int, end: int) -> dict[str, float] | None:
        """The shape of the fall into the silent run of windows [first, end): `top_dbfs`, the
        level in the last half window before the sound went silent; `cliff_db`, how far that is
        above the silence limit; `decay_db`, how far the sound had fallen over the two windows
        before; `settle_db`, how far above the run's median level (both floored 30 dB under the
        limit) the sound still was 5-25 ms after the edge (a codec smears a cut over ~5 ms; a gate closing keeps falling). None when
        the run starts the capture: there is no fall to judge."""
        if first == 0:
            return None
        k = self.params.edge_parts
        lim = float(self._limit[first])
        o = max(0, (first - 4) * k)  # `fine` starts at fine window `o`: 40 ms before the run
        fine = self._fine.array()[o : end * k].astype(np.float64)
        run = fine[first * k - o :]
        edge = fine[: (first + 1) * k - o]
        above = np.flatnonzero(edge[-4 * k :] > lim)
        c = len(edge) - min(len(edge), 4 * k) + int(above[-1]) + 1 if len(above) else first * k - o
        last = fine[max(0, c - k // 2) : c]
        if not len(last):
            return None
        before = fine[max(0, c - 3 * k) : max(0, c - k)]
        top = float(np.mean(np.maximum(last, lim)))
        b = float(np.mean(np.maximum(before, lim))) if len(before) else top
        deep = lim - 30.0  # below this, levels in the gap are all "gone"
        gap = max(deep, float(np.median(run)))
        after = np.maximum(fine[c + k // 2 : min(c + 5 * k // 2, len(fine))], deep)
        settle = float(np.mean(after)) - gap if len(after) else 0.0
        # the steepest 5 ms fall into the edge (levels floored 10 dB under the limit): a cut that
        # a codec smeared into two steps still falls 20+ dB in 5 ms; a gate or a decay does not
        f = np.maximum(fine[max(0, c - 2 * k) : c + 2], lim - 10.0)
        falls = f[:-2] - f[2:] if len(f) > 2 else np.zeros(1)
        i = int(np.argmax(falls))
        return {
            "top_dbfs": round(top, 1),
            "cliff_db": round(top - lim, 1),
            "decay_db": round(b - top, 1),
            "settle_db": round(settle, 1),
            "fall_5ms_db": round(float(falls[i]), 1),
            "fall_from_dbfs": round(float(f[i]) if len(f) > 2 else top, 1),
        }

    def is_cut(self, first: int, edge: dict[str, float] | None) -> bool:
        """The sound stopped, rather than decayed into a pause: a cliff of at least `cliff_db`
        into the gap, higher than `cliff_ratio` times the fall before it, from a level within
        `cut_below_programme_db` of the programme's level (or a fall of `fall_db` within 5 ms
        from `fall_margin_db` nearer it: a codec-smeared cut), landing at once (within `settle_db`) on the
        gap's level."""
        p = self.params
        if edge is None:
            return False
        programme = float(self._programme[first])
        lim = float(self._limit[first])
        cliff = edge["cliff_db"] >= p.cliff_db and edge["cliff_db"] >= p.cliff_ratio * edge["decay_db"]
        fall = edge["fall_5ms_db"] >= p.fall_db and edge["fall_from_dbfs"] >= lim + p.cliff_db
        loud = programme - p.cut_below_programme_db
        cliff = cliff and edge["top_dbfs"] >= loud
        fall = fall and edge["fall_from_dbfs"] >= loud + p.fall_margin_db
        return (cliff or fall) and edge["settle_db"] <= p.settle_db

    def finish(self) -> list[Event]:
        p = self.params
        if not len(self._db):
            return []
        t, db = self._t.array(), self._db.array()
        self._limit, self._programme = self._levels()
        silent = db <= self._limit
        runs = [(a, b, self.entry(a, b)) for a, b in self._runs(silent)]
        cut = [self.is_cut(a, e) for a, _, e in runs]
        groups: list[list[int]] = []
        for i, (a, _, _) in enumerate(runs):
            if groups and t[a] - t[runs[groups[-1][-1]][1] - 1] - p.window_s <= p.merge_gap_s:
                groups[-1].append(i)
            else:
                groups.append([i])
        # the programme's own pauses: gaps it fell into gradually (the capture's start aside)
        pause = [not any(cut[i] for i in g) and any(runs[i][2] is not None for i in g) for g in groups]
        at = np.array([float(t[runs[g[0]][0]]) for g, q in zip(groups, pause, strict=True) if q])
        out = []
        for g, q in zip(groups, pause, strict=True):
            start = float(t[runs[g[0]][0]])
            pausing = int(np.count_nonzero(np.abs(at - start) <= p.pause_window_s)) - int(q) > 0
            if pausing:
                # a programme that pauses into silence on its own: only its cuts are dropouts
                g = [i for i in g if cut[i]]
                if not g:
                    continue
            a, b = runs[g[0]][0], runs[g[-1]][1]
            level = float(db[a:b][silent[a:b]].max())
            conf = float(np.clip(0.5 + (p.silence_dbfs - level) / 40.0, 0.5, 1.0))
            end = float(t[b]) if b < len(t) else float(t[-1]) + p.window_s
            edge = next((runs[i][2] for i in g if runs[i][2] is not None), None) or {}
            details = {"max_level_dbfs": round(level, 1), "cut": any(cut[i] for i in g), "pausing": pausing, **edge}
            out.append(Event("audio_dropout", float(t[a]), end, conf, self.name, details))
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
