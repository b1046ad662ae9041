"""The simulated TV's audio faults (issue 12, step 6): applied to the title's sound when it loads.

The channel and level faults fail the steady-playback scenario with `audio_levels`, and hum, hiss,
clipping and clicks with `audio_artifacts`, naming each defect at its title position; each fault's
sound is also checked sample by sample against the title's own."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import steady_playback

from devices.simulated import title_sound
from harness.config import FaultSpec
from harness.reference.titles import Title, ensure_titles

RATE = 48000
# one steady-playback run shows all four: each window is clear of the others' 3 s judging spans
CHANNEL_FAULTS = [
    {"type": "channel_missing", "at_s": 6.0, "duration_s": 2.0, "channel": 1},
    {"type": "channel_swap", "at_s": 11.5, "duration_s": 3.0},
    {"type": "phase_invert", "at_s": 18.0, "duration_s": 2.5, "channel": 0},
    {"type": "level_jump", "at_s": 22.5, "duration_s": 3.0, "severity": 0.6, "direction": "down"},
]
ARTIFACT_FAULTS = [
    {"type": "audio_hum", "at_s": 6.0, "duration_s": 3.0, "severity": 0.8, "seed": 1},
    {"type": "audio_hiss", "at_s": 12.0, "duration_s": 3.0, "severity": 0.8, "seed": 2},
    {"type": "audio_distortion", "at_s": 18.0, "duration_s": 3.0, "severity": 0.8, "seed": 3},
    {"type": "audio_clicks", "at_s": 24.0, "duration_s": 3.0, "severity": 0.8, "seed": 4},
]
ARTIFACT_EXPECTED = {"audio_hum": 6.0, "audio_hiss": 12.0, "audio_distortion": 18.0, "audio_clicks": 24.0}
EXPECTED = {
    "audio_channel_missing": 6.0,
    "audio_channel_swap": 11.5,
    "audio_phase_inverted": 18.0,
    "audio_level_jump": 22.5,
}


@pytest.fixture(scope="module")
def bikes() -> Title:
    return ensure_titles(["bikes-720p25"])[0]


def _spectrum_db(x: np.ndarray, f: float) -> float:
    """Level (dB) of the mono mix at frequency f, from a Hann-windowed FFT."""
    m = x.mean(axis=1) * np.hanning(len(x))
    spec = np.abs(np.fft.rfft(m)) * 2 / np.hanning(len(x)).sum()
    i = int(round(f * len(x) / RATE))
    return float(20 * np.log10(spec[i - 2 : i + 3].max() + 1e-12))


def test_hum_hiss_distortion_and_clicks_are_in_the_sound_the_device_plays(bikes):
    clean = title_sound(bikes, [])
    a, b = int(10 * RATE), int(12 * RATE)
    hum = title_sound(bikes, [FaultSpec(type="audio_hum", at_s=10, duration_s=2, severity=1.0, seed=1)])
    assert np.array_equal(hum[:a], clean[:a]) and np.array_equal(hum[b:], clean[b:])
    base = max(_spectrum_db(clean[a:b], f) for f in (50.0, 60.0))
    line = max(_spectrum_db(hum[a:b], f) for f in (50.0, 60.0))
    assert line > base + 20, (line, base)  # the mains line stands out of the programme

    hiss = title_sound(bikes, [FaultSpec(type="audio_hiss", at_s=10, duration_s=2, severity=1.0, seed=1)])
    noise = hiss[a:b].astype(np.float64) - clean[a:b]
    snr = 10 * np.log10(np.mean(clean[a:b].astype(np.float64) ** 2) / np.mean(noise**2))
    assert abs(snr - 10.0) < 0.5, snr  # severity 1: 10 dB SNR
    assert np.array_equal(hiss[b:], clean[b:])

    dist = title_sound(bikes, [FaultSpec(type="audio_distortion", at_s=10, duration_s=2, severity=1.0)])
    seg = np.abs(dist[a:b])
    assert np.mean(seg >= seg.max() - 1e-6) > 0.1  # 15 % of the window flattened at the clip level
    assert seg.max() < np.abs(clean[a:b]).max() * 0.9

    clicks = title_sound(bikes, [FaultSpec(type="audio_clicks", at_s=10, duration_s=2, severity=1.0, seed=2)])
    d = np.abs(clicks[a:b].astype(np.float64) - clean[a:b]).max(axis=1)
    onsets = np.flatnonzero((d[1:] > 0.1) & (d[:-1] <= 0.1))
    assert 30 <= len(onsets) <= 45, len(onsets)  # 20 a second
    assert np.array_equal(clicks[:a], clean[:a])


def test_channel_faults_change_only_their_window(bikes):
    clean = title_sound(bikes, [])
    got = title_sound(bikes, [FaultSpec(**f) for f in CHANNEL_FAULTS])
    a, b = int(11.5 * RATE), int(14.5 * RATE)
    assert np.array_equal(got[a:b], clean[a:b, ::-1])  # swapped
    a, b = int(6 * RATE), int(8 * RATE)
    assert not got[a:b, 1].any() and np.array_equal(got[a:b, 0], clean[a:b, 0])
    assert np.array_equal(got[: int(6 * RATE)], clean[: int(6 * RATE)])


def _each_named_near(found: dict[str, list[float]], expected: dict[str, float]) -> None:
    """Every expected event type is named in a failure within 0.5 s of its title position."""
    for kind, at in expected.items():
        assert kind in found, (kind, found)
        assert min(abs(x - at) for x in found[kind]) <= 0.5, (kind, found[kind], at)


@pytest.mark.e2e
def test_channel_and_level_faults_fail_steady_playback_naming_each_at_its_title_position(repo, tmp_path):
    found = steady_playback(repo, tmp_path, CHANNEL_FAULTS, "bikes-720p25", "audio_levels")
    _each_named_near(found, EXPECTED)
    assert "audio_loudness" not in found  # no policy set


@pytest.mark.e2e
def test_hum_hiss_distortion_and_clicks_fail_steady_playback_naming_each_at_its_title_position(repo, tmp_path):
    found = steady_playback(repo, tmp_path, ARTIFACT_FAULTS, "bbb-720p25", "audio_artifacts")
    _each_named_near(found, ARTIFACT_EXPECTED)
