"""audio_artifacts with the shipped model, streamed block by block as a capture is: a strong fault
of each class over [3, 8) s of a test source's music is reported as its own type, overlapping the
fault, with the signal measures beside it; and the signal-processing checks on their own."""

from __future__ import annotations

import numpy as np
import pytest

from harness.detectors import audiosp, create
from harness.detectors.artifacts import decode_image
from harness.impairments import audio as imp
from harness.impairments.common import AudioClip
from harness.media import AudioBlock
from harness.ml import features as fe

RATE = fe.RATE


def _speech() -> np.ndarray:
    from harness.train import audiodata as ad

    src = next(s for s in ad.sources("test") if s.name == "speech-en-gb-x-rp")
    return ad.render(src, 12.0)


def _run(x: np.ndarray) -> list:
    det = create("audio_artifacts")
    step = RATE // 10
    for i in range(0, len(x), step):
        det.feed_audio(AudioBlock(x[i : i + step], 100.0 + i / RATE, RATE))
    return det.finish()


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        (lambda c: imp.hum(c, 3, 5, 1.0, 1, mains_hz=50), "audio_hum"),
        (lambda c: imp.hiss(c, 3, 5, 1.0, 1, color="white", snr_db=10), "audio_hiss"),
        (lambda c: imp.clipping(c, 3, 5, 1.0, 1), "audio_distortion"),
        (lambda c: imp.clicks(c, 3, 5, 1.0, 1), "audio_clicks"),
    ],
    ids=["hum", "hiss", "clipping", "clicks"],
)
def test_a_strong_fault_is_reported_as_its_type_over_its_span(fault, kind) -> None:  # type: ignore[no-untyped-def]
    clean = _speech()
    dirty, truth = fault(AudioClip(clean, RATE))
    events = [e for e in _run(dirty.samples) if e.type == kind]
    assert events, f"no {kind} event"
    e = max(events, key=lambda e: e.duration_s)
    assert e.start_s < 100 + 8 and e.end_s > 100 + 3  # times follow the blocks' clock
    assert e.duration_s >= 1.5
    assert set(e.details["probabilities"]) == {"clean", "hum", "hiss", "distortion", "clicks"}
    assert e.details["probabilities"][kind.removeprefix("audio_")] >= 0.5
    assert "hum_prominence_db" in e.details["signal"]
    assert decode_image(e.details["spectrogram"]).shape == (fe.N_MELS, fe.WINDOW_FRAMES)


def test_signal_checks_measure_their_own_class() -> None:
    clean = _speech()[3 * RATE : 3 * RATE + RATE]
    base = audiosp.measure(fe.mono(clean), RATE)
    hum = audiosp.measure(fe.mono(imp.hum(AudioClip(clean, RATE), 0, 1, 1.0, 0, mains_hz=60)[0].samples), RATE)
    assert hum["hum_mains_hz"] == 60.0 and hum["hum_prominence_db"] > base["hum_prominence_db"] + 10
    hiss = audiosp.measure(
        fe.mono(imp.hiss(AudioClip(clean, RATE), 0, 1, 1.0, 0, color="white", snr_db=10)[0].samples), RATE
    )
    assert hiss["noise_floor_flatness"] > base["noise_floor_flatness"] + 0.2
    clip = audiosp.measure(fe.mono(imp.clipping(AudioClip(clean, RATE), 0, 1, 1.0, 0)[0].samples), RATE)
    assert clip["clipped_run_share"] > 0.01 > base["clipped_run_share"]
    clicks = audiosp.measure(fe.mono(imp.clicks(AudioClip(clean, RATE), 0, 1, 1.0, 0)[0].samples), RATE)
    assert clicks["clicks_per_s"] >= 10 > base["clicks_per_s"]


def test_mono_and_a_44k1_stream_are_taken() -> None:
    from harness.reference import synth

    x = synth.music(4.0, seed=3)[:, :1]
    det = create("audio_artifacts")
    x44 = fe.to_rate(x, RATE)[: 4 * 44100]  # any content; only the shapes and clock matter here
    for i in range(0, len(x44), 4410):
        det.feed_audio(AudioBlock(x44[i : i + 4410], i / 44100, 44100))
    det.finish()
    t, p = det.window_probs()  # type: ignore[attr-defined]
    assert len(t) >= 5 and p.shape == (len(t), 5)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-4)


@pytest.mark.parametrize("k", [5, 25, 40, 70])
def test_onset_is_the_column_where_the_features_change(k):
    from harness.detectors.artifacts import onset

    rng = np.random.default_rng(k)
    cols = rng.normal(0.0, 0.05, (fe.ROWS, fe.WINDOW_FRAMES + fe.HOP_FRAMES))
    cols[:8, k:] += 0.5  # e.g. hum: the lowest mel rows rise from column k on
    before, flagged = cols[:, : fe.WINDOW_FRAMES], cols[:, fe.HOP_FRAMES :]
    got = onset(before, flagged)
    want = (k * fe.HOP + (fe.N_FFT - fe.HOP) / 2) / RATE
    assert abs(got - want) < 1e-9, (got, want)
