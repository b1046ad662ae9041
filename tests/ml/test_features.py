"""The audio front end: one implementation for training and the detector, and the numbers it gives.

The detector cuts windows from a stream block by block; training cuts them from whole segments
with `windows(columns(...))`: both must give the same numbers, bit for bit."""

from __future__ import annotations

import numpy as np

from harness.detectors.artifacts import STEP_SAMPLES, WINDOW_SAMPLES
from harness.ml import features as fe


def _music(seconds: float, seed: int = 0) -> np.ndarray:
    from harness.reference import synth

    return synth.music(seconds, seed=seed)


def test_streamed_windows_equal_the_training_windows() -> None:
    x = fe.mono(_music(5.3))
    batch, starts = fe.windows(fe.columns(x))
    assert batch.shape[1:] == (1, fe.ROWS, fe.WINDOW_FRAMES) and len(batch) == len(starts) >= 8
    for k, s in enumerate(starts):
        a = int(s) * fe.HOP
        assert a == k * STEP_SAMPLES
        one = fe.columns(x[a : a + WINDOW_SAMPLES])
        assert one.shape == (fe.ROWS, fe.WINDOW_FRAMES)
        np.testing.assert_array_equal(one, batch[k, 0])


def test_a_sine_lands_in_its_band_at_its_level_and_40_db_quieter_reads_40_db_lower() -> None:
    t = np.arange(fe.RATE) / fe.RATE
    cols = fe.columns(np.sin(2 * np.pi * 1000 * t).astype(np.float32))
    db = cols[: fe.N_MELS] * 20 - 40
    band = int(np.argmax(db[:, 10]))
    centres = np.argmax(fe.mel_filters(), axis=1) * fe.RATE / fe.N_FFT
    assert abs(centres[band] - 1000) < 120
    assert -7.0 < db[band, 10] < -3.0  # the sine's bins under the band's unit-sum triangle (docstring)
    quiet = fe.columns((0.01 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32))[: fe.N_MELS] * 20 - 40
    assert abs((db[band, 10] - quiet[band, 10]) - 40.0) < 0.01


def test_mains_hum_lands_in_the_lowest_bands() -> None:
    t = np.arange(fe.RATE) / fe.RATE
    hum = (0.05 * np.sin(2 * np.pi * 50 * t)).astype(np.float32)
    db = fe.columns(hum)[: fe.N_MELS] * 20 - 40
    assert int(np.argmax(db[:, 20])) <= 2
    assert db[:3, 20].max() > db[20:, 20].max() + 40


def test_sample_domain_rows_see_clipping_and_clicks() -> None:
    x = fe.mono(_music(1.2)) * 4
    clipped = np.clip(x, -0.3, 0.3)
    clicked = x.copy()
    clicked[fe.N_FFT // 2 :: fe.HOP] += 0.8  # one click in every frame
    flat = fe.N_MELS
    impulse = fe.N_MELS + 2
    clean_cols, clip_cols, click_cols = fe.columns(x), fe.columns(clipped), fe.columns(clicked)
    assert clean_cols[flat].mean() < 0.05 < clip_cols[flat].mean()
    assert click_cols[impulse].mean() > clean_cols[impulse].mean() + 0.5
    assert clip_cols[fe.N_MELS + 1].mean() < clean_cols[fe.N_MELS + 1].mean()  # crest falls


def test_channels_differ_only_when_they_do() -> None:
    m = _music(1.0)
    same = np.stack([m[:, 0], m[:, 0]], axis=1)
    assert not fe.channels_differ(same)
    one_sided = same.copy()
    one_sided[:, 1] *= 0.1
    assert fe.channels_differ(one_sided)
    resampled = fe.to_rate(same[:44100], 44100)
    assert resampled.shape == (48000, 2)
