"""A/V sync impairments: the audio moved against the (untouched) video, sample-accurately.

Positive delays mean the audio is late (you see the lips move, then hear the word), the same
sign as `av_offset` in the simulated device and the `av_offset_ms` measurement. Inside the window
output sample i plays the source at time i / rate - delay(i); outside it the audio is untouched,
so the window's edges are where sync snaps (a short repeat or skip of sound, as a player's
resync would make).
"""

from __future__ import annotations

import numpy as np

from harness.impairments.common import AudioClip, Truth, check_severity, index_window, interpolate, truth


def _delayed(x: np.ndarray, a: int, b: int, delay_samples: np.ndarray) -> np.ndarray:
    """x with samples a..b-1 replaced by x read at (i - delay), linearly interpolated between
    samples for fractional delays; reads before the start of the clip are silence."""
    out = x.copy()
    pos = np.arange(a, b) - delay_samples
    lo = np.floor(pos).astype(np.int64)
    frac = (pos - lo)[:, None]
    n = len(x)
    lo_c, hi_c = np.clip(lo, 0, n - 1), np.clip(lo + 1, 0, n - 1)
    seg = x[lo_c] * (1 - frac) + x[hi_c] * frac
    seg[pos < 0] = 0.0
    out[a:b] = seg.astype(x.dtype)
    return out


def av_offset(
    clip: AudioClip,
    at_s: float,
    duration_s: float,
    severity: float = 1.0,
    seed: int = 0,
    offset_ms: float | None = None,
) -> tuple[AudioClip, Truth]:
    """Constant A/V offset: the audio in the window is the source delayed by offset_ms.

    offset_ms = interpolate(severity, 10, 240): 0.33 -> 86 ms (inside the 125 ms late-audio limit of
    ITU-R BT.1359, a detector must still see it), 0.66 -> 162 ms (past it), 1.0 -> 240 ms.
    `offset_ms` overrides it; negative = audio early. Whole-sample
    offsets are exact copies; fractional ones interpolate. No randomness.
    """
    s = check_severity(severity)
    x = np.asarray(clip.samples, dtype=np.float32)
    a, b = index_window(at_s, duration_s, clip.rate, len(x))
    ms = float(offset_ms) if offset_ms is not None else interpolate(s, 10.0, 240.0)
    d = ms * clip.rate / 1000.0
    delay = np.full(b - a, d)
    if d == round(d):  # integer shift: copy exactly, no interpolation rounding
        out = x.copy()
        src = np.arange(a, b) - int(round(d))
        ok = (src >= 0) & (src < len(x))
        out[a:b] = 0.0
        out[np.arange(a, b)[ok]] = x[src[ok]]
    else:
        out = _delayed(x, a, b, delay)
    return AudioClip(out, clip.rate), truth("av_sync_offset", "av_offset", a, b, clip.rate, s, offset_ms=ms)


def av_drift(
    clip: AudioClip,
    at_s: float,
    duration_s: float,
    severity: float = 1.0,
    seed: int = 0,
    drift_ms_per_min: float | None = None,
) -> tuple[AudioClip, Truth]:
    """Linear A/V drift: the audio's delay grows from 0 at the window's start at drift_ms_per_min.

    A sound and a picture clock that disagree drift like this; 100 ppm is 6 ms/min. For windows of
    seconds the benchmark needs larger rates: drift = interpolate(severity, 10, 300) ms/min:
    0.33 -> 106, 0.66 -> 201, 1.0 -> 300 ms/min. `drift_ms_per_min` overrides it (negative = audio
    runs ahead). Delay at sample i of the window: drift * (i - a) / rate / 60 ms, fractional delays
    by linear interpolation. Truth params: rate and `end_offset_ms` (the delay at the window's end).
    """
    s = check_severity(severity)
    x = np.asarray(clip.samples, dtype=np.float32)
    a, b = index_window(at_s, duration_s, clip.rate, len(x))
    rate_ms = float(drift_ms_per_min) if drift_ms_per_min is not None else interpolate(s, 10.0, 300.0)
    t = np.arange(b - a) / clip.rate
    delay = rate_ms * t / 60.0 * clip.rate / 1000.0
    out = _delayed(x, a, b, delay)
    end_ms = rate_ms * (b - a) / clip.rate / 60.0
    return AudioClip(out, clip.rate), truth(
        "av_sync_offset", "av_drift", a, b, clip.rate, s, drift_ms_per_min=rate_ms, end_offset_ms=end_ms
    )
