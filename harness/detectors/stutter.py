"""stutter: pictures held for longer (or shorter) than the content's own cadence allows, on any
content, without frame codes.

A capture runs at the output's rate; the content may run slower (a 25 fps title on a 50 Hz
output shows every picture twice, 24 fps film on 60 Hz alternates 3 and 2 slots, a 10 fps webcam
on 25 Hz alternates 2 and 3, animation on twos holds each drawing for 2 frames). None of that is a
defect: each is a *regular* cadence, the pictures falling on the slots of an even division of the
output rate by the content rate. Stutter is a picture that arrives late against that division (a
hold the cadence does not have: a dropped or a repeated frame, frames delivered in bursts) or
early (a picture shown for fewer slots than the cadence gives it).

1. **Holds.** Each frame is compared to the one before on a coarse grid (as `frozen_video`: the
   largest mean absolute luma difference of any block, every 4th pixel). It repeats the frame
   before when that activity is at most `min(repeat_mad, max(exact_repeat_mad, repeat_rel * ref))`,
   `ref` being the median activity of the new pictures of the last `reference_s` (or half the
   90th percentile of all its frames, if more: a cadence of mostly holds must not teach itself
   that holds are motion). Only where the picture moves clearly (`ref >= motion_floor`) can a
   hold be told from a still moment, so only there is the cadence judged: a static shot, a slow
   fade or a still with grain says nothing. Flat frames (black, one colour) and holds longer than
   `max_hold_s` (a freeze: `frozen_video`'s) end the stretch being judged; a frame neither
   clearly held nor clearly new resyncs the test (step 3).
2. **The content's rate.** Over windows of `rate_window_s` (hop half of it) the share of slots
   that bring a new picture; the measured share near a stretch is the upper quartile over the
   windows within `rate_span_s` (holds only lower a window's share, so a stutter, which lowers it
   in its own windows, does not move it), snapped to the common content rate it is within 1.5 %
   of (10, 12, 12.5, 15, 20, 23.976, 24, 25, 29.97, 30, 48, 50, 59.94, 60 fps), or to the output's
   own rate when within 1.5 % of it. Candidates beside it: the output's rate and the common rates
   within 5 % of the share, the rate implied by holds that recur at a steady spacing (a frame-rate
   conversion's duplicates), and for an uncommon rate the stretch's own least-squares slope. The
   candidate leaving the fewest irregular pictures (step 3) is the content's rate.
3. **The cadence test.** With P output slots per content picture, picture k at slot s_k has the
   residual e_k = s_k - k P. A regular cadence, however its slots are rounded, keeps every residual
   within one slot of any other: any run of m consecutive pictures spans m P slots give or take
   less than one. A picture whose residual exceeds the smallest of the last `window_s` by
   `1 - tolerance` or more came late (a hold); one whose residual falls below the largest by as
   much came early. Early pictures are reported only in a cadence of two slots or more: under two
   no picture can be cut short, and one early there is a hold that changed too much to be seen
   (it still counts against a candidate rate). Each finding restarts the window at that picture,
   so one hold counts once. Findings less than `merge_s` apart are one event (a burst of
   irregular delivery).

Not told apart: duplicates in the content itself. Pristine footage has some (an edit, a film
transfer: Megamind.avi holds one picture for two frames about every 20 s), and they are as
irregular as a device's stutter; a capture of such a title reports them.

| param | default | reason |
| --- | --- | --- |
| exact_repeat_mad | 0.1 | at or below this a frame repeats the one before whatever the motion: H.264 at CRF 16 leaves held frames 0.00-0.1 apart (as `frozen_video`). |
| repeat_rel | 0.25 | a hold changes by at most a quarter of what the moving picture changes per frame: capture noise on a held frame stays under 0.5 levels, moving footage changes some block by 2-30. |
| repeat_mad | 3.0 | the most a held frame may change (8-bit levels): a capture card's own compression or analogue noise leaves a held frame up to 1-2 levels apart in some block. |
| ambiguous | 2.5 | a frame changing by more than the hold limit but less than this many times it (and less than 1 level over it) is neither clearly held nor clearly new: the cadence test resyncs after it (no finding across it), as a guess either way would invent a cadence fault. |
| motion_floor | 2.0 | least median activity for the cadence to be judged: below it (slow pans on flat pictures, a still with grain, a fade) a moving frame and a held one are too close to tell. |
| reference_s | 2.0 | the history `ref` is taken from. |
| cut_ratio | 5.0 | a frame changing by more than this many times `ref` is a cut: the history starts again after it (a bright shot's motion would make a dark shot's slow frames look held). |
| max_hold_s | 0.5 | longer holds are freezes (`frozen_video`, min 0.5 s) or still moments, not stutter. |
| rate_window_s | 2.0 | windows the content rate is counted in: 50 slots at 25 fps, enough to tell 24 fps from 25. |
| rate_span_s | 15.0 | windows within this of a picture give its content rate: a stutter of a few seconds is outvoted, a change of cadence (a 30 fps trailer, then the 24 fps film) is followed. |
| window_s | 2.0 | how far back the cadence test looks: a regular cadence never drifts a slot in any span, a single hold shows within its first picture after. |
| tolerance | 0.005 | slack on "one slot". The residuals of a regular cadence always lie within an interval shorter than one slot (a 23.976 fps title on 25 Hz spans 0.98 of one in two seconds), and a hold moves the pictures after it by a whole slot, so the test needs the exact period: the content rate is snapped to a common rate, or else taken as the stretch's own least-squares slope. |
| merge_s | 1.0 | findings closer than this are one event. |
| grid | 8 | blocks per side (64 blocks). |
| subsample | 4 | every 4th pixel each way. |
| min_spatial_std | 3.0 | flatter frames are black or one colour: `black_frames` / `solid_color` own them. |
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from harness.detectors.base import Detector, Params, Series, block_activity
from harness.events import Event
from harness.media import Frame

COMMON_FPS = (
    10.0,
    12.0,
    12.5,
    15.0,
    20.0,
    24000 / 1001,
    24.0,
    25.0,
    30000 / 1001,
    30.0,
    48.0,
    50.0,
    60000 / 1001,
    60.0,
)


class StutterParams(Params):
    exact_repeat_mad: float = Field(0.1, ge=0)
    repeat_rel: float = Field(0.25, gt=0, lt=1)
    repeat_mad: float = Field(3.0, gt=0)
    ambiguous: float = Field(2.5, ge=1)
    motion_floor: float = Field(2.0, ge=0)
    reference_s: float = Field(2.0, gt=0)
    cut_ratio: float = Field(5.0, gt=1)
    max_hold_s: float = Field(0.5, gt=0)
    rate_window_s: float = Field(2.0, gt=0)
    rate_span_s: float = Field(15.0, gt=0)
    window_s: float = Field(2.0, gt=0)
    tolerance: float = Field(0.005, ge=0, lt=0.5)
    merge_s: float = Field(1.0, ge=0)
    grid: int = Field(8, ge=1, le=32)
    subsample: int = Field(4, ge=1, le=16)
    min_spatial_std: float = Field(3.0, ge=0)


def snap_rate(r: float, output_fps: float) -> float:
    """The content rate as a share of the output's, snapped to a common content rate within 1.5 %."""
    if r >= 1 / 1.015:
        return 1.0
    fps = r * output_fps
    best = min(COMMON_FPS, key=lambda f: abs(f - fps) / f)
    return best / output_fps if abs(best - fps) / best <= 0.015 and best < output_fps else r


class Stutter(Detector):
    name = "stutter"
    version = "1"
    consumes = "video"
    Params = StutterParams
    params: StutterParams

    def __init__(self, params: BaseModel | dict[str, Any] | None = None) -> None:
        super().__init__(params)
        self._prev: np.ndarray | None = None
        self._t = Series()
        self._act = Series(np.float32)
        self._flat = Series(bool)
        self._repeat: np.ndarray = np.zeros(0, bool)
        self._judged: np.ndarray = np.zeros(0, bool)
        self._rate: np.ndarray = np.zeros(0)
        self._unsure: np.ndarray = np.zeros(0, np.int64)  # frames neither held nor new (set by findings)

    def feed_video(self, frame: Frame) -> None:
        p = self.params
        cur, act = block_activity(frame.luma, self._prev, p.grid, p.subsample)
        self._prev = cur
        self._t.append(frame.pts_s)
        self._flat.append(float(cur.std()) < p.min_spatial_std)
        self._act.append(np.inf if act is None else act)  # the first frame (or a new size) is a new picture

    # ---- decisions -------------------------------------------------------------------------
    def _holds(self, t: np.ndarray, a: np.ndarray, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per frame: does it repeat the frame before, is the cadence judged there, and is the
        frame neither clearly held nor clearly new?"""
        p = self.params
        n = len(a)
        repeat = np.zeros(n, bool)
        judged = np.zeros(n, bool)
        unsure = np.zeros(n, bool)
        live: deque[tuple[float, float]] = deque()
        recent: deque[tuple[float, float]] = deque()  # every frame's activity, held or not
        relearn = False  # after a cut, until `ref` is learnt again
        for i in range(n):
            while live and t[i] - live[0][0] > p.reference_s:
                live.popleft()
            while recent and t[i] - recent[0][0] > p.reference_s:
                recent.popleft()
            ref = float(np.median([v for _, v in live])) if len(live) >= 3 else 0.0
            if len(recent) >= 5:  # mostly holds (3:2 at 60 Hz): the median alone would learn them as motion
                ref = max(ref, 0.5 * float(np.percentile([v for _, v in recent], 90)))
            x = float(a[i])
            if ref > 0 and x > p.cut_ratio * ref:  # a cut: the motion before it says nothing of the shot after
                live.clear()
                recent.clear()
                ref, relearn = 0.0, True
            elif np.isfinite(x) and not flat[i]:
                recent.append((float(t[i]), x))
            limit = min(p.repeat_mad, max(p.exact_repeat_mad, p.repeat_rel * ref))
            repeat[i] = x <= limit
            relearn = relearn and len(live) < 3
            if relearn and not flat[i]:  # the frames just after a cut: the stretch goes on, the test resyncs
                judged[i] = unsure[i] = True
            else:
                judged[i] = ref >= p.motion_floor and not flat[i]
                unsure[i] = limit < x < min(p.ambiguous * limit, limit + 1.0)
            if not repeat[i] and np.isfinite(x) and not flat[i]:
                live.append((float(t[i]), x))
        return repeat, judged, unsure

    def _stretches(self, t: np.ndarray, repeat: np.ndarray, judged: np.ndarray, fps: float) -> list[list[int]]:
        """Slots of the new pictures, per stretch of judged frames without a long hold."""
        max_hold = max(2, int(round(self.params.max_hold_s * fps)))
        out: list[list[int]] = []
        cur: list[int] = []
        held = 0
        for i in range(len(t)):
            if not judged[i]:
                if len(cur) > 1:
                    out.append(cur)
                cur, held = [], 0
                continue
            if repeat[i]:
                held += 1
                if held >= max_hold:  # a freeze or a still moment: judged again from the next picture
                    if len(cur) > 1:
                        out.append(cur)
                    cur = []
                continue
            held = 0
            cur.append(i)
        if len(cur) > 1:
            out.append(cur)
        return out

    def _rates(self, t: np.ndarray, stretches: list[list[int]], fps: float) -> tuple[np.ndarray, np.ndarray]:
        """(window centre times, share of new pictures) of every rate window inside one stretch."""
        p = self.params
        win = max(4, int(round(p.rate_window_s * fps)))
        hop = max(1, win // 2)
        centres, shares = [], []
        for st in stretches:
            lo, hi = st[0], st[-1] + 1
            marks = np.zeros(hi - lo, bool)
            marks[np.asarray(st) - lo] = True
            for a in range(0, hi - lo - win + 1, hop):
                centres.append(float(t[lo + a + win // 2]))
                shares.append(float(marks[a : a + win].mean()))
        return np.asarray(centres), np.asarray(shares)

    def _scan(self, slots: list[int], period: float, window: float) -> list[tuple[int, int, bool]]:
        """(picture index, slots late (+) or early (-), reported) of every irregular picture of a
        stretch for a cadence of `period` output slots a picture (the module doc, step 3)."""
        tol = 1 - self.params.tolerance
        lo: deque[tuple[int, float]] = deque()  # (slot, residual), residuals increasing: the window's min first
        hi: deque[tuple[int, float]] = deque()  # residuals decreasing: the window's max first
        out: list[tuple[int, int, bool]] = []
        unsure = self._unsure
        for k, s in enumerate(slots):
            e = s - k * period
            if k and len(unsure):
                j = int(np.searchsorted(unsure, slots[k - 1], side="right"))
                if j < len(unsure) and unsure[j] <= s:  # a frame neither held nor new came between
                    lo.clear()
                    hi.clear()
            while lo and s - lo[0][0] > window:
                lo.popleft()
            while hi and s - hi[0][0] > window:
                hi.popleft()
            if lo:
                late, early = e - lo[0][1], e - hi[0][1]
                if late >= tol or early <= -tol:
                    if late >= tol:
                        out.append((k, int(np.floor(late + 1 - tol)), True))
                    else:
                        # in a cadence under two slots a picture no picture can be cut short: one
                        # early there is a hold that changed too much to be seen; not reported, but
                        # it still counts against the candidate rate
                        out.append((k, -int(np.floor(-early + 1 - tol)), period >= 2 - self.params.tolerance))
                    lo.clear()
                    hi.clear()
            while lo and lo[-1][1] >= e:
                lo.pop()
            lo.append((s, e))
            while hi and hi[-1][1] <= e:
                hi.pop()
            hi.append((s, e))
        return out

    def _spacing(self, holds: np.ndarray, centre: int, fps: float) -> float | None:
        """The slots between holds near `centre` when they recur regularly (a 23.976 fps title on
        25 Hz holds one picture every 24.4 slots), else None: at least 5 holds, 60 % of the gaps
        within a slot of their median (or of twice it: a hold that changed too much to be seen)."""
        span = int(self.params.rate_span_s * fps)
        near = holds[(holds >= centre - span) & (holds <= centre + span)]
        if len(near) < 5:
            return None
        gaps = np.diff(near).astype(np.float64)
        m = float(np.median(gaps))
        if m < 3:
            return None
        fits = (np.abs(gaps - m) <= 1) | (np.abs(gaps - 2 * m) <= 2)
        if fits.mean() < 0.6:
            return None
        return float(np.mean(gaps[np.abs(gaps - m) <= 1]))

    def _rate_for(
        self, slots: list[int], share: float, fps: float, window: float, spacing: float | None = None
    ) -> float:
        """The content rate (share of the output's) that explains the stretch's cadence best.

        Common candidates: the measured share snapped, the output's own rate (share >= 0.97), the
        common content rates within 5 % of the share, the rate implied by regularly spaced holds;
        the one leaving the fewest irregular pictures wins, ties to the earlier. A window's share
        has steps of 1/50 at 25 fps, so 23.976 and 24 fps, or a share of 0.98 and full rate, are
        told apart by the cadence they leave. An uncommon rate (the share itself when nothing
        common is near it, the stretch's least-squares slope) wins only if it leaves at least two
        (and 10 %) fewer: a defect always leaves some irregular pictures, and some wrong period
        always explains one or two of them away."""
        common = {1.0, *(f / fps for f in COMMON_FPS)}
        first = snap_rate(share, fps)
        cands = [first] + ([1.0] if share >= 0.97 else [])
        cands += [f / fps for f in COMMON_FPS if f < fps * 0.985 and abs(f / fps - share) <= 0.05 * share]
        if spacing is not None:
            cands.append(snap_rate(1.0 - 1.0 / spacing, fps))
        odd = [r for r in cands if r not in common]
        cands = [r for r in cands if r in common]
        if len(slots) > 10 and (odd or not cands):
            slope = float(np.polyfit(np.arange(len(slots)), np.asarray(slots, np.float64), 1)[0])
            if slope >= 1.0:
                odd.append(1.0 / slope)

        def pick(rates: list[float]) -> tuple[float | None, int]:
            best, best_n = None, 1 << 30
            for r in rates:
                n = len(self._scan(slots, 1.0 / r, window))
                if n < best_n:
                    best, best_n = r, n
                if best_n == 0:
                    break
            return best, best_n

        c, c_n = pick(cands)
        o, o_n = pick(odd)
        if c is None or (o is not None and o_n + max(2, 0.1 * c_n) <= c_n):
            return o if o is not None else first
        return c

    def findings(self) -> list[tuple[int, int, int, float]]:
        """(slot of the last picture before the irregular one, its slot, slots late (+) or early
        (-), content rate as a share of the output's) for every irregular picture."""
        p = self.params
        t = np.asarray(self._t)
        a = np.asarray(self._act, np.float64)
        flat = np.asarray(self._flat)
        if len(t) < 3:
            return []
        fps = 1.0 / float(np.median(np.diff(t))) if np.median(np.diff(t)) > 0 else 25.0
        repeat, judged, unsure = self._holds(t, a, flat)
        self._repeat, self._judged = repeat, judged
        self._unsure = np.nonzero(unsure & judged)[0]
        stretches = self._stretches(t, repeat, judged, fps)
        centres, shares = self._rates(t, stretches, fps)
        holds = np.nonzero(repeat & judged)[0]
        self._rate = np.full(len(t), np.nan)
        window = p.window_s * fps
        out: list[tuple[int, int, int, float]] = []
        for st in stretches:
            near = np.abs(centres - float(np.median(t[st]))) <= p.rate_span_s
            if not near.any():  # a stretch shorter than one rate window: nothing to judge it by
                continue
            spacing = self._spacing(holds, (st[0] + st[-1]) // 2, fps)
            r = self._rate_for(st, float(np.percentile(shares[near], 75)), fps, window, spacing)
            self._rate[st[0] : st[-1] + 1] = r * fps
            for k, n, reported in self._scan(st, 1.0 / r, window):
                if reported:
                    out.append((st[k - 1], st[k], n, r))
        return out

    def finish(self) -> list[Event]:
        p = self.params
        found = self.findings()
        t = np.asarray(self._t)
        events: list[Event] = []
        group: list[tuple[int, int, int, float]] = []

        def close() -> None:
            if not group:
                return
            start, end = float(t[group[0][0]]), float(t[group[-1][1]])
            late = sum(x[2] for x in group if x[2] > 0)
            early = -sum(x[2] for x in group if x[2] < 0)
            fps_out = 1.0 / float(np.median(np.diff(t)))
            content = group[0][3] * fps_out
            parts = []
            if late:
                parts.append(f"{late} slot{'s' if late != 1 else ''} held")
            if early:
                parts.append(f"{early} cut short")
            summary = f"{len(group)} irregular picture{'s' if len(group) != 1 else ''} ({', '.join(parts)}) in a {content:.3g} fps cadence"
            conf = float(np.clip(0.6 + 0.1 * len(group), 0.6, 1.0))
            events.append(
                Event(
                    "stutter",
                    start,
                    max(end, start + 1e-3),
                    conf,
                    self.name,
                    {
                        "irregular_pictures": len(group),
                        "slots_held": late,
                        "slots_cut_short": early,
                        "content_fps": round(content, 3),
                        "output_fps": round(fps_out, 3),
                        "summary": summary,
                    },
                )
            )
            group.clear()

        for f in found:
            if group and t[f[0]] - t[group[-1][1]] > p.merge_s:
                close()
            group.append(f)
        close()
        return events

    def signals(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        t = np.asarray(self._t)
        if len(t) < 2:
            return {}
        out = {"held (1) / new (0)": (t, self._repeat.astype(np.float64))} if len(self._repeat) == len(t) else {}
        if len(self._rate) == len(t):
            out["content fps"] = (t, self._rate)
        return out
