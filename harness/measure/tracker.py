"""Measurements against a reference title: which title frame each captured frame shows, dropped /
repeated / out-of-order frames, cadence, freezes, start-up, seeks, and A/V offset per sync event.

Sign convention, everywhere in this project: **A/V offset is positive when the sound is late**
(audio behind video), in milliseconds. ITU-R BT.1359 puts the detectability thresholds at
sound 45 ms early (-45 ms here) and 125 ms late (+125 ms here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.measure import framecode
from harness.measure.sync import ChirpFinder, flash_level
from harness.media import AudioBlock, Frame


@dataclass
class SyncEvent:
    frame: int
    video_s: float | None  # capture time of the first captured frame showing the event frame
    audio_s: float | None  # capture time of the chirp onset
    offset_ms: float | None  # audio_s - video_s - calibration (positive = audio late)


@dataclass
class ReferenceReport:
    codes: list[int | None]
    times: list[float]
    dropped: list[int] = field(default_factory=list)  # title frames never shown
    repeated: list[int] = field(
        default_factory=list
    )  # title frames shown once more than expected (one entry per extra)
    out_of_order: list[int] = field(default_factory=list)
    undecodable: int = 0
    holds: dict[int, int] = field(default_factory=dict)  # hold length -> how many title frames had it
    expected_hold: float = 1.0
    longest_freeze_s: float = 0.0
    sync: list[SyncEvent] = field(default_factory=list)
    calibration_ms: float = 0.0
    # where: (first, last title frame dropped, capture time of the frame before, of the frame after)
    dropped_at: list[tuple[int, int, float, float]] = field(default_factory=list)
    # (title frame, extra showings, capture time of its first and last showing)
    repeated_at: list[tuple[int, int, float, float]] = field(default_factory=list)
    # (title frame, the frame shown before it, capture time)
    out_of_order_at: list[tuple[int, int, float]] = field(default_factory=list)

    @property
    def offsets_ms(self) -> list[float]:
        return [e.offset_ms for e in self.sync if e.offset_ms is not None]

    def measurements(self) -> dict[str, float]:
        m: dict[str, float] = {
            "frames_decoded": float(sum(c is not None for c in self.codes)),
            "frames_undecodable": float(self.undecodable),
            "frames_dropped": float(len(self.dropped)),
            "frames_repeated": float(len(self.repeated)),
            "frames_out_of_order": float(len(self.out_of_order)),
            "longest_freeze_s": self.longest_freeze_s,
        }
        off = self.offsets_ms
        if off:
            m["av_offset_ms"] = float(np.mean(off))
            m["av_offset_spread_ms"] = float(np.std(off))
            m["av_offset_max_abs_ms"] = float(np.max(np.abs(off)))
            m["sync_events_matched"] = float(len(off))
        pts = [(e.video_s, e.offset_ms) for e in self.sync if e.offset_ms is not None and e.video_s is not None]
        if len(pts) >= 3:
            t, o = np.array(pts).T
            if np.ptp(t) > 5.0:
                m["av_drift_ms_per_min"] = float(np.polyfit(t / 60.0, o, 1)[0])
        return m

    def where(self) -> dict[str, str]:
        """Per failing cadence measurement, which title frames and capture times it counts:
        {"frames_dropped": "9 title frames dropped: 194-203 at capture 7.90-8.30 s", ...}."""

        def plural(n: int, word: str) -> str:
            return f"{n} {word}{'s' if n != 1 else ''}"

        out: dict[str, str] = {}
        if self.dropped_at:
            runs = [f"{a}-{b}" if a != b else f"{a}" for a, b, _, _ in self.dropped_at]
            spans = [f"{t0:.2f}-{t1:.2f} s" for _, _, t0, t1 in self.dropped_at]
            out["frames_dropped"] = f"{plural(len(self.dropped), 'title frame')} dropped: " + "; ".join(
                f"{r} at capture {s}" for r, s in zip(runs, spans, strict=True)
            )
        if self.repeated_at:
            out["frames_repeated"] = f"{plural(len(self.repeated), 'extra showing')}: " + "; ".join(
                f"title frame {c} shown {plural(x, 'time')} too many at capture {t0:.2f}-{t1:.2f} s"
                for c, x, t0, t1 in self.repeated_at
            )
        if self.undecodable:
            gaps: list[list[float]] = []
            for t, c in zip(self.times, self.codes, strict=True):
                if c is not None:
                    continue
                if gaps and t - gaps[-1][-1] < 0.25:
                    gaps[-1].append(t)
                else:
                    gaps.append([t])
            out["frames_undecodable"] = (
                f"{plural(self.undecodable, 'captured frame')} without a readable code: "
                + "; ".join(f"{plural(len(r), 'frame')} at capture {r[0]:.2f}-{r[-1]:.2f} s" for r in gaps[:10])
                + ("; ..." if len(gaps) > 10 else "")
            )
        if self.out_of_order_at:
            out["frames_out_of_order"] = "; ".join(
                f"title frame {c} after {prev} at capture {t:.2f} s" for c, prev, t in self.out_of_order_at
            )
        return out

    def first_title_frame_s(self, after_s: float) -> float | None:
        for t, c in zip(self.times, self.codes, strict=True):
            if t >= after_s and c is not None:
                return t
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "dropped_frames": self.dropped,
            "repeated_frames": self.repeated,
            "out_of_order_frames": self.out_of_order,
            "where": self.where(),
            "hold_pattern": {str(k): v for k, v in sorted(self.holds.items())},
            "expected_hold": self.expected_hold,
            "sync_events": [e.__dict__ for e in self.sync],
            "calibration_av_offset_ms": self.calibration_ms,
            "sign_convention": "av offset > 0: audio late",
        }


class ReferenceTracker:
    """Consumes the same decoded frames and audio as the detectors (one pass) and measures."""

    def __init__(
        self,
        fps: float,
        sync_frames: Sequence[int],
        calibration_ms: float = 0.0,
        ignore: Sequence[tuple[float, float]] = (),
    ):
        self.fps = fps
        self.sync_frames = list(sync_frames)
        self.calibration_ms = calibration_ms
        self.ignore = list(ignore)  # capture-time windows (seeks, pauses) where cadence is not judged
        self.codes: list[int | None] = []
        self.times: list[float] = []
        self.flash: list[float] = []
        self.chirps = ChirpFinder()

    def feed_video(self, frame: Frame) -> None:
        self.codes.append(framecode.read(frame.luma))
        self.times.append(frame.pts_s)

    def feed_audio(self, block: AudioBlock) -> None:
        x = block.samples
        self.chirps.feed(x.mean(axis=1) if x.ndim == 2 else x, block.start_s)

    def _ignored(self, t: float) -> bool:
        return any(a <= t <= b for a, b in self.ignore)

    def finish(self) -> ReferenceReport:
        rep = ReferenceReport(self.codes, self.times, calibration_ms=self.calibration_ms)
        rep.undecodable = sum(c is None for c in self.codes)
        seq = [(t, c) for t, c in zip(self.times, self.codes, strict=True) if c is not None]
        self._index = {t: i for i, t in enumerate(self.times)}
        if len(self.times) > 1:
            capture_fps = (len(self.times) - 1) / max(1e-9, self.times[-1] - self.times[0])
            rep.expected_hold = capture_fps / self.fps
        self._cadence(rep, seq)
        self._sync(rep, seq)
        return rep

    def _cadence(self, rep: ReferenceReport, seq: list[tuple[float, int]]) -> None:
        runs: list[tuple[int, list[float]]] = []  # title frame, capture times it was seen at
        for t, c in seq:
            if runs and runs[-1][0] == c:
                runs[-1][1].append(t)
            else:
                runs.append((c, [t]))
        rate = max(1.0, rep.expected_hold)
        max_hold = max(1, int(np.ceil(rep.expected_hold - 0.05)))
        step = 1.0 / max(self.fps, rep.expected_hold * self.fps)
        for i, (code, ts) in enumerate(runs):
            rep.holds[len(ts)] = rep.holds.get(len(ts), 0) + 1
            # a frame held through a pause or a seek is expected; only captures outside count
            outside = sum(not self._ignored(t) for t in ts)
            extra = max(0, outside - max_hold)
            if extra:
                rep.repeated.extend([code] * extra)
                rep.repeated_at.append((code, extra, ts[0], ts[-1]))
            if outside == len(ts):
                rep.longest_freeze_s = max(rep.longest_freeze_s, ts[-1] - ts[0] + step)
            if i == 0:
                continue
            prev, prev_ts = runs[i - 1]
            if self._ignored(ts[0]) or self._ignored(prev_ts[-1]):
                continue
            # captured frames between the two runs that carried no readable code could have shown
            # the missing title frames: those are unknown, not dropped
            unread = self._index[ts[0]] - self._index[prev_ts[-1]] - 1
            if code > prev + 1 and code - prev - 1 > unread * rate + 1e-9:
                rep.dropped.extend(range(prev + 1, code))
                rep.dropped_at.append((prev + 1, code - 1, prev_ts[-1], ts[0]))
            elif code < prev:
                rep.out_of_order.append(code)
                rep.out_of_order_at.append((code, prev, ts[0]))

    def _sync(self, rep: ReferenceReport, seq: list[tuple[float, int]]) -> None:
        first_seen: dict[int, float] = {}
        for t, c in seq:
            first_seen.setdefault(c, t)
        onsets = self.chirps.finish()
        video: list[tuple[int, float]] = []
        for f in self.sync_frames:
            if f in first_seen:
                video.append((f, first_seen[f]))
            else:
                # the event frame itself was dropped or unreadable: extrapolate from a neighbour it follows
                near = [(c, t) for t, c in seq if f < c <= f + 3]
                if near:
                    c, t = near[0]
                    video.append((f, t - (c - f) / self.fps))
        used: set[int] = set()
        for f, vt in video:
            cands = [(abs(a - vt), i) for i, a in enumerate(onsets) if i not in used and abs(a - vt) <= 1.0]
            if not cands:
                rep.sync.append(SyncEvent(f, vt, None, None))
                continue
            _, i = min(cands)
            used.add(i)
            off = (onsets[i] - vt) * 1000.0 - self.calibration_ms
            rep.sync.append(SyncEvent(f, vt, onsets[i], off))


def flash_times(luma_levels: Sequence[float], times: Sequence[float], threshold: float = 200.0) -> list[float]:
    """Capture times where the flash patch turns white (fallback when frame codes are unreadable)."""
    out = []
    prev = 0.0
    for lv, t in zip(luma_levels, times, strict=True):
        if lv >= threshold > prev:
            out.append(t)
        prev = lv
    return out


__all__ = ["ReferenceReport", "ReferenceTracker", "SyncEvent", "flash_level", "flash_times"]
