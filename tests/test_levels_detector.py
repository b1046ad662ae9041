"""audio_levels on real programme: the reference titles' own sound (with their channel identity
marks), espeak-ng speech with pauses, General MIDI music with rests, wide-stereo sources; faults
from harness.impairments.audio."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from harness.detectors import create
from harness.events import Event
from harness.impairments import audio as imp
from harness.impairments.common import AudioClip
from harness.media import AudioBlock
from harness.reference import synth
from harness.reference.titles import ensure_titles

RATE = 48000
TITLES = ("bbb-720p25", "bikes-720p25")


@pytest.fixture(scope="module")
def sound() -> dict[str, np.ndarray]:
    return {t.id: np.fromfile(t.audio_path, np.float32).reshape(-1, 2) for t in ensure_titles(list(TITLES))}


def run(x: np.ndarray, start_s: float = 0.0, **params) -> list[Event]:
    d = create("audio_levels", params)
    for i in range(0, len(x), 1024):
        d.feed_audio(AudioBlock(x[i : i + 1024], start_s + i / RATE, RATE))
    return d.finish()


def only(events: list[Event], kind: str) -> list[Event]:
    return [e for e in events if e.type == kind]


@pytest.mark.parametrize("title", TITLES)
def test_clean_reference_titles_raise_nothing(sound, title):
    assert run(sound[title], channel_identity="reference") == []


def test_loudness_policy(sound):
    x = sound["bikes-720p25"]
    [e] = run(x, target_lufs=-31.0)
    assert e.type == "audio_loudness" and e.details["integrated_lufs"] == pytest.approx(-19.15, abs=0.3)
    assert e.details["short_term_max_lufs"] > e.details["short_term_min_lufs"]
    assert run(x, target_lufs=-20.5) == []  # within 2 LU of its own loudness


CHANNEL_FAULTS = [
    ("audio_channel_swap", imp.channel_swap, {}, None),
    ("audio_channel_missing", imp.channel_missing, {"channel": 1}, "right"),
    ("audio_channel_missing", imp.channel_missing, {"channel": 0}, "left"),
    ("audio_phase_inverted", imp.phase_invert, {"channel": 0}, "left"),
    ("audio_phase_inverted", imp.phase_invert, {"channel": 1}, "right"),
]


@pytest.mark.parametrize("title", TITLES)
@pytest.mark.parametrize(("kind", "fault", "kw", "channel"), CHANNEL_FAULTS)
@pytest.mark.parametrize("at_s", [9.35, 21.8])
def test_channel_faults_are_found_exactly_on_reference_titles(sound, title, kind, fault, kw, channel, at_s):
    """Right fault, right channel, start within 0.5 s; nothing else fires. One exception, and
    why: an inversion is seen in the programme's own L/R correlation, and Big Buck Bunny's
    ambience after 22 s of the title is wide (correlation near 0, inverted or not): there the
    inversion shows from 1.2 s into the window, when centred sound returns."""
    x, _ = fault(AudioClip(sound[title], RATE), at_s, 5.0, **kw)
    events = run(x.samples, start_s=2.0, channel_identity="reference")
    assert [e.type for e in events] == [kind], [e.describe() for e in events]
    e = events[0]
    late = 1.5 if (title, kind, at_s) == ("bbb-720p25", "audio_phase_inverted", 21.8) else 0.5
    assert -0.5 <= e.start_s - (at_s + 2.0) <= late, e.describe()
    if kind != "audio_phase_inverted" or title == "bikes-720p25":
        assert abs(e.end_s - (at_s + 7.0)) <= 0.5, e.describe()
    if channel is not None:
        assert e.details["channel"] == channel


@pytest.mark.parametrize("direction", ["up", "down"])
def test_a_level_jump_is_found_with_its_end(sound, direction):
    x, _ = imp.level_jump(AudioClip(sound["bikes-720p25"], RATE), 14.2, 6.0, severity=0.5, direction=direction)
    events = only(run(np.clip(x.samples, -1, 1)), "audio_level_jump")
    assert len(events) == 1, [e.describe() for e in events]
    e = events[0]
    assert abs(e.start_s - 14.2) <= 0.5 and abs(e.end_s - 20.2) <= 0.5, e.describe()
    assert e.details["direction"] == direction and abs(e.details["step_db"]) == pytest.approx(10.5, abs=1.5)


def test_clipping_at_full_scale_fires_true_peak(sound):
    x, _ = imp.level_jump(AudioClip(sound["bikes-720p25"], RATE), 10.0, 2.0, severity=0.5, direction="up")
    tp = only(run(np.clip(x.samples, -1, 1)), "audio_true_peak")
    assert tp and all(9.9 <= e.start_s and e.end_s <= 12.1 for e in tp)
    assert max(e.details["true_peak_dbtp"] for e in tp) >= 0.0


def _speech_with_pauses() -> np.ndarray:
    from harness.bench.sound import pink, speech

    rng = np.random.default_rng(5)
    parts = []
    for i, text in enumerate(
        [
            "Welcome back. Tonight we look at the weather across the country.",
            "Rain moves in from the west, with strong winds on the coast.",
            "Tomorrow will be brighter, but cold in the north.",
            "And now, the news from the city, where the council met today.",
        ]
    ):
        s = np.asarray(speech(text, seed=i), np.float32).reshape(-1)
        parts.append(np.repeat(s[:, None], 2, axis=1))
        parts.append(np.zeros((int(rng.uniform(1.2, 2.5) * RATE), 2), np.float32))  # a pause
    x = np.concatenate(parts)
    tone = np.asarray(pink(len(x), rng)).reshape(len(x), -1)[:, :1]
    return (x + 10 ** (-62 / 20) * tone / np.sqrt(np.mean(tone**2))).astype(np.float32)  # room tone


@pytest.mark.skipif(not shutil.which("espeak-ng") or not shutil.which("fluidsynth"), reason="espeak-ng, fluidsynth")
def test_speech_pauses_and_music_dynamics_are_not_level_jumps(sound):
    from harness.bench.sound import midi_music

    sources = {
        "speech with pauses": _speech_with_pauses(),
        "midi music with rests": midi_music(40.0, seed=3),
        "midi music, reverb": midi_music(40.0, seed=4, reverb=True),
        "synth music": synth.music(30.0, seed=7),
        **sound,
    }
    for name, x in sources.items():
        events = run(x)
        assert events == [], (name, [(e.describe(), e.details) for e in events])


def test_wide_stereo_is_not_phase_inverted():
    """Correlation alone is fooled by wide sources: a Haas-delayed copy is strongly anti-phase at
    some frequencies, two unrelated parts correlate near zero. Only a flipped channel is
    anti-phase in every band."""
    mono = synth.music(20.0, seed=8)[:, 0]
    d = int(0.015 * RATE)
    haas = np.stack([mono, np.concatenate([np.zeros(d, np.float32), mono[:-d]])], axis=1)
    unrelated = np.stack([mono, synth.music(20.0, seed=9)[:, 1]], axis=1)
    for name, x in {"haas": haas, "unrelated": unrelated}.items():
        assert only(run(x), "audio_phase_inverted") == [], name
    flipped = np.stack([mono, -mono], axis=1)
    [e] = only(run(flipped), "audio_phase_inverted")
    assert e.start_s <= 0.1 and e.end_s >= 19.9 and e.details["correlation"] < -0.99
