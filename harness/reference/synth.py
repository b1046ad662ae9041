"""Deterministic synthesized programme audio for reference titles (no samples, no downloads)."""

from __future__ import annotations

import numpy as np

RATE = 48000
# A minor - F - C - G, root MIDI notes and chord intervals
_CHORDS = [(57, (0, 3, 7)), (53, (0, 4, 7)), (48, (0, 4, 7, 12)), (55, (0, 4, 7))]


def _hz(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def music(duration_s: float, seed: int = 0, bpm: float = 112.0, rate: int = RATE) -> np.ndarray:
    """Stereo float32 music bed: sustained pads (never silent), bass, kick and hi-hats."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * rate))
    t = np.arange(n) / rate
    beat = 60.0 / bpm
    bar = 4 * beat
    out = np.zeros((n, 2), np.float64)
    # pads: each chord for one bar, 30 ms crossfade between chords so the bed never drops out
    for i, start in enumerate(np.arange(0, duration_s, bar)):
        root, ivs = _CHORDS[i % len(_CHORDS)]
        a, b = int(start * rate), min(n, int((start + bar + 0.03) * rate))
        seg = t[a:b] - start
        env = np.minimum(1, seg / 0.03) * np.minimum(1, np.maximum(0, (bar + 0.03 - seg) / 0.03))
        for j, iv in enumerate(ivs):
            f = _hz(root + iv)
            detune = 1 + 0.002 * (j - 1)
            tone = np.sin(2 * np.pi * f * detune * seg) + 0.3 * np.sin(2 * np.pi * 2 * f * seg + 0.5)
            pan = 0.3 + 0.4 * (j / max(1, len(ivs) - 1))
            out[a:b, 0] += 0.05 * env * tone * (1 - pan)
            out[a:b, 1] += 0.05 * env * tone * pan
        # bass on every beat
        for k in range(4):
            bs = start + k * beat
            a2, b2 = int(bs * rate), min(n, int((bs + beat) * rate))
            s2 = t[a2:b2] - bs
            env2 = np.exp(-s2 * 3.0) * np.minimum(1, s2 / 0.005)
            f = _hz(root - 12 + (7 if k == 2 else 0))
            bass = 0.18 * env2 * np.tanh(2 * np.sin(2 * np.pi * f * s2))
            out[a2:b2] += bass[:, None]
    # kick on beats 1 and 3, hats on eighths
    for k, bs in enumerate(np.arange(0, duration_s, beat / 2)):
        a, b = int(bs * rate), min(n, int((bs + 0.25) * rate))
        s = t[a:b] - bs
        if k % 4 == 0:
            f = 50 + 90 * np.exp(-s * 30)
            out[a:b] += (0.35 * np.exp(-s * 12) * np.sin(2 * np.pi * np.cumsum(f) / rate))[:, None]
        hat = rng.standard_normal(b - a) * np.exp(-s * 60) * 0.05
        hat = np.diff(hat, prepend=0.0)  # crude high-pass
        out[a:b, 0] += hat * 0.8
        out[a:b, 1] += hat
    out /= max(1e-9, np.abs(out).max()) / 0.7  # peak at -3 dBFS
    return out.astype(np.float32)
