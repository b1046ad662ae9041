"""harness.measure.loudness against ITU-R BS.1770-4, EBU Tech 3341 / 3342 test signals and pyloudnorm."""

from __future__ import annotations

import shutil

import numpy as np
import pyloudnorm
import pytest
from scipy import signal

from harness.measure import loudness
from harness.reference.titles import ensure_titles

RATE = 48000


def sine(freq: float, dbfs: float, seconds: float, rate: int = RATE, channels: int = 2, phase: float = 0.0):
    t = np.arange(int(round(seconds * rate))) / rate
    x = 10 ** (dbfs / 20) * np.sin(2 * np.pi * freq * t + phase)
    return np.repeat(x[:, None], channels, axis=1)


def test_k_weighting_at_48k_is_the_standards_table():
    """BS.1770-4 tables 1 and 2 (48 kHz coefficients)."""
    sos = loudness.k_weighting(48000)
    shelf = [1.53512485958697, -2.69169618940638, 1.19839281085285, 1.0, -1.69065929318241, 0.73248077421585]
    hp = [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621]
    assert np.allclose(sos[0], shelf, atol=1e-8) and np.allclose(sos[1], hp, atol=1e-8)


@pytest.mark.parametrize("rate", [44100, 48000, 96000])
def test_a_full_scale_997_hz_sine_in_one_channel_reads_minus_3_01_lufs(rate):
    """BS.1770-4 section 2.1: a 0 dBFS 997 Hz sine in the left, centre or right channel reads
    -3.01 LKFS; the filter derived for each rate keeps that (within 0.02 LU: the derivation's
    prototype was fitted at 48 kHz; EBU Tech 3341 allows +-0.1 LU)."""
    tol = 0.005 if rate == 48000 else 0.02
    assert loudness.integrated(sine(997, 0.0, 10, rate, channels=1)[:, 0], rate) == pytest.approx(-3.01, abs=tol)
    # in both channels of a stereo pair: twice the power, +3.01 LU
    assert loudness.integrated(sine(997, -20.0, 10, rate), rate) == pytest.approx(-20.0, abs=tol)


def _cat(*parts):
    return np.concatenate(parts)


EBU_3341 = {
    # case: (signal, expected integrated LUFS); EBU Tech 3341 (2016) table 1, stereo 1 kHz sines
    1: (lambda: sine(1000, -23, 20), -23.0),
    2: (lambda: sine(1000, -33, 20), -33.0),
    3: (lambda: _cat(sine(1000, -36, 10), sine(1000, -23, 60), sine(1000, -36, 10)), -23.0),
    4: (
        lambda: _cat(
            sine(1000, -72, 10), sine(1000, -36, 10), sine(1000, -23, 60), sine(1000, -36, 10), sine(1000, -72, 10)
        ),
        -23.0,
    ),
    5: (lambda: _cat(sine(1000, -26, 20), sine(1000, -20, 20.1), sine(1000, -26, 20)), -23.0),
}


@pytest.mark.parametrize("case", sorted(EBU_3341))
def test_ebu_tech_3341_integrated_loudness_cases(case):
    """Cases 3-5 exercise the -70 LUFS absolute and the -10 LU relative gates."""
    make, want = EBU_3341[case]
    assert loudness.integrated(make(), RATE) == pytest.approx(want, abs=0.1)


def test_momentary_and_short_term_of_a_steady_sine():
    m = loudness.LoudnessMeter(RATE, 2)
    m.feed(sine(1000, -23, 20))
    assert np.allclose(m.momentary(), -23.0, atol=0.1) and len(m.momentary()) == 197
    assert np.allclose(m.short_term(), -23.0, atol=0.1) and len(m.short_term()) == 171


@pytest.mark.parametrize(
    ("levels", "want"),
    # EBU Tech 3342 (2016) table 1, cases 1-4: stereo 1 kHz sines of 20 s each
    [((-20, -30), 10.0), ((-20, -15), 5.0), ((-40, -20), 20.0), ((-50, -35, -20, -35, -50), 15.0)],
)
def test_ebu_tech_3342_loudness_range_cases(levels, want):
    m = loudness.LoudnessMeter(RATE, 2)
    m.feed(_cat(*(sine(1000, x, 20) for x in levels)))
    assert m.loudness_range() == pytest.approx(want, abs=1.0)


def test_feeding_in_odd_blocks_gives_the_same_numbers():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((RATE * 7, 2)) * 0.05
    whole = loudness.LoudnessMeter(RATE, 2)
    whole.feed(x)
    parts = loudness.LoudnessMeter(RATE, 2)
    i = 0
    for n in rng.integers(1, 5000, size=10_000):
        parts.feed(x[i : i + n])
        i += int(n)
        if i >= len(x):
            break
    assert np.allclose(whole.blocks(), parts.blocks(), rtol=1e-9)


# --- against pyloudnorm on real programme ---------------------------------------------------------


def _programme() -> dict[str, tuple[np.ndarray, int]]:
    out = {}
    for t in ensure_titles():
        out[t.id] = (np.fromfile(t.audio_path, np.float32).reshape(-1, 2).astype(np.float64), RATE)
    rng = np.random.default_rng(3)
    white = rng.standard_normal((RATE * 20, 2))
    b, a = signal.butter(1, 500, fs=RATE)  # reddened noise, -20 dBFS or so
    out["noise"] = (0.1 * signal.lfilter(b, a, white, axis=0) + 0.01 * white, RATE)
    if shutil.which("espeak-ng"):
        from harness.bench.sound import speech

        s = speech("The quick brown fox jumps over the lazy dog. Loudness is measured in LUFS.", seed=1)
        out["speech"] = (np.repeat(np.asarray(s, np.float64)[:, None], 2, axis=1), RATE)
    bbb = out[ensure_titles()[0].id][0]
    out["bbb@44.1k"] = (signal.resample_poly(bbb, 147, 160, axis=0), 44100)
    return out


@pytest.fixture(scope="module")
def programme():
    return _programme()


def test_integrated_loudness_within_0_1_lu_of_pyloudnorm_on_real_programme(programme):
    """pyloudnorm's K-weighting is the published 48 kHz curve re-fitted (a 1.5 kHz shelf, a 38 Hz
    high-pass), ours the standard's own derivation: they agree within 0.1 LU on programme."""
    assert {"bbb-720p25", "bikes-720p25", "noise"} <= set(programme)
    diffs = {}
    for name, (x, rate) in programme.items():
        ours = loudness.integrated(x, rate)
        theirs = pyloudnorm.Meter(rate).integrated_loudness(x)
        diffs[name] = ours - theirs
        assert abs(ours - theirs) <= 0.1, (name, ours, theirs)
    print({k: round(v, 3) for k, v in diffs.items()})


# --- true peak -------------------------------------------------------------------------------------


def test_true_peak_sees_the_inter_sample_peak_of_a_quarter_rate_sine():
    """A sine at fs/4 with a 45 degree phase: every sample is +-0.707 (-3.01 dBFS), the waveform
    between them reaches 1.0 (0 dBTP). 4x oversampling lands on the crest exactly."""
    x = sine(RATE / 4, 0.0, 2.0, phase=np.pi / 4)
    assert 20 * np.log10(np.abs(x).max()) == pytest.approx(-3.01, abs=0.01)
    m = loudness.TruePeakMeter(RATE, 2)
    m.feed(x)
    steady = m.peaks()[2:-2]  # the sine's abrupt start and end ring (Gibbs), as any interpolator does
    assert 20 * np.log10(steady.max()) == pytest.approx(0.0, abs=0.05)
    assert 20 * np.log10(steady.min()) == pytest.approx(0.0, abs=0.05)


def test_true_peak_of_a_low_sine_is_its_sample_peak_and_clipping_reads_over_0_dbtp():
    assert loudness.true_peak_dbtp(sine(997, -6.0, 1.0), RATE) == pytest.approx(-6.0, abs=0.02)
    clipped = np.clip(sine(997, 6.0, 1.0), -1, 1)  # clipped at full scale: the interpolator overshoots
    assert loudness.true_peak_dbtp(clipped, RATE) > 0.0


def test_reference_titles_true_peak_is_below_the_r128_limit(programme):
    for name in ("bbb-720p25", "bikes-720p25"):
        x, rate = programme[name]
        assert loudness.true_peak_dbtp(x, rate) < -1.5, name
