"""Whole-picture video impairments: black, frozen, solid-colour frames, tearing, letterbox, wrong scaling.

All take a `VideoClip`, a window in seconds, a severity in [0, 1] and a seed, and return
(new clip, Truth). Frames outside the window are the input's own objects, untouched (except
`freeze` below 1.0, whose capture noise covers the whole clip).
Cadence faults (drops, repeats, stutter) are in `cadence.py`; block damage in `blocks.py` and
`bitstream.py`.
"""

from __future__ import annotations

import cv2
import numpy as np

from harness.impairments.common import Truth, VideoClip, check_severity, index_window, interpolate, rng_for, truth

# BGR of the colours a failing decoder or HDMI path shows. "green" is YUV (0, 0, 0) converted
# to RGB: what a zero-filled frame buffer looks like on screen.
COLORS: dict[str, tuple[int, int, int]] = {
    "green": (0, 135, 0),
    "magenta": (255, 0, 255),
    "blue": (255, 0, 0),
    "grey": (128, 128, 128),
    "white": (255, 255, 255),
}


def _window(clip: VideoClip, at_s: float, duration_s: float, severity: float) -> tuple[int, int, float]:
    s = check_severity(severity)
    a, b = index_window(at_s, duration_s, clip.fps, len(clip.frames))
    return a, b, s


def black(
    clip: VideoClip, at_s: float, duration_s: float, severity: float = 1.0, seed: int = 0
) -> tuple[VideoClip, Truth]:
    """Black frames: the picture fades to nearly nothing.

    The picture survives at gain 0.2 * (1 - severity): 0.33 -> 13 % brightness (a near-black frame a
    dark-scene rule must still call black), 0.66 -> 7 %, 1.0 -> digital black (all zeros).
    No randomness: the seed is accepted for a uniform signature.
    """
    a, b, s = _window(clip, at_s, duration_s, severity)
    gain = 0.2 * (1.0 - s)
    out = list(clip.frames)
    for i in range(a, b):
        out[i] = (clip.frames[i].astype(np.float32) * gain).round().astype(np.uint8)
    return VideoClip(out, clip.fps), truth("black_frames", "black", a, b, clip.fps, s, gain=gain)


def freeze(
    clip: VideoClip, at_s: float, duration_s: float, severity: float = 1.0, seed: int = 0
) -> tuple[VideoClip, Truth]:
    """Frozen video: the frame at the window's start is held for the whole window.

    Severity sets how clean the capture path is that records the freeze. The device holds a
    bit-identical frame; an analogue or noisy capture path then adds Gaussian noise of sigma
    2 * (1 - severity) levels to *every* frame of the clip, frozen or not (0.33 -> sigma 1.3,
    0.66 -> 0.7, 1.0 -> no noise, bit-identical copies). So the held copies differ by capture
    noise only, exactly as the live frames around them also carry it: the one impairment here that
    changes frames outside its window (with noise only; at severity 1.0 they are untouched).
    """
    a, b, s = _window(clip, at_s, duration_s, severity)
    rng = rng_for(seed, "freeze")
    sigma = 2.0 * (1.0 - s)
    held = clip.frames[a]
    out = [held if a <= i < b else f for i, f in enumerate(clip.frames)]
    if sigma > 0:
        out = [
            np.clip(f.astype(np.float32) + rng.normal(0.0, sigma, f.shape).astype(np.float32), 0, 255)
            .round()
            .astype(np.uint8)
            for f in out
        ]
    else:
        out = [f.copy() if a <= i < b else f for i, f in enumerate(out)]
    return VideoClip(out, clip.fps), truth(
        "frozen_video", "freeze", a, b, clip.fps, s, held_frame=a, noise_sigma=sigma, shown=[a] * (b - a)
    )


def solid_color(
    clip: VideoClip,
    at_s: float,
    duration_s: float,
    severity: float = 1.0,
    seed: int = 0,
    color: str | None = None,
) -> tuple[VideoClip, Truth]:
    """Solid-colour (e.g. green) frames, as a failed hardware decoder shows them.

    Severity is the share of the picture covered, from the bottom up (a partly decoded frame shows
    the colour below the last good line): 0.33 -> bottom 33 %, 0.66 -> bottom 66 %, 1.0 -> the whole
    frame. `color` is a name from COLORS; None lets the seed pick one.
    """
    a, b, s = _window(clip, at_s, duration_s, severity)
    rng = rng_for(seed, "solid_color")
    name = color if color is not None else str(rng.choice(sorted(COLORS)))
    if name not in COLORS:
        raise ValueError(f"unknown colour {name!r}; known: {', '.join(sorted(COLORS))}")
    h = clip.frames[a].shape[0]
    top = h - int(round(h * max(s, 1.0 / h)))  # at least one line, so severity 0 still leaves a trace
    out = list(clip.frames)
    for i in range(a, b):
        f = clip.frames[i].copy()
        f[top:] = COLORS[name]
        out[i] = f
    return VideoClip(out, clip.fps), truth(
        "solid_color", "solid_color", a, b, clip.fps, s, color=name, bgr=list(COLORS[name]), first_line=top
    )


def tearing(
    clip: VideoClip, at_s: float, duration_s: float, severity: float = 1.0, seed: int = 0
) -> tuple[VideoClip, Truth]:
    """Tearing: above a random line the frame is frame N, below it a later frame N + d.

    That is a buffer swapped mid-scan-out; the further apart the two frames, the bigger the visible
    step. d = 1 at 0.33, 2 at 0.66, 4 at 1.0 (d = round(1 + 3 * severity ** 2)). The tear line of
    each frame is drawn uniformly in [10 %, 90 %] of the height and listed in the truth.
    """
    a, b, s = _window(clip, at_s, duration_s, severity)
    rng = rng_for(seed, "tearing")
    d = max(1, int(round(1 + 3 * s**2)))
    h = clip.frames[a].shape[0]
    n = len(clip.frames)
    out = list(clip.frames)
    lines: list[int] = []
    for i in range(a, b):
        line = int(rng.integers(int(0.1 * h), int(0.9 * h) + 1))
        f = clip.frames[i].copy()
        f[line:] = clip.frames[min(n - 1, i + d)][line:]
        out[i] = f
        lines.append(line)
    return VideoClip(out, clip.fps), truth("tearing", "tearing", a, b, clip.fps, s, frame_offset=d, lines=lines)


def letterbox(
    clip: VideoClip, at_s: float, duration_s: float, severity: float = 1.0, seed: int = 0
) -> tuple[VideoClip, Truth]:
    """Letterbox bars where there should be none: the picture shrunk, aspect kept, inside black bars.

    Each top/bottom bar is interpolate(severity, 4 %, 16 %) of the height (0.33 -> 8 %, 0.66 -> 12 %,
    1.0 -> 16 %, about what a 16:9 picture matted to 2.35:1 shows); the picture is scaled by the
    same factor so thin pillar bars appear left and right too. No randomness.
    """
    a, b, s = _window(clip, at_s, duration_s, severity)
    h, w = clip.frames[a].shape[:2]
    bar = max(1, int(round(h * interpolate(s, 0.04, 0.16))))
    ih = h - 2 * bar
    iw = int(round(w * ih / h))
    left = (w - iw) // 2
    out = list(clip.frames)
    for i in range(a, b):
        f = np.zeros_like(clip.frames[i])
        f[bar : bar + ih, left : left + iw] = cv2.resize(clip.frames[i], (iw, ih), interpolation=cv2.INTER_AREA)
        out[i] = f
    bars = {"top": bar, "bottom": h - bar - ih, "left": left, "right": w - left - iw}
    return VideoClip(out, clip.fps), truth("letterbox", "letterbox", a, b, clip.fps, s, bars_px=bars)


def wrong_scaling(
    clip: VideoClip,
    at_s: float,
    duration_s: float,
    severity: float = 1.0,
    seed: int = 0,
    mode: str | None = None,
) -> tuple[VideoClip, Truth]:
    """Wrong scaling: the picture stretched or squeezed horizontally (a wrong aspect-ratio flag).

    The horizontal factor is 1 + severity / 3 for "stretch" (centre-cropped; 1.0 -> 4:3 shown as
    16:9) and its inverse for "squeeze" (black pillar bars); 0.33 -> 1.11, 0.66 -> 1.22, 1.0 -> 1.33.
    `mode` None lets the seed pick. Truth type is the defect name: no event type fits yet.
    """
    a, b, s = _window(clip, at_s, duration_s, severity)
    rng = rng_for(seed, "wrong_scaling")
    m = mode if mode is not None else str(rng.choice(["stretch", "squeeze"]))
    if m not in ("stretch", "squeeze"):
        raise ValueError(f"mode must be 'stretch' or 'squeeze', got {m!r}")
    h, w = clip.frames[a].shape[:2]
    factor = 1.0 + s / 3.0 if m == "stretch" else 1.0 / (1.0 + s / 3.0)
    sw = max(1, int(round(w * factor)))
    out = list(clip.frames)
    for i in range(a, b):
        scaled = cv2.resize(clip.frames[i], (sw, h), interpolation=cv2.INTER_LINEAR)
        if sw >= w:
            x0 = (sw - w) // 2
            out[i] = np.ascontiguousarray(scaled[:, x0 : x0 + w])
        else:
            f = np.zeros_like(clip.frames[i])
            x0 = (w - sw) // 2
            f[:, x0 : x0 + sw] = scaled
            out[i] = f
    return VideoClip(out, clip.fps), truth(
        "wrong_scaling", "wrong_scaling", a, b, clip.fps, s, mode=m, factor=factor, scaled_width=sw
    )
