"""Sync marks in reference titles: a white flash in the picture and a chirp in the sound at the
same title time, at aperiodic intervals, and the streaming detector that finds the chirps.

Why these choices:
- Intervals are drawn between 2.1 and 3.9 s (seeded), so matching each chirp to the nearest
  flash is unambiguous for any A/V offset within +-1 s (half the shortest interval is > 1 s) and
  no periodic structure can alias.
- The chirp (1.5 -> 5 kHz, 40 ms, Hann window) has a sharp autocorrelation, so a matched filter
  finds its onset to a fraction of a millisecond even under programme music, after AAC, and
  after resampling; a plain tone burst would smear over several cycles.
- Channel identity: the chirp is the same in every channel (the A/V measurement reads their mean,
  and a channel whose chirp is negated is a phase-inverted one), and 60 ms after each chirp's
  onset a 30 ms tone marks each side: 1 kHz in the left channel only, 6 kHz in the right only
  (both outside the chirp's band, after its end, so the matched filter does not see them). The
  programme under the marks is tilted IDENTITY_TILT_DB towards the left, so the identity also
  holds between the marks: a swap flips the balance at the instant it starts.
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
IDENTITY_DELAY_S = 0.060  # identity tones start this long after the chirp's onset
IDENTITY_S = 0.030
IDENTITY_HZ = (1000.0, 6000.0)  # left, right
IDENTITY_AMPLITUDE = 0.25
IDENTITY_TILT_DB = 4.0  # the right channel's programme this much below the left's
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


def identity_tone(channel: int, rate: int = RATE) -> np.ndarray:
    """The Hann-windowed tone burst that marks `channel` (0 left, 1 right) after each chirp."""
    n = int(round(IDENTITY_S * rate))
    t = np.arange(n) / rate
    return (IDENTITY_AMPLITUDE * np.sin(2 * np.pi * IDENTITY_HZ[channel] * t) * np.hanning(n)).astype(np.float32)


def mark_channels(audio: np.ndarray, times_s: list[float], rate: int = RATE) -> None:
    """Gives a stereo programme its channel identity, in place: the right channel's programme
    IDENTITY_TILT_DB lower, and each side's identity tone after every sync time. Call it before
    `mix_chirps`, so that the chirps stay identical in both channels."""
    audio[:, 1] *= np.float32(10 ** (-IDENTITY_TILT_DB / 20))
    for c in range(2):
        tone = identity_tone(c, rate)
        for t in times_s:
            a = int(round((t + IDENTITY_DELAY_S) * rate))
            b = min(len(audio), a + len(tone))
            if 0 <= a < b:
                audio[a:b, c] += tone[: b - a]


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


@dataclass
class IdentityMark:
    """What one sync mark says about the channels: `state` "normal" (each side's tone in its own
    channel), "swapped" (each in the other's) or "unknown"; `chirp`, the signed chirp amplitude in
    each channel (1 as in the title, -1 inverted, 0 absent); `tones_db`, per channel the level of
    the left and of the right tone (dBFS)."""

    t_s: float
    state: str
    chirp: tuple[float, float]
    tones_db: tuple[tuple[float, float], tuple[float, float]]


class IdentityReader:
    """Streaming reader of the channel identity marks: feed stereo audio (n, 2+) in order.

    Chirps are found in the mid (L+R) and in the side (L-R, both polarities), so a missing or an
    inverted channel still shows its marks; at each, the chirp's amplitude in each channel and the
    two identity tones' levels are measured. A side's tone counts as in a channel when it is
    `margin_db` above the same tone in the other channel. Keeps the last RING_S of samples only.
    """

    RING_S = 4.0

    def __init__(self, rate: int = RATE, margin_db: float = 10.0):
        self.rate, self.margin_db = rate, margin_db
        self.finders = [ChirpFinder(rate), ChirpFinder(rate), ChirpFinder(rate)]  # mid, side, -side
        self._used = [0, 0, 0]
        self._chunks: list[tuple[float, np.ndarray]] = []
        self._pending: list[float] = []
        self.marks: list[IdentityMark] = []
        self.template = chirp(rate).astype(np.float64)
        n = int(round((IDENTITY_S + 0.01) * rate))
        self._window = np.hanning(n)
        self._basis = [np.exp(-2j * np.pi * f * np.arange(n) / rate) * self._window for f in IDENTITY_HZ]

    def feed(self, samples: np.ndarray, start_s: float) -> None:
        x = np.asarray(samples[:, :2], dtype=np.float64)
        mid, side = x.mean(axis=1), (x[:, 0] - x[:, 1]) / 2
        for f, m in zip(self.finders, (mid, side, -side), strict=True):
            f.feed(m, start_s)
        self._chunks.append((start_s, x))
        end = start_s + len(x) / self.rate
        while self._chunks and self._chunks[0][0] + len(self._chunks[0][1]) / self.rate < end - self.RING_S:
            self._chunks.pop(0)
        self._collect()
        self._process(end)

    def finish(self) -> list[IdentityMark]:
        for f in self.finders:
            f.finish()
        self._collect()
        self._process(float("inf"))
        return self.marks

    def _collect(self) -> None:
        for i, f in enumerate(self.finders):
            for t in f.onsets[self._used[i] :]:
                known = self._pending + [m.t_s for m in self.marks[-4:]]
                if all(abs(t - k) > 0.1 for k in known):
                    self._pending.append(t)
            self._used[i] = len(f.onsets)
        self._pending.sort()

    def _samples(self, a_s: float, n: int) -> np.ndarray | None:
        if not self._chunks:
            return None
        t0 = self._chunks[0][0]
        x = np.concatenate([c for _, c in self._chunks])
        i = int(round((a_s - t0) * self.rate))
        return x[i : i + n] if i >= 0 and i + n <= len(x) else None

    def _process(self, end_s: float) -> None:
        keep = []
        for t in self._pending:
            a = t - 0.001
            span = IDENTITY_DELAY_S + IDENTITY_S + 0.01
            if a + span > end_s:
                keep.append(t)
                continue
            x = self._samples(a, int(round((span + 0.001) * self.rate)))
            if x is not None:
                self.marks.append(self._read(t, x))
        self._pending = keep

    def _read(self, t: float, x: np.ndarray) -> IdentityMark:
        n, k = len(self.template), int(round(0.001 * self.rate))
        energy = float(self.template @ self.template)
        amp = []
        for c in range(2):
            dots = [float(x[s : s + n, c] @ self.template) / energy for s in range(0, 2 * k + 1)]
            amp.append(max(dots, key=abs))
        i = k + int(round((IDENTITY_DELAY_S - 0.005) * self.rate))
        w = x[i : i + len(self._window)]
        scale = 2 / self._window.sum()
        db = [tuple(float(20 * np.log10(max(abs(w[:, c] @ b) * scale, 1e-6))) for b in self._basis) for c in range(2)]
        m = self.margin_db
        if db[0][0] >= db[1][0] + m and db[1][1] >= db[0][1] + m:
            state = "normal"
        elif db[0][1] >= db[1][1] + m and db[1][0] >= db[0][0] + m:
            state = "swapped"
        else:
            state = "unknown"
        return IdentityMark(
            t, state, (round(amp[0], 3), round(amp[1], 3)), ((db[0][0], db[0][1]), (db[1][0], db[1][1]))
        )
