"""Sync marks in reference titles: a white flash in the picture and a chirp in the sound at the
same title time, at aperiodic intervals, and the streaming detector that finds the chirps.

Why these choices:
- Intervals are drawn between 2.1 and 3.9 s (seeded), so matching each chirp to the nearest
  flash is unambiguous for any A/V offset within +-1 s (half the shortest interval is > 1 s) and
  no periodic structure can alias.
- The chirp (1.5 -> 5 kHz, 40 ms, Hann window) has a sharp autocorrelation, so a matched filter
  finds its onset to a fraction of a millisecond even under programme music, after AAC, and
  after resampling; a plain tone burst would smear over several cycles.
- The flash is a patch in the top-right safe area that is dark except on the sync frames; with
  frame codes the flash is redundant for timing, but it lets a person (and a lab's photodiode)
  see the events.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

RATE = 48000
CHIRP_S = 0.040
CHIRP_F0, CHIRP_F1 = 1500.0, 5000.0
CHIRP_AMPLITUDE = 0.5
MIN_GAP_S, MAX_GAP_S = 2.1, 3.9
FIRST_EVENT_S = 1.0
# flash patch, as fractions of the frame (x0, y0, x1, y1): inside the 7% safe area
FLASH_REGION = (0.86, 0.08, 0.92, 0.08 + 0.06 * 16 / 9)


def event_frames(duration_s: float, fps: float, seed: int) -> list[int]:
    """Title frame numbers of the sync events (aperiodic, seeded)."""
    rng = np.random.default_rng(10_000 + seed)
    out = []
    t = FIRST_EVENT_S
    while t < duration_s - 0.5:
        out.append(int(round(t * fps)))
        t += float(rng.uniform(MIN_GAP_S, MAX_GAP_S))
    return out


def chirp(rate: int = RATE) -> np.ndarray:
    n = int(round(CHIRP_S * rate))
    t = np.arange(n) / rate
    k = (CHIRP_F1 - CHIRP_F0) / CHIRP_S
    x = np.sin(2 * np.pi * (CHIRP_F0 * t + 0.5 * k * t * t)) * np.hanning(n)
    return (CHIRP_AMPLITUDE * x).astype(np.float32)


def mix_chirps(audio: np.ndarray, times_s: list[float], rate: int = RATE) -> None:
    """Adds a chirp at each time (sample-exact onset) to every channel, in place."""
    c = chirp(rate)
    for t in times_s:
        a = int(round(t * rate))
        b = min(len(audio), a + len(c))
        if 0 <= a < b:
            audio[a:b] += c[: b - a, None]
    np.clip(audio, -1.0, 1.0, out=audio)


def flash_box(w: int, h: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = FLASH_REGION
    return int(x0 * w), int(y0 * h), int(x1 * w), int(y1 * h)


def draw_flash(img: np.ndarray, on: bool) -> None:
    x0, y0, x1, y1 = flash_box(img.shape[1], img.shape[0])
    img[y0:y1, x0:x1] = 255 if on else 0


def flash_level(luma: np.ndarray) -> float:
    """Mean luma of the flash patch's centre (half its size, so crops and shifts do not matter)."""
    x0, y0, x1, y1 = flash_box(luma.shape[1], luma.shape[0])
    dx, dy = (x1 - x0) // 4, (y1 - y0) // 4
    return float(luma[y0 + dy : y1 - dy, x0 + dx : x1 - dx].mean())


@dataclass
class ChirpFinder:
    """Streaming matched filter: feed mono float audio in order; `onsets` holds chirp start times.

    A peak counts when the normalised correlation exceeds `threshold` (0.5: programme music
    correlates below 0.2 with the chirp, a chirp under music above 0.7) and is the largest within
    +-0.5 s. The onset is refined to a fraction of a sample by a parabola through the peak.
    """

    rate: int = RATE
    threshold: float = 0.5
    onsets: list[float] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.template = chirp(self.rate).astype(np.float64)
        self.template /= np.linalg.norm(self.template)
        self._buf = np.zeros(0)
        self._buf_t0 = 0.0
        self._last_peak = -1e9

    def feed(self, mono: np.ndarray, start_s: float) -> None:
        if len(self._buf) == 0:
            self._buf_t0 = start_s
        self._buf = np.concatenate([self._buf, mono.astype(np.float64)])
        n = len(self.template)
        hop = self.rate  # process one second at a time, keeping an overlap of one template
        while len(self._buf) >= hop + 2 * n:
            self._scan(self._buf[: hop + 2 * n], self._buf_t0, valid=hop)
            self._buf = self._buf[hop:]
            self._buf_t0 += hop / self.rate

    def finish(self) -> list[float]:
        if len(self._buf) > len(self.template):
            self._scan(self._buf, self._buf_t0, valid=len(self._buf) - len(self.template) + 1)
            self._buf = np.zeros(0)
        return self.onsets

    def _scan(self, x: np.ndarray, t0: float, valid: int) -> None:
        n = len(self.template)
        m = len(x) - n + 1
        size = 1 << int(np.ceil(np.log2(len(x) + n)))
        corr = np.fft.irfft(np.fft.rfft(x, size) * np.conj(np.fft.rfft(self.template, size)), size)[:m]
        c2 = np.concatenate([[0.0], np.cumsum(x * x)])
        energy = (c2[n:] - c2[:-n])[:m]  # sliding sum of squares
        score = corr / np.sqrt(np.maximum(energy, 1e-12))
        score[energy < 1e-8] = 0.0
        limit = min(valid, m)
        idx = np.flatnonzero(score[:limit] > self.threshold)
        for i in idx:
            lo, hi = max(0, i - self.rate // 2), min(m, i + self.rate // 2)
            if score[i] < score[lo:hi].max():
                continue
            t = t0 + i / self.rate
            if t - self._last_peak < 0.5:
                continue
            frac = 0.0
            if 0 < i < m - 1:
                a, b, c = score[i - 1], score[i], score[i + 1]
                den = a - 2 * b + c
                frac = 0.5 * (a - c) / den if den != 0 else 0.0
            self.onsets.append(t0 + (i + frac) / self.rate)
            self.scores.append(float(score[i]))
            self._last_peak = t
