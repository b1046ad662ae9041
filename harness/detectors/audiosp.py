"""Signal-processing checks of the four audio-artifact classes on one window of samples: the
`audio_artifacts` detector's evidence and the benchmark's baseline (numpy only).

- **hum**: prominence of the lines at 50 or 60 Hz and their harmonics 2-5 in a 1 Hz-resolution
  spectrum, dB above the median of the bins 3-12 Hz either side; the score is the mean of the three
  most prominent of the five, for the better of 50 and 60 Hz. Mains hum is a comb of steady lines;
  a bass note is one line (and moves).
- **hiss**: the noise floor: over the quietest fifth of the 20 ms frames, the spectral flatness
  (geometric over arithmetic mean of the power) from 2 to 16 kHz, and their level. Hiss fills the
  pauses with a flat spectrum; room tone and reverb tails are dull and quiet.
- **clipping**: the share of samples in runs of three or more equal samples at the window's peak
  magnitude (hard clipping) and the share within 0.5 % of it (a clipper after a codec).
- **clicks**: second-difference outliers: samples whose |second difference| exceeds 12 times the
  median over the surrounding 10 ms (or the window's 90th percentile, when higher) and is the largest within 2 ms, counted per second.
"""

from __future__ import annotations

from typing import Any

import numpy as np

HUM_LINES = 5


def hum_score(x: np.ndarray, rate: int) -> tuple[float, float]:
    """(prominence dB, mains Hz) of the mains comb in mono samples `x` (at least 0.5 s)."""
    n = len(x)
    if n < rate // 2:
        return 0.0, 0.0
    spec = np.abs(np.fft.rfft(x * np.hanning(n), n=max(n, rate))) ** 2
    df = rate / max(n, rate)
    best, best_f = 0.0, 0.0
    for f0 in (50.0, 60.0):
        prom = []
        for k in range(1, HUM_LINES + 1):
            c = int(round(k * f0 / df))
            w = max(1, int(round(1.0 / df)))
            line = spec[c - w : c + w + 1].max()
            lo, hi = int(3 / df), int(12 / df)
            ref = np.concatenate([spec[c - hi : c - lo], spec[c + lo : c + hi]])
            prom.append(10 * np.log10(max(line, 1e-20) / max(float(np.median(ref)), 1e-20)))
        score = float(np.mean(sorted(prom)[-3:]))
        if score > best:
            best, best_f = score, f0
    return best, best_f


def hiss_score(x: np.ndarray, rate: int, frame: int = 960) -> tuple[float, float]:
    """(spectral flatness 0-1 of the quietest frames from 2 to 16 kHz, their level dBFS)."""
    m = len(x) // frame
    if m < 5:
        return 0.0, -120.0
    fr = x[: m * frame].reshape(m, frame)
    energy = np.mean(fr**2, axis=1)
    quiet = fr[np.argsort(energy)[: max(1, m // 5)]]
    p = np.abs(np.fft.rfft(quiet * np.hanning(frame), axis=1)) ** 2
    f = np.fft.rfftfreq(frame, 1 / rate)
    band = p[:, (f >= 2000) & (f <= 16000)].mean(axis=0) + 1e-20
    flat = float(np.exp(np.mean(np.log(band))) / np.mean(band))
    level = float(10 * np.log10(max(float(np.mean(quiet**2)), 1e-12)))
    return flat, level


def clip_score(x: np.ndarray) -> tuple[float, float]:
    """(share of samples in flat runs of >= 3 at the peak, share within 0.5 % of the peak)."""
    a = np.abs(x)
    peak = float(a.max()) if len(a) else 0.0
    if peak < 0.05:
        return 0.0, 0.0
    at = a >= peak * (1 - 1e-6)
    same = np.concatenate([[False], np.diff(x) == 0])
    flat = at & same
    runs = flat & np.concatenate([[False], flat[:-1]])  # the third and later samples of a run
    near = float(np.mean(a >= peak * 0.995))
    return float(np.mean(runs)), near


def click_rate(x: np.ndarray, rate: int) -> float:
    """Second-difference outliers a second."""
    from scipy.ndimage import maximum_filter1d, median_filter

    if len(x) < rate // 10:
        return 0.0
    d2 = np.abs(np.diff(x, n=2))
    med = median_filter(d2, size=max(3, rate // 100), mode="nearest")
    peak = maximum_filter1d(d2, size=max(3, rate // 500)) == d2
    floor = max(float(np.quantile(d2, 0.9)), 1e-4)  # gated pauses: a local median of zero is no reference
    out = (d2 > 12 * np.maximum(med, floor)) & peak
    return float(out.sum() * rate / len(x))


def measure(x: np.ndarray, rate: int) -> dict[str, Any]:
    """All four measures of a mono window, rounded for an event's details."""
    hum, f0 = hum_score(x, rate)
    flat, floor = hiss_score(x, rate)
    runs, near = clip_score(x)
    return {
        "hum_prominence_db": round(hum, 1),
        "hum_mains_hz": f0,
        "noise_floor_flatness": round(flat, 3),
        "noise_floor_dbfs": round(floor, 1),
        "clipped_run_share": round(runs, 4),
        "near_peak_share": round(near, 4),
        "clicks_per_s": round(click_rate(x, rate), 1),
    }


# thresholds of the baseline decision, fitted on the *train* sources by `vqa bench artifacts`
# (each at the value that keeps 2 % of clean train windows above it) and kept here
BASELINE = {"hum_prominence_db": 18.0, "noise_floor_flatness": 0.45, "clipped_run_share": 0.002, "clicks_per_s": 3.0}


def baseline_class(m: dict[str, Any], thresholds: dict[str, float] | None = None) -> int:
    """The baseline's class (0 clean, 1 hum, 2 hiss, 3 distortion, 4 clicks): the measure furthest
    above its threshold, relative to the threshold."""
    th = thresholds or BASELINE
    keys = ["hum_prominence_db", "noise_floor_flatness", "clipped_run_share", "clicks_per_s"]
    ratios = [float(m[k]) / th[k] if th[k] > 0 else 0.0 for k in keys]
    k = int(np.argmax(ratios))
    return k + 1 if ratios[k] > 1.0 else 0
