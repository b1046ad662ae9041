"""Detectors on synthetic arrays built from real footage, including the hard negatives."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import footage, luma

from harness.detectors import create
from harness.detectors.base import RunTracker
from harness.media import AudioBlock, Frame
from harness.reference.synth import music

FPS = 25


def run_video(name, lumas, params=None):
    d = create(name, params)
    for i, y in enumerate(lumas):
        d.feed_video(Frame(y, i / FPS, i))
    return d.finish()


def run_audio(name, samples, params=None, block=4800):
    d = create(name, params)
    for i in range(0, len(samples), block):
        d.feed_audio(AudioBlock(samples[i : i + block], i / 48000, 48000))
    return d.finish()


@pytest.fixture(scope="module")
def clip():
    return [luma(f) for f in footage("bigbuckbunny.mp4", 125)]


# ---- black_frames ----------------------------------------------------------------------------
def test_black_run_found_at_its_time(clip):
    frames = list(clip)
    for i in range(50, 75):  # 1.0 s of limited-range black with a little noise
        frames[i] = np.clip(16 + np.random.default_rng(i).normal(0, 2, clip[0].shape), 0, 255).astype(np.uint8)
    ev = run_video("black_frames", frames)
    assert len(ev) == 1
    assert ev[0].type == "black_frames"
    assert ev[0].start_s == pytest.approx(2.0, abs=1e-6)
    assert ev[0].end_s == pytest.approx(3.0, abs=1e-6)


def test_dark_scene_is_not_black(clip):
    # real footage darkened to a night scene: mean luma ~ 20, but detail remains
    dark = [(y.astype(np.float32) * 0.18).astype(np.uint8) for y in clip]
    assert 10 < np.mean(dark[0]) < 30
    assert run_video("black_frames", dark) == []


def test_black_shorter_than_min_duration_is_ignored(clip):
    frames = list(clip)
    frames[40] = frames[41] = np.zeros_like(clip[0])  # 2 frames = 0.08 s < 0.1 s
    assert run_video("black_frames", frames) == []


def test_black_run_at_end_is_closed(clip):
    frames = list(clip[:50]) + [np.zeros_like(clip[0])] * 10
    ev = run_video("black_frames", frames)
    assert len(ev) == 1 and ev[0].end_s == pytest.approx(60 / FPS)


def test_picture_dimmed_to_near_black_is_black(clip):
    # a failing backlight / blank decoder plane: the picture at 13 % of its light, highlights above
    # the pixel threshold, so only the sudden-dimming rule can call it
    frames = list(clip)
    for i in range(50, 70):
        frames[i] = np.round(16 + (clip[i].astype(np.float32) - 16) * 0.13).astype(np.uint8)
    assert np.count_nonzero(frames[60] <= 32) / frames[60].size < 0.99
    ev = run_video("black_frames", frames)
    assert [(round(e.start_s, 2), round(e.end_s, 2)) for e in ev] == [(2.0, 2.8)]
    assert ev[0].details["dimmed"] is True


def test_fade_through_black_and_cut_to_night_scene_are_not_black(clip):
    # fade out over 10 frames to one black frame and back in: each step dims by a few per cent
    fade = [abs(k) / 10 for k in range(-10, 11)]  # 1.0 ... 0.1, 0.0, 0.1 ... 1.0
    frames = list(clip[:40])
    frames += [np.round(16 + (clip[40 + j].astype(np.float32) - 16) * g).astype(np.uint8) for j, g in enumerate(fade)]
    frames += list(clip[61:100])
    assert run_video("black_frames", frames) == []
    # a cut from daylight to a night scene (another picture, darkened to mean luma ~ 25)
    night = [np.round(16 + (np.flipud(y).astype(np.float32) - 16) * 0.12).astype(np.uint8) for y in clip[50:100]]
    assert 20 < np.mean(night[0]) < 35
    assert run_video("black_frames", list(clip[:50]) + night) == []


# ---- frozen_video ----------------------------------------------------------------------------
def test_freeze_found_at_its_time(clip):
    frames = list(clip)
    for i in range(51, 88):  # frame 50 held for 1.5 s
        frames[i] = frames[50]
    ev = run_video("frozen_video", frames)
    assert len(ev) == 1
    assert ev[0].start_s == pytest.approx(2.0, abs=1e-6)
    assert ev[0].end_s == pytest.approx(88 / FPS, abs=1e-6)


def test_static_shot_with_small_motion_is_not_frozen(clip):
    base = clip[0].astype(np.float32)
    rng = np.random.default_rng(0)
    frames = []
    for i in range(75):
        img = base + rng.normal(0, 0.6, base.shape)  # faint grain
        x = 100 + i * 3  # a small object walking across a locked-off shot
        img[300:330, x : x + 30] = 230
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
    assert run_video("frozen_video", frames) == []


def test_black_screen_is_not_reported_as_freeze(clip):
    frames = list(clip[:25]) + [np.full_like(clip[0], 16)] * 50 + list(clip[25:50])
    assert run_video("frozen_video", frames) == []


def test_freeze_survives_recording_noise(clip):
    rng = np.random.default_rng(1)
    frames = (
        list(clip[:25])
        + [np.clip(clip[25] + rng.normal(0, 0.4, clip[0].shape), 0, 255).astype(np.uint8) for _ in range(25)]
        + list(clip[50:75])
    )
    ev = run_video("frozen_video", frames)
    assert len(ev) == 1 and ev[0].duration_s == pytest.approx(1.0, abs=0.05)


def _grainy_still(clip, n, sigma, seed):
    rng = np.random.default_rng(seed)
    base = clip[0].astype(np.float32)
    return [np.clip(base + rng.normal(0, sigma, base.shape), 0, 255).round().astype(np.uint8) for _ in range(n)]


def test_grainy_still_is_not_frozen_but_a_freeze_on_it_is(clip):
    still = _grainy_still(clip, 150, 1.5, 0)  # 6 s of a locked-off still with moving grain
    assert run_video("frozen_video", still) == []
    # the same shot freezes at 2 s for 1.2 s; the capture path adds sigma-0.5 noise to every frame
    rng = np.random.default_rng(9)
    frames = [f if not 50 <= i < 80 else still[50] for i, f in enumerate(still)]
    frames = [np.clip(f + rng.normal(0, 0.5, f.shape), 0, 255).round().astype(np.uint8) for f in frames]
    ev = run_video("frozen_video", frames)
    assert len(ev) == 1
    assert ev[0].start_s == pytest.approx(2.0, abs=0.045) and ev[0].end_s == pytest.approx(80 / FPS, abs=0.045)


def test_capture_frozen_from_the_start_is_found(clip):
    # the device shows one frame for the whole capture: exact repeats, nothing to compare with
    ev = run_video("frozen_video", [clip[10]] * 75)
    assert [(e.start_s, round(e.end_s, 2)) for e in ev] == [(0.0, 3.0)]


# ---- audio_dropout ---------------------------------------------------------------------------
def test_dropout_found_at_its_time():
    x = music(6.0, seed=1)
    x[int(2.5 * 48000) : int(2.8 * 48000)] = 0
    ev = run_audio("audio_dropout", x)
    assert len(ev) == 1
    assert ev[0].start_s == pytest.approx(2.5, abs=0.011)
    assert ev[0].end_s == pytest.approx(2.8, abs=0.011)


def test_quiet_passage_is_not_a_dropout():
    x = music(6.0, seed=2)
    x[48000 * 2 : 48000 * 4] *= 10 ** (-40 / 20)  # a passage 40 dB down (~ -55 dBFS RMS)
    level = 20 * np.log10(np.sqrt(np.mean(x[48000 * 2 : 48000 * 4] ** 2)))
    assert level < -50
    assert run_audio("audio_dropout", x) == []


def test_loud_programme_dropping_40_db_is_a_dropout():
    # music at about -20 dBFS falls 40 dB for 0.5 s: -60 dBFS, above the absolute -70 line
    x = music(8.0, seed=5)
    x[int(3.0 * 48000) : int(3.5 * 48000)] *= 10 ** (-40 / 20)
    ev = run_audio("audio_dropout", x)
    assert [(round(e.start_s, 2), round(e.end_s, 2)) for e in ev] == [(3.0, 3.5)]


def test_analog_noise_floor_gap_is_a_dropout():
    x = music(4.0, seed=3)
    x[48000:72000] = np.random.default_rng(0).normal(0, 10 ** (-85 / 20), (24000, 2))
    ev = run_audio("audio_dropout", x)
    assert [round(e.start_s, 2) for e in ev] == [1.0]


def test_one_channel_playing_is_not_a_dropout():
    x = music(3.0, seed=4)
    x[48000:96000, 0] = 0
    assert run_audio("audio_dropout", x) == []


def _gated_phrases(seconds: float, seed: int) -> np.ndarray:
    """Voice-like phrases (a 150 Hz buzz shaped into syllables) over -62 dBFS room tone, through a
    noise gate: each phrase decays into digital silence, as gated narration does."""
    from harness.bench.sound import GateSpec, noise_gate, pink

    rng = np.random.default_rng(seed)
    n = int(seconds * 48000)
    t = np.arange(n) / 48000
    buzz = np.sign(np.sin(2 * np.pi * 150 * t)) * 0.5 + 0.3 * np.sin(2 * np.pi * 450 * t)
    env = np.zeros(n)
    pos = 0.3
    while pos < seconds - 2.0:
        length = rng.uniform(0.6, 1.6)
        a, b = int(pos * 48000), int((pos + length) * 48000)
        syll = np.abs(np.sin(np.pi * np.arange(b - a) / 48000 * rng.uniform(4, 7)))
        tail = np.exp(-np.arange(b - a)[::-1] / (0.03 * 48000))  # the phrase ends over ~60 ms
        env[a:b] = 0.2 * np.maximum(syll, 0.2) * (1 - tail)
        pos += length + rng.uniform(0.3, 1.2)
    x = np.stack([buzz * env] * 2, axis=1) + pink(n, rng) * 10 ** (-62 / 20)
    return noise_gate(x, GateSpec(threshold_dbfs=-50, hold_s=0.03, release_s=0.08))


def test_gated_pauses_are_not_dropouts():
    x = _gated_phrases(30.0, seed=1)
    assert np.mean(np.abs(x).max(axis=1) == 0) > 0.15  # the pauses are digital silence
    assert run_audio("audio_dropout", x) == []


def test_cut_in_gated_speech_is_a_dropout():
    # mid-phrase, the sound stops within one sample: a cut, not a pause
    x = _gated_phrases(30.0, seed=2)
    level = 20 * np.log10(np.sqrt(np.mean(x[int(0.3 * 48000) : int(0.9 * 48000)] ** 2)))
    assert level > -40  # the first phrase is sounding over [0.3, 0.9] s
    x[int(0.5 * 48000) : int(0.8 * 48000)] = 0
    ev = run_audio("audio_dropout", x)
    assert [(round(e.start_s, 2), round(e.end_s, 2)) for e in ev] == [(0.5, 0.8)]
    assert ev[0].details["cut"] is True and ev[0].details["cliff_db"] > 20


def test_note_ringing_out_into_a_rest_is_not_a_dropout():
    # piano-like notes that decay into digital silence, then a rest
    n = 48000 * 12
    x = np.zeros((n, 2), np.float32)
    for i, at in enumerate([0.2, 0.6, 1.0, 4.0, 4.3, 8.0, 8.5, 9.0]):
        a = int(at * 48000)
        k = np.arange(int(1.5 * 48000))
        note = 0.3 * np.sin(2 * np.pi * (220 + 40 * i) * k / 48000) * np.exp(-k / (0.15 * 48000))
        x[a : a + len(k)] += note[: n - a, None]
    x[np.abs(x) < 10 ** (-96 / 20)] = 0  # a 16-bit render: the tail ends in zeros
    assert run_audio("audio_dropout", x) == []


def test_silence_at_the_start_of_a_pausing_programme_is_not_a_dropout():
    x = _gated_phrases(20.0, seed=3)
    x[:24000] = 0  # the capture starts in a pause
    assert all(e.start_s > 0 for e in run_audio("audio_dropout", x))


# ---- shared ----------------------------------------------------------------------------------
def test_run_tracker_min_duration_and_open_end():
    r = RunTracker(0.1)
    for i, f in enumerate([0, 1, 1, 0, 1, 1, 1, 1]):
        r.update(i * 0.04, bool(f))
    runs = r.finish()
    assert [(round(s, 2), round(e, 2)) for s, e, _ in runs] == [(0.16, 0.32)]


def test_unknown_detector_and_bad_params_are_clear():
    with pytest.raises(KeyError, match="known: .*black_frames"):
        create("nope")
    with pytest.raises(Exception, match="black_ratio"):
        create("black_frames", {"black_ratio": 2})
