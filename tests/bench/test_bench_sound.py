"""The benchmark's sound sources: the noise gate, General MIDI music with rests, recorded voice."""

from __future__ import annotations

import numpy as np

from harness.bench import sound
from harness.bench.sound import RATE, GateSpec


def _levels(x: np.ndarray, ms: float = 2.5) -> np.ndarray:
    n = int(RATE * ms / 1000)
    k = len(x) // n
    return 20 * np.log10(np.maximum(np.sqrt((x[: k * n].reshape(k, n, -1) ** 2).mean(axis=1)).max(axis=1), 1e-6))


def test_gate_passes_sound_and_closes_over_its_release_into_digital_zero() -> None:
    t = np.arange(RATE) / RATE
    x = np.stack([0.3 * np.sin(2 * np.pi * 440 * t)] * 2, axis=1)
    x[RATE // 2 :] *= 1e-4  # -80 dB: below the threshold after 0.5 s
    y = sound.noise_gate(x, GateSpec(threshold_dbfs=-50, hold_s=0.02, release_s=0.1))
    assert np.allclose(y[: RATE // 2 - 480], x[: RATE // 2 - 480], atol=1e-6)  # open: untouched
    lv = _levels(y)
    i = int(0.5 / 0.0025)
    # after the hold, the gain falls 100 dB over 100 ms: about 25 dB in the 25 ms after 0.53 s
    assert 15 < lv[i + 12] - lv[i + 22] < 35
    assert np.all(y[int(0.65 * RATE) :] == 0)  # closed: digital zero


def test_gate_with_a_range_stops_at_it() -> None:
    x = np.full((RATE, 1), 1e-3, np.float32)  # -60 dBFS, under the threshold throughout
    y = sound.noise_gate(x, GateSpec(threshold_dbfs=-50, release_s=0.05, range_db=40))
    assert abs(20 * np.log10(np.abs(y[-100:]).max()) - (-100)) < 0.5


def test_midi_phrases_play_with_rests_into_silence() -> None:
    smf = sound.midi_phrases(10.0, seed=3)
    assert smf[:4] == b"MThd" and b"MTrk" in smf
    x = sound.midi_music(10.0, seed=3)
    assert x.shape == (10 * RATE, 2)
    lv = _levels(x, 10)
    assert lv.max() > -30  # notes sound
    zero = np.abs(x).max(axis=1) == 0
    assert 0.02 < zero.mean() < 0.8  # and the rests ring out into digital silence


def test_recorded_voice_is_seeded_prompts_with_silent_gaps() -> None:
    a, b = sound.recorded_voice(8.0, seed=1), sound.recorded_voice(8.0, seed=1)
    assert np.array_equal(a, b) and len(a) == 8 * RATE
    assert not np.array_equal(a, sound.recorded_voice(8.0, seed=2))
    assert (a == 0).mean() > 0.2 and np.abs(a).max() > 0.1
