"""The audio models' front end: log-mel bands and three sample-domain rows, one implementation for
training and for the detectors (numpy only, so the runtime needs no torch).

Audio at 48 kHz (other rates are resampled first) is cut into 32 ms frames every 20 ms. Each frame
gives one column of the model's input image:

- rows 0-63: log-mel power, 64 HTK-mel triangles from 30 Hz to 16 kHz on a 1536-point Hann FFT,
  in dB of the weighted mean bin power under each triangle (triangles sum to 1; a bin holding a
  full-scale sine reads 0 dB, so the sine reads about -5 dB in a 1 kHz band whose triangle spreads
  over 8 bins), floored at -120 dB, mapped by (dB + 40) / 20;
- row 64, **flat tops**: share of the frame's samples above 0.03 that equal the sample before (a
  hard clipper or a bit crusher holds the value; real programme through a 16-bit or float path
  almost never does), times 10, at most 1;
- row 65, **crest**: peak / RMS of the frame in dB, (crest - 10) / 10 (clipping and soft clipping
  flatten it, a click raises it);
- row 66, **impulse**: log10 of the largest second difference over the frame's median one, minus 1
  (a click is a second-difference outlier a hundred times the programme's).

A window is `WINDOW_FRAMES` columns (1 s); windows start every `HOP_FRAMES` (0.5 s). Mono is the
mean of the channels; `channel_views` adds each channel on its own where they differ.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

RATE = 48000
N_FFT = 1536  # 32 ms
HOP = 960  # 20 ms: 50 columns a second
N_MELS = 64
FMIN_HZ, FMAX_HZ = 30.0, 16000.0
AUX_ROWS = 3
ROWS = N_MELS + AUX_ROWS
WINDOW_FRAMES = 50  # 1 s
HOP_FRAMES = 25  # 0.5 s
FLOOR_DB = -120.0


def _mel(f: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + f / 700.0)


def _hz(m: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


@lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """(N_MELS, N_FFT // 2 + 1) triangles on the FFT bins, each at least one bin wide on either
    side (the lowest bands are narrower than a bin), each summing to 1."""
    bins = np.arange(N_FFT // 2 + 1) * RATE / N_FFT
    edges = _hz(np.linspace(_mel(np.array(FMIN_HZ)), _mel(np.array(FMAX_HZ)), N_MELS + 2))
    step = RATE / N_FFT
    fb = np.zeros((N_MELS, len(bins)))
    for i in range(N_MELS):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        lo, hi = min(lo, mid - step), max(hi, mid + step)
        up = (bins - lo) / (mid - lo)
        down = (hi - bins) / (hi - mid)
        fb[i] = np.maximum(0.0, np.minimum(up, down))
        fb[i] /= fb[i].sum()
    return fb


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    w = np.hanning(N_FFT + 1)[:-1]
    # a full-scale sine's peak bin power |sum(w x)|^2 = (A sum(w) / 2)^2; scaled so that it reads 0 dB
    return w / (np.sum(w) / 2)


def frames_in(n_samples: int) -> int:
    """Columns a run of `n_samples` gives (frames that fit whole)."""
    return 0 if n_samples < N_FFT else 1 + (n_samples - N_FFT) // HOP


def columns(mono: np.ndarray) -> np.ndarray:
    """float32 (ROWS, frames) for mono samples at RATE: column k from samples [k*HOP, k*HOP+N_FFT)."""
    x = np.asarray(mono, dtype=np.float32).reshape(-1)
    n = frames_in(len(x))
    if n == 0:
        return np.zeros((ROWS, 0), np.float32)
    fr = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP][:n].astype(np.float64)
    spec = np.fft.rfft(fr * _window(), axis=1)
    power = spec.real**2 + spec.imag**2
    mel = power @ mel_filters().T
    db = 10.0 * np.log10(np.maximum(mel, 10 ** (FLOOR_DB / 10)))
    out = np.empty((ROWS, n), np.float32)
    out[:N_MELS] = ((db + 40.0) / 20.0).T
    mag = np.abs(fr)
    held = (np.diff(fr, axis=1) == 0) & (mag[:, 1:] > 0.03)
    out[N_MELS] = np.minimum(1.0, 10.0 * held.mean(axis=1))
    peak = mag.max(axis=1)
    rms = np.sqrt(np.mean(fr**2, axis=1))
    crest = 20.0 * np.log10(np.maximum(peak, 1e-9) / np.maximum(rms, 1e-9))
    out[N_MELS + 1] = (np.where(rms > 1e-6, crest, 0.0) - 10.0) / 10.0
    d2 = np.abs(np.diff(fr, n=2, axis=1))
    med = np.median(d2, axis=1)
    ratio = d2.max(axis=1) / np.maximum(med, 1e-7)
    out[N_MELS + 2] = np.where(rms > 1e-6, np.log10(np.maximum(ratio, 1.0)) - 1.0, -1.0)
    return out


def windows(cols: np.ndarray, hop: int = HOP_FRAMES) -> tuple[np.ndarray, np.ndarray]:
    """(N, 1, ROWS, WINDOW_FRAMES) float32 windows of `cols` and the first column of each."""
    n = cols.shape[1]
    if n < WINDOW_FRAMES:
        return np.zeros((0, 1, ROWS, WINDOW_FRAMES), np.float32), np.zeros(0, np.int64)
    starts = np.arange(0, n - WINDOW_FRAMES + 1, hop)
    view = np.lib.stride_tricks.sliding_window_view(cols, WINDOW_FRAMES, axis=1)  # (ROWS, n-W+1, W)
    return np.ascontiguousarray(view[:, starts].transpose(1, 0, 2)[:, None]), starts


def mono(samples: np.ndarray) -> np.ndarray:
    x = np.asarray(samples, dtype=np.float32)
    return x if x.ndim == 1 else x.mean(axis=1, dtype=np.float32)


def channels_differ(samples: np.ndarray, threshold_db: float = -20.0) -> bool:
    """Whether the channels carry different sound: the side (L - R) within `threshold_db` of the mid."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 2:
        return False
    mid = float(np.mean(np.square(x[:, 0] + x[:, 1])))
    side = float(np.mean(np.square(x[:, 0] - x[:, 1])))
    if mid <= 1e-12:
        return bool(side > 1e-12)
    return bool(10 * np.log10(max(side, 1e-30) / mid) > threshold_db)


def to_rate(samples: np.ndarray, rate: int) -> np.ndarray:
    """Samples at RATE (polyphase resampling when `rate` differs)."""
    if rate == RATE:
        return np.asarray(samples, dtype=np.float32)
    from scipy.signal import resample_poly

    g = np.gcd(rate, RATE)
    return resample_poly(samples, RATE // g, rate // g, axis=0).astype(np.float32)
