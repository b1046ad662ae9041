"""Audio and A/V impairments on synthesized music: levels, spectra, SNRs, bit depths and offsets
are measured in the output; outside the window the samples are bit-identical; seeds reproduce."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from harness.impairments import IMPAIRMENTS, AudioClip
from harness.reference import synth

RATE = 48000
AT, DUR = 1.0, 2.0
A, B = AT * RATE, (AT + DUR) * RATE
SL = slice(int(A), int(B))


@pytest.fixture(scope="module")
def clip() -> AudioClip:
    return AudioClip(synth.music(4.0, seed=3), RATE)


def _db(x: float) -> float:
    return 10 * np.log10(x)


def _power(x: np.ndarray) -> float:
    return float(np.mean(np.square(x, dtype=np.float64)))


AUDIO = [n for n, s in IMPAIRMENTS.items() if s.stream in ("audio", "av")]
RANDOM = {"clicks", "hum", "hiss", "level_jump", "channel_missing", "phase_invert"}


@pytest.mark.parametrize("name", AUDIO)
def test_untouched_outside_window_and_reproducible(clip, name):
    spec = IMPAIRMENTS[name]
    out, t = spec.func(clip, AT, DUR, severity=0.66, seed=7)
    again, _ = spec.func(clip, AT, DUR, severity=0.66, seed=7)
    x, y = clip.samples, out.samples
    assert y.shape == x.shape and y.dtype == np.float32 and out.rate == RATE
    assert (t.type, t.start_s, t.end_s) == (spec.event_type, AT, AT + DUR)
    assert np.array_equal(y[: int(A)], x[: int(A)]) and np.array_equal(y[int(B) :], x[int(B) :])
    assert not np.array_equal(y[SL], x[SL])
    assert np.array_equal(y, again.samples)
    if name in RANDOM:
        others = [spec.func(clip, AT, DUR, severity=0.66, seed=s)[0].samples for s in (1, 2, 3)]
        assert any(not np.array_equal(y, o) for o in others)


@pytest.mark.parametrize("severity,want_db", [(0.33, -39.6), (0.66, -79.2)])
def test_dropout_attenuation(clip, severity, want_db):
    out, _ = IMPAIRMENTS["audio_dropout"].func(clip, AT, DUR, severity=severity)
    assert _db(_power(out.samples[SL]) / _power(clip.samples[SL])) == pytest.approx(want_db, abs=0.1)
    silent, t = IMPAIRMENTS["audio_dropout"].func(clip, AT, DUR, severity=1.0)
    assert not silent.samples[SL].any()


def test_clicks_at_truth_positions(clip):
    out, t = IMPAIRMENTS["clicks"].func(clip, AT, DUR, severity=1.0, seed=2)
    diff = (out.samples - clip.samples)[:, 0]
    assert len(t.params["positions"]) == 40  # 20 per second for 2 s
    onsets = np.nonzero((np.abs(diff) > 0.3) & (np.abs(np.concatenate([[0], diff[:-1]])) < 0.3))[0]
    assert onsets.tolist() == t.params["positions"]
    assert [float(diff[p]) for p in onsets] == pytest.approx(t.params["amplitudes"], abs=1e-5)
    # audible as clicks: sample-to-sample jumps well beyond the music's own (its kick and hats)
    assert np.abs(np.diff(out.samples[SL, 0])).max() > 2 * np.abs(np.diff(clip.samples[SL, 0])).max()


@pytest.mark.parametrize("mains", [50.0, 60.0])
def test_hum_peak_and_harmonics(clip, mains):
    out, t = IMPAIRMENTS["hum"].func(clip, AT, DUR, severity=1.0, mains_hz=mains)
    win = np.hanning(int(B - A))[:, None]
    spec_out = np.abs(np.fft.rfft(out.samples[SL] * win, axis=0)).mean(axis=1)
    spec_src = np.abs(np.fft.rfft(clip.samples[SL] * win, axis=0)).mean(axis=1)
    freqs = np.fft.rfftfreq(int(B - A), 1 / RATE)
    band = (freqs >= 40) & (freqs <= 70)
    assert freqs[band][np.argmax(spec_out[band])] == pytest.approx(mains, abs=0.5)
    for k in range(1, 6):
        i = int(np.argmin(np.abs(freqs - k * mains)))
        assert 20 * np.log10(spec_out[i] / spec_src[i]) > 10, f"harmonic {k}"
    assert t.params["mains_hz"] == mains


def _octave_slope(noise: np.ndarray) -> float:
    f, p = signal.welch(noise, RATE, nperseg=8192, axis=0)
    p = p.mean(axis=1)
    centres = [100 * 2**k for k in range(7)]  # 100 Hz .. 6.4 kHz
    levels = [_db(p[(f >= c) & (f < 2 * c)].mean()) for c in centres]
    return float(np.polyfit(np.arange(len(levels)), levels, 1)[0])


@pytest.mark.parametrize("color", ["white", "pink"])
@pytest.mark.parametrize("severity,snr", [(0.33, 40.15), (0.66, 25.3), (1.0, 10.0)])
def test_hiss_snr_and_colour(clip, color, severity, snr):
    out, t = IMPAIRMENTS["hiss"].func(clip, AT, DUR, severity=severity, seed=1, color=color)
    noise = out.samples[SL].astype(np.float64) - clip.samples[SL]
    measured = _db(_power(clip.samples[SL]) / _power(noise))
    assert measured == pytest.approx(snr, abs=0.5) and t.params["snr_db"] == pytest.approx(snr, abs=1e-6)
    slope = _octave_slope(noise)
    assert slope == pytest.approx(-3.0 if color == "pink" else 0.0, abs=0.5)


def test_hiss_explicit_snr(clip):
    out, _ = IMPAIRMENTS["hiss"].func(clip, AT, DUR, severity=0.5, seed=1, color="pink", snr_db=17.5)
    noise = out.samples[SL].astype(np.float64) - clip.samples[SL]
    assert _db(_power(clip.samples[SL]) / _power(noise)) == pytest.approx(17.5, abs=0.5)


@pytest.mark.parametrize("severity,ratio", [(0.33, 0.0508), (1.0, 0.15)])
def test_hard_clipping_ratio(clip, severity, ratio):
    out, t = IMPAIRMENTS["clipping"].func(clip, AT, DUR, severity=severity)
    seg = np.abs(out.samples[SL])
    top = seg.max()
    assert top == pytest.approx(t.params["threshold"]) and top < np.abs(clip.samples[SL]).max()
    assert float((seg >= top).mean()) == pytest.approx(ratio, rel=0.05)


def test_soft_clipping_tanh_drive(clip):
    out, t = IMPAIRMENTS["soft_clipping"].func(clip, AT, DUR, severity=0.66)
    x, y = clip.samples[SL].astype(np.float64), out.samples[SL].astype(np.float64)
    peak = np.abs(x).max()
    assert np.abs(y).max() == pytest.approx(peak, rel=1e-5)
    crest = _db(peak**2 / _power(y)) - _db(peak**2 / _power(x))
    assert crest < -3  # squashed: louder on average at the same peak
    grid = np.linspace(1, 20, 191) / peak
    errs = [np.abs(peak * np.tanh(d * x) / np.tanh(d * peak) - y).max() for d in grid]
    assert grid[int(np.argmin(errs))] * peak == pytest.approx(7.0, abs=0.1)


@pytest.mark.parametrize("severity,bits", [(0.33, 12), (0.66, 8), (1.0, 4)])
def test_bitcrush_bit_depth(clip, severity, bits):
    out, t = IMPAIRMENTS["bitcrush"].func(clip, AT, DUR, severity=severity)
    levels = np.unique(out.samples[SL])
    step = float(np.diff(levels).min())
    assert round(np.log2(2 / step)) == bits == t.params["bits"]
    assert np.allclose(levels / step, np.round(levels / step), atol=1e-3)
    assert len(levels) <= 2**bits


@pytest.mark.parametrize("direction,sign", [("up", 1), ("down", -1)])
def test_level_jump_size(clip, direction, sign):
    out, t = IMPAIRMENTS["level_jump"].func(clip, AT, DUR, severity=0.66, direction=direction)
    measured = _db(_power(out.samples[SL]) / _power(clip.samples[SL]))
    assert measured == pytest.approx(sign * 13.54, abs=0.01) and t.params["gain_db"] == pytest.approx(
        measured, abs=0.01
    )


def test_channel_faults(clip):
    x = clip.samples[SL]
    miss, t = IMPAIRMENTS["channel_missing"].func(clip, AT, DUR, severity=1.0, channel=1)
    assert not miss.samples[SL, 1].any() and np.array_equal(miss.samples[SL, 0], x[:, 0])
    swap, _ = IMPAIRMENTS["channel_swap"].func(clip, AT, DUR)
    assert not np.array_equal(x[:, 0], x[:, 1])
    assert np.array_equal(swap.samples[SL, 0], x[:, 1]) and np.array_equal(swap.samples[SL, 1], x[:, 0])
    inv, t = IMPAIRMENTS["phase_invert"].func(clip, AT, DUR, channel=0)
    corr_src = np.corrcoef(x[:, 0], x[:, 1])[0, 1]
    corr_out = np.corrcoef(inv.samples[SL, 0], inv.samples[SL, 1])[0, 1]
    assert corr_src > 0.3 and corr_out == pytest.approx(-corr_src, abs=1e-6)


def _lag_ms(ref: np.ndarray, x: np.ndarray, pad: int) -> float:
    """Delay of x against ref[pad : pad + len(x)] (positive = x late), by cross-correlation of the
    mono mix over lags -pad..+pad samples."""
    r, y = ref.mean(axis=1), x.mean(axis=1)
    c = signal.correlate(r, y, mode="valid", method="fft")  # c[k] = sum r[n + k] * y[n]
    return float((pad - int(np.argmax(c))) * 1000 / RATE)


@pytest.mark.parametrize("kwargs,want", [({"severity": 0.66}, 161.8), ({"offset_ms": -75.0}, -75.0)])
def test_av_offset_measured(clip, kwargs, want):
    kw = {"severity": 1.0, **kwargs}
    out, t = IMPAIRMENTS["av_offset"].func(clip, AT, DUR, **kw)
    mid = slice(int(A) + 24000, int(B) - 24000)  # 1 s in the middle of the window
    ref = clip.samples[mid.start - 24000 : mid.stop + 24000]
    lag = _lag_ms(ref, out.samples[mid], 24000)
    assert lag == pytest.approx(want, abs=1.0) and t.params["offset_ms"] == pytest.approx(want)


def test_av_drift_measured(clip):
    long = AudioClip(synth.music(8.0, seed=4), RATE)
    out, t = IMPAIRMENTS["av_drift"].func(long, 0.5, 7.0, severity=1.0)
    assert t.params["drift_ms_per_min"] == 300.0 and t.params["end_offset_ms"] == pytest.approx(35.0)
    for centre in (1.5, 3.5, 5.5, 7.0):
        c, h = int(centre * RATE), int(0.25 * RATE)
        pad = int(0.2 * RATE)
        lag = _lag_ms(long.samples[c - h - pad : c + h + pad], out.samples[c - h : c + h], pad)
        assert lag == pytest.approx(300.0 * (centre - 0.5) / 60.0, abs=1.0), centre
