"""Loudness and true peak per ITU-R BS.1770-4, streaming, for any sample rate.

- K-weighting: the standard's two biquads (a high shelf of +4 dB above ~1.7 kHz, the head's
  acoustic effect, and a 38 Hz high-pass, the RLB curve). BS.1770 tabulates them for 48 kHz only;
  here they are derived for any rate from the analogue prototype by the bilinear transform (the
  derivation libebur128 uses), which reproduces the 48 kHz table to 1e-8.
- Loudness of a span: -0.691 + 10 log10(sum_c G_c * mean square of channel c), G = 1 for L, R, C and
  1.41 for the surrounds (channels 3 and 4 in the standard's L, R, C, Ls, Rs order).
- Everything is built from 100 ms sums of K-weighted squares per channel (`LoudnessMeter.blocks`):
  momentary loudness is 4 of them (400 ms), short-term 30 (3 s), and the integrated loudness gates
  the 400 ms blocks at 100 ms steps (75 % overlap) with the -70 LUFS absolute gate and the relative
  gate 10 LU below the loudness of the blocks that passed it. Memory: one number per channel a
  tenth of a second, so hours of capture cost megabytes.
- Loudness range (EBU Tech 3342): short-term loudness every 100 ms, gated at -70 LUFS and 20 LU
  below their energy mean, from the 10th to the 95th percentile.
- True peak (BS.1770-4 Annex 2): the signal 4x oversampled (2x at 96 kHz and above, as is at
  192 kHz) by a linear-phase interpolating FIR, its largest magnitude in dBTP.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
LRA_RELATIVE_GATE_LU = -20.0
BLOCK_S = 0.1  # the 100 ms step of the gating blocks; every measure here is made of these
SURROUND_GAIN = 1.41


def k_weighting(rate: float) -> np.ndarray:
    """The K-weighting filter at `rate` Hz as second-order sections (scipy `sos`, 2 x 6)."""
    # stage 1: high shelf (BS.1770-4 table 1 at 48 kHz), from its analogue prototype
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10 ** (gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = [(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0]
    shelf_a = [1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    # stage 2: the RLB high-pass (table 2)
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1 + k / q + k * k
    hp_a = [1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    return np.array([shelf + shelf_a, [1.0, -2.0, 1.0] + hp_a])


def channel_gains(channels: int) -> np.ndarray:
    """BS.1770 channel weights in the L, R, C, Ls, Rs order (an LFE channel is left out by the caller)."""
    return np.array([SURROUND_GAIN if c in (3, 4) else 1.0 for c in range(channels)])


def lufs(power: np.ndarray | float) -> np.ndarray | float:
    """Loudness of a weighted sum of mean squares; -inf for silence."""
    with np.errstate(divide="ignore"):
        return -0.691 + 10 * np.log10(power)


class LoudnessMeter:
    """Feed float samples (n, channels) in order; read momentary, short-term, integrated loudness.

    `blocks()` holds, per 100 ms, the channel-weighted mean square of the K-weighted signal (the
    standard's z summed with its weights), so every measure below is exact on 100 ms boundaries
    counted from the first sample fed. A partial last 100 ms is not counted (as the standard's
    gating blocks do not count a partial block).
    """

    def __init__(self, rate: int, channels: int):
        self.rate, self.channels = rate, channels
        self.sos = k_weighting(rate)
        self.gains = channel_gains(channels)
        self._zi = np.zeros((self.sos.shape[0], 2, channels))
        self._step = int(round(BLOCK_S * rate))
        self._rest = np.zeros((0, channels))
        self._blocks: list[np.ndarray] = []
        self._channel_blocks: list[np.ndarray] = []

    def feed(self, samples: np.ndarray) -> None:
        x = np.asarray(samples, dtype=np.float64)
        if x.ndim == 1:
            x = x[:, None]
        y, self._zi = signal.sosfilt(self.sos, x, axis=0, zi=self._zi)
        y = np.concatenate([self._rest, y]) if len(self._rest) else y
        k = len(y) // self._step
        self._rest = y[k * self._step :]
        if k:
            ms = np.mean(np.square(y[: k * self._step]).reshape(k, self._step, self.channels), axis=1)
            self._channel_blocks.append(ms)
            self._blocks.append(ms @ self.gains)

    def channel_blocks(self) -> np.ndarray:
        """(blocks, channels): each channel's K-weighted mean square per 100 ms (unweighted)."""
        return np.concatenate(self._channel_blocks) if self._channel_blocks else np.zeros((0, self.channels))

    def blocks(self) -> np.ndarray:
        """Per 100 ms: the channel-weighted K-weighted mean square."""
        if len(self._blocks) > 1:
            self._blocks = [np.concatenate(self._blocks)]
        return self._blocks[0] if self._blocks else np.zeros(0)

    def momentary(self) -> np.ndarray:
        """Momentary loudness (400 ms window) ending at each 100 ms boundary from 0.4 s on."""
        return sliding_loudness(self.blocks(), 4)

    def short_term(self) -> np.ndarray:
        """Short-term loudness (3 s window) ending at each 100 ms boundary from 3 s on."""
        return sliding_loudness(self.blocks(), 30)

    def integrated(self) -> float:
        return integrated_loudness(self.blocks())

    def loudness_range(self) -> float:
        return loudness_range(self.blocks())


def sliding_loudness(blocks: np.ndarray, width: int) -> np.ndarray:
    """Loudness of each run of `width` consecutive 100 ms blocks (len(blocks) - width + 1 values)."""
    if len(blocks) < width:
        return np.zeros(0)
    c = np.concatenate([[0.0], np.cumsum(blocks)])
    return np.asarray(lufs(np.maximum((c[width:] - c[:-width]) / width, 0.0)))


def integrated_loudness(blocks: np.ndarray) -> float:
    """Gated integrated loudness (BS.1770-4 section 2.8) from 100 ms blocks; -inf if nothing passes."""
    z = np.maximum(sliding_power(blocks, 4), 0.0)
    if not len(z):
        return float("-inf")
    loud = np.asarray(lufs(z))
    z = z[loud > ABSOLUTE_GATE_LUFS]
    if not len(z):
        return float("-inf")
    gate = float(lufs(z.mean())) + RELATIVE_GATE_LU
    z = z[np.asarray(lufs(z)) > gate]
    return float(lufs(z.mean()))


def loudness_range(blocks: np.ndarray) -> float:
    """Loudness range in LU (EBU Tech 3342) from 100 ms blocks; 0 when under 3 s pass the gates."""
    z = np.maximum(sliding_power(blocks, 30), 0.0)
    z = z[np.asarray(lufs(z)) > ABSOLUTE_GATE_LUFS] if len(z) else z
    if not len(z):
        return 0.0
    st = np.asarray(lufs(z))
    st = st[st > float(lufs(z.mean())) + LRA_RELATIVE_GATE_LU]
    lo, hi = np.percentile(st, [10, 95])
    return float(hi - lo)


def sliding_power(blocks: np.ndarray, width: int) -> np.ndarray:
    if len(blocks) < width:
        return np.zeros(0)
    c = np.concatenate([[0.0], np.cumsum(blocks)])
    return (c[width:] - c[:-width]) / width


def integrated(samples: np.ndarray, rate: int) -> float:
    """Integrated loudness (LUFS) of a whole signal (n,) or (n, channels)."""
    x = np.asarray(samples)
    m = LoudnessMeter(rate, 1 if x.ndim == 1 else x.shape[1])
    m.feed(x)
    return m.integrated()


# --- true peak ---------------------------------------------------------------------------------


def oversampling(rate: int) -> int:
    """BS.1770-4 Annex 2: 4x at 48 kHz (and below), 2x at 96 kHz, none at 192 kHz."""
    return 4 if rate < 96000 else 2 if rate < 192000 else 1


def interpolator(factor: int, taps_per_phase: int = 32) -> np.ndarray:
    """Linear-phase low-pass FIR at the oversampled rate (odd length: its delay is a whole number of
    input samples, so the oversampled points include the input's own), cut off at 0.95 of the
    input's Nyquist; gain `factor` (zero stuffing). At 48 kHz: within 0.01 dB up to 17 kHz."""
    n = factor * taps_per_phase + 1
    return factor * signal.firwin(n, 0.95 / factor, window=("kaiser", 8.0))


class TruePeakMeter:
    """Streaming true peak: feed float samples (n, channels) in order; `peaks()` gives, per 100 ms
    of input, each channel's largest oversampled magnitude (linear)."""

    def __init__(self, rate: int, channels: int):
        self.rate, self.channels = rate, channels
        self.factor = oversampling(rate)
        self.h = interpolator(self.factor) if self.factor > 1 else np.ones(1)
        self._hist = np.zeros((len(self.h) // self.factor, channels))
        self._step = int(round(BLOCK_S * rate))
        self._rest = np.zeros((0, channels))
        self._peaks: list[np.ndarray] = []
        self._delay = (len(self.h) - 1) / 2 / self.factor  # input samples the interpolator lags

    def _upsample(self, x: np.ndarray) -> np.ndarray:
        """Oversampled magnitude of x (n, c): the interpolator's output for x's own samples, using
        the samples before it (kept across calls)."""
        if self.factor == 1:
            return np.abs(x)
        hist = len(self._hist)
        xx = np.concatenate([self._hist, x])
        y = signal.upfirdn(self.h, xx, up=self.factor, axis=0)
        self._hist = xx[-hist:] if hist else self._hist
        y = y[hist * self.factor : (hist + len(x)) * self.factor]
        return np.abs(y)

    def feed(self, samples: np.ndarray) -> None:
        x = np.asarray(samples, dtype=np.float64)
        if x.ndim == 1:
            x = x[:, None]
        y = self._upsample(x)
        # the output lags the input by the filter's delay; a 100 ms block's peak is taken from the
        # oversampled values of the same samples' span, delay included (an 0.25 ms shift at 48 kHz)
        m = np.maximum(np.abs(x), y.reshape(len(x), self.factor, self.channels).max(axis=1))
        m = np.concatenate([self._rest, m]) if len(self._rest) else m
        k = len(m) // self._step
        self._rest = m[k * self._step :]
        if k:
            self._peaks.append(m[: k * self._step].reshape(k, self._step, self.channels).max(axis=1))

    def peaks(self) -> np.ndarray:
        """(blocks, channels) linear true peak per 100 ms of input."""
        if len(self._peaks) > 1:
            self._peaks = [np.concatenate(self._peaks)]
        return self._peaks[0] if self._peaks else np.zeros((0, self.channels))

    def true_peak_dbtp(self) -> float:
        p = self.peaks()
        tail = float(self._rest.max()) if len(self._rest) else 0.0
        top = max(float(p.max()) if p.size else 0.0, tail)
        return 20 * math.log10(top) if top > 0 else float("-inf")


def true_peak_dbtp(samples: np.ndarray, rate: int) -> float:
    """True peak of a whole signal in dBTP (the interpolator's tail after the last sample included)."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    m = TruePeakMeter(rate, x.shape[1])
    m.feed(np.concatenate([x, np.zeros((len(m.h) // m.factor + 1, x.shape[1]))]))
    return m.true_peak_dbtp()
