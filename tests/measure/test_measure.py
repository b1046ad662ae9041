"""Reference measurements on synthetic captures made of frame-coded real footage and music."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import footage, luma

from harness.measure import framecode, sync
from harness.measure.tracker import ReferenceTracker
from harness.media import AudioBlock, Frame
from harness.reference.synth import music

FPS = 25.0


@pytest.fixture(scope="module")
def base():
    return [luma(f)[::2, ::2].copy() for f in footage("bigbuckbunny.mp4", 50)]  # 640x360


def coded(base, n: int) -> np.ndarray:
    y = base[n % len(base)].copy()
    img = np.repeat(y[:, :, None], 3, axis=2)
    framecode.draw(img, n)
    return img[:, :, 0]


def run(
    base,
    shown: list[int | None],
    audio_delay_s: float = 0.0,
    drift_ms_per_min: float = 0.0,
    sync_frames=(25, 90, 160, 230),
    seconds: float = 12.0,
    calibration_ms: float = 0.0,
):
    tr = ReferenceTracker(FPS, list(sync_frames), calibration_ms)
    for i, n in enumerate(shown):
        y = coded(base, n) if n is not None else np.zeros_like(base[0])
        tr.feed_video(Frame(y, i / FPS, i))
    a = music(seconds, seed=1)
    times = [f / FPS + (audio_delay_s + drift_ms_per_min / 1000 * (f / FPS) / 60) for f in sync_frames]
    sync.mix_chirps(a, times)
    for i in range(0, len(a), 4800):
        tr.feed_audio(AudioBlock(a[i : i + 4800], i / 48000, 48000))
    return tr.finish()


def test_clean_capture_reports_nothing(base):
    rep = run(base, list(range(280)))
    m = rep.measurements()
    assert m["frames_dropped"] == 0 and m["frames_repeated"] == 0 and m["frames_out_of_order"] == 0
    assert m["frames_undecodable"] == 0
    assert abs(m["av_offset_ms"]) < 0.5 and m["sync_events_matched"] == 4


def test_five_dropped_three_repeated_at_their_positions(base):
    shown = list(range(0, 100))
    shown += [100, 100, 101]  # 100 repeated once
    shown += list(range(102, 150)) + list(range(155, 200))  # 150-154 dropped
    shown += [200, 200, 200] + list(range(201, 260))  # 200 repeated twice
    rep = run(base, shown)
    assert rep.dropped == [150, 151, 152, 153, 154]
    assert sorted(rep.repeated) == [100, 200, 200]
    assert rep.measurements()["frames_dropped"] == 5 and rep.measurements()["frames_repeated"] == 3


@pytest.mark.parametrize("delay_ms", [-500.0, -123.4, 0.0, 37.5, 499.0])
def test_av_offset_measured_to_a_fraction_of_a_millisecond(base, delay_ms):
    rep = run(base, list(range(280)), audio_delay_s=delay_ms / 1000)
    assert rep.measurements()["av_offset_ms"] == pytest.approx(delay_ms, abs=0.5)


def test_drift_measured(base):
    frames = list(range(0, 1500, 1))  # 60 s of title
    rep = run(
        base, frames, audio_delay_s=0.02, drift_ms_per_min=10.0, sync_frames=(50, 400, 800, 1200, 1450), seconds=61
    )
    m = rep.measurements()
    assert m["av_drift_ms_per_min"] == pytest.approx(10.0, abs=0.5)


def test_calibration_is_subtracted(base):
    rep = run(base, list(range(280)), audio_delay_s=0.080, calibration_ms=80.0)
    assert abs(rep.measurements()["av_offset_ms"]) < 0.5


def test_undecodable_frames_are_counted_not_guessed(base):
    shown: list[int | None] = list(range(100))
    shown[40:45] = [None] * 5
    shown[70] = None
    rep = run(base, shown)
    assert rep.undecodable == 6
    assert rep.dropped == [] and rep.repeated == []
    assert rep.where()["frames_undecodable"] == (
        "6 captured frames without a readable code: 5 frames at capture 1.60-1.76 s; 1 frame at capture 2.80-2.80 s"
    )


def test_three_two_cadence_is_not_a_defect(base):
    # 24p title on a 60 Hz output: holds of 3, 2, 3, 2 captured frames
    shown = []
    for n in range(60):
        shown += [n] * (3 if n % 2 == 0 else 2)
    tr = ReferenceTracker(24000 / 1001, [])
    for i, n in enumerate(shown):
        tr.feed_video(Frame(coded(base, n), i / (60000 / 1001), i))
    rep = tr.finish()
    assert rep.holds == {3: 30, 2: 30}
    assert rep.repeated == [] and rep.dropped == []
