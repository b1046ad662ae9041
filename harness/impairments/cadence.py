"""Cadence impairments: dropped frames, repeated frames, stutter (irregular frame delivery).

A capture runs at a fixed frame rate, so a cadence fault never changes the frame count: it
changes which source frame each output slot shows. Each function builds that map (`shown[i]` =
source index in slot i), applies it, and puts the exact counts in the truth, with the window's
part of the map as `shown` (what a frame-code measurement must reconstruct). Outside the window
the map is the identity, so the clip keeps its length and its sync with the audio.
"""

from __future__ import annotations

import numpy as np

from harness.impairments.common import Truth, VideoClip, check_severity, index_window, rng_for, truth


def _apply(clip: VideoClip, shown: np.ndarray) -> VideoClip:
    return VideoClip([clip.frames[int(j)] for j in shown], clip.fps)


def _count(severity: float, slots: int) -> int:
    """How many cadence faults: severity * 20 % of the window's frames, at least one.

    0.33 -> one in 15 frames, 0.66 -> one in 7.5, 1.0 -> one in 5.
    """
    return int(min(max(1, round(0.2 * severity * slots)), max(1, slots - 1)))


def drop_frames(
    clip: VideoClip, at_s: float, duration_s: float, severity: float = 1.0, seed: int = 0
) -> tuple[VideoClip, Truth]:
    """Dropped frames: k source frames are never shown; the previous frame is held in their slot.

    The content stays on time (what a player synced to the audio clock does), so each drop is a
    one-slot hold followed by a two-frame motion jump. k per `_count`; positions are drawn by the
    seed among the window's frames except its first (the held frame must come from the window
    or just before it). Truth params: `dropped` (source indices never shown), `count`.
    """
    s = check_severity(severity)
    n = len(clip.frames)
    a, b = index_window(at_s, duration_s, clip.fps, n)
    rng = rng_for(seed, "drop_frames")
    lo = a if a > 0 else 1
    k = _count(s, b - lo)
    dropped = np.sort(rng.choice(np.arange(lo, b), size=min(k, b - lo), replace=False))
    shown = np.arange(n)
    for p in dropped:
        shown[p] = shown[p - 1]
    return _apply(clip, shown), truth(
        "stutter",
        "drop_frames",
        a,
        b,
        clip.fps,
        s,
        dropped=dropped.tolist(),
        count=len(dropped),
        shown=shown[a:b].tolist(),
    )


def repeat_frames(
    clip: VideoClip, at_s: float, duration_s: float, severity: float = 1.0, seed: int = 0
) -> tuple[VideoClip, Truth]:
    """Repeated frames: k extra copies of a frame are inserted, so the content falls behind.

    Each repeat delays everything after it by one frame (smooth motion, one pause); at the window's
    end the content jumps back onto the timeline, skipping the k frames it fell behind by, as a
    player resyncing would. Truth params: `repeated` (output slots that repeat the slot before),
    `count`, `resync_skipped` (source frames never shown at the resync, k of them).
    """
    s = check_severity(severity)
    n = len(clip.frames)
    a, b = index_window(at_s, duration_s, clip.fps, n)
    rng = rng_for(seed, "repeat_frames")
    lo = a if a > 0 else 1
    k = _count(s, b - lo)
    slots = np.sort(rng.choice(np.arange(lo, b), size=min(k, b - lo), replace=False))
    shown = np.arange(n)
    lag = np.zeros(n, int)
    lag[slots] = 1
    lag[a:b] = np.cumsum(lag[a:b])
    shown[a:b] -= lag[a:b]
    skipped = list(range(int(shown[b - 1]) + 1, b)) if b < n else []
    return _apply(clip, shown), truth(
        "stutter",
        "repeat_frames",
        a,
        b,
        clip.fps,
        s,
        repeated=slots.tolist(),
        count=len(slots),
        resync_skipped=skipped,
        shown=shown[a:b].tolist(),
    )


def stutter(
    clip: VideoClip, at_s: float, duration_s: float, severity: float = 1.0, seed: int = 0
) -> tuple[VideoClip, Truth]:
    """Stutter: frames arrive in irregular bursts; each shown frame is held 1..H slots, then the
    picture jumps to the frame that is due now (content on time, cadence irregular).

    The hold length is drawn uniformly in 1..H with H = 1 + round(3 * severity): 0.33 -> holds of
    1-2 slots, 0.66 -> 1-3, 1.0 -> 1-4 (160 ms at 25 fps). Truth params: `holds` (list of
    [slot, length] for holds over 1 slot), `held_slots` (slots showing an older frame), `skipped`
    (source frames never shown).
    """
    s = check_severity(severity)
    n = len(clip.frames)
    a, b = index_window(at_s, duration_s, clip.fps, n)
    rng = rng_for(seed, "stutter")
    max_hold = 1 + int(round(3 * s))
    shown = np.arange(n)
    holds: list[list[int]] = []
    i = a
    while i < b:
        h = int(rng.integers(1, max_hold + 1))
        h = min(h, b - i)
        shown[i : i + h] = i
        if h > 1:
            holds.append([i, h])
        i += h
    if not holds and b - a >= 2:  # severity 0 still leaves one measurable stutter
        shown[a + 1] = a
        holds.append([a, 2])
    in_window = set(shown[a:b].tolist())
    skipped = [j for j in range(a, b) if j not in in_window]
    held = int(sum(h - 1 for _, h in holds))
    return _apply(clip, shown), truth(
        "stutter",
        "stutter",
        a,
        b,
        clip.fps,
        s,
        holds=holds,
        held_slots=held,
        skipped=skipped,
        max_hold=max_hold,
        shown=shown[a:b].tolist(),
    )
