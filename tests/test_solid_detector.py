"""solid_color: fills of every colour the impairment library draws, found at their time with the
colour named, through a real H.264 file and the reader's chroma planes; the hard negatives (fades
through white, letterbox bars, a dark launcher screen, real footage) stay quiet."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from helpers import footage, write_clip

from harness.analysis import analyze
from harness.detectors import create
from harness.impairments import impair_file
from harness.impairments.video import COLORS
from harness.media import Frame, MediaReader

FPS = 25


def frame_of(bgr: np.ndarray, i: int, colour: bool = True) -> Frame:
    """A Frame as the reader gives it: luma and 4:2:0 chroma planes of the BT.601 conversion."""
    h, w = bgr.shape[:2]
    yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
    y = yuv[:h]
    u = yuv[h : h + h // 4].reshape(h // 2, w // 2)
    v = yuv[h + h // 4 :].reshape(h // 2, w // 2)
    return Frame(y, i / FPS, i, (u, v) if colour else None)


def run(frames: list[np.ndarray], colour: bool = True, params: dict | None = None) -> list:
    d = create("solid_color", params)
    for i, f in enumerate(frames):
        d.feed_video(frame_of(f, i, colour))
    return d.finish()


@pytest.fixture(scope="module")
def clip() -> list[np.ndarray]:
    return [cv2.resize(f, (640, 360)) for f in footage("bigbuckbunny.mp4", 100)]


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> str:
    return str(write_clip(tmp_path_factory.mktemp("solid") / "bikes.mp4", seconds=5.0, audio=False))


def test_the_reader_gives_chroma_planes_of_a_yuv420_file(source):
    f = next(iter(MediaReader(source).frames()))
    assert f.chroma is not None
    u, v = f.chroma
    assert u.shape == v.shape == (f.luma.shape[0] // 2, f.luma.shape[1] // 2)


@pytest.mark.parametrize("color", sorted(COLORS))
@pytest.mark.parametrize("severity", [0.33, 1.0])
def test_each_colour_found_at_its_time_and_named_through_a_real_file(source, tmp_path, color, severity):
    out = tmp_path / f"{color}.mp4"
    impair_file(source, out, "solid_color", 2.0, 1.0, severity, 1, color=color)
    events = analyze(out, detectors=["solid_color"]).events
    assert len(events) == 1, events
    e = events[0]
    assert abs(e.start_s - 2.0) < 0.05 and abs(e.end_s - 3.0) < 0.05, (e.start_s, e.end_s)
    assert e.details["color"] == color
    assert e.details["onset"] == "sudden"
    assert abs(e.details["coverage"] - severity) <= 0.03, e.details
    assert abs(e.details["first_line"] - 360 * (1 - severity)) <= 8, e.details


def test_clean_file_has_no_event(source):
    assert analyze(source, detectors=["solid_color"]).events == []


def test_luma_only_frames_still_find_a_grey_fill(clip):
    frames = list(clip)
    for i in range(40, 60):
        frames[i] = frames[i].copy()
        frames[i][180:] = COLORS["grey"]
    events = run(frames, colour=False)
    assert len(events) == 1 and events[0].details["color"] == "grey"
    assert abs(events[0].start_s - 40 / FPS) < 1e-6


def _fade(a: np.ndarray, to: tuple[int, int, int], k: float) -> np.ndarray:
    return (a.astype(np.float32) * (1 - k) + np.asarray(to, np.float32) * k).round().astype(np.uint8)


def test_a_fade_through_white_is_not_a_fault_but_a_white_screen_held_for_seconds_is(clip):
    white = (255, 255, 255)
    frames = list(clip[:30])
    frames += [_fade(clip[30 + i], white, (i + 1) / 12) for i in range(12)]  # half a second to white
    frames += [np.full_like(clip[0], 255)] * 4  # held for 4 frames
    frames += [_fade(clip[50 + i], white, 1 - (i + 1) / 12) for i in range(12)]
    frames += list(clip[62:])
    assert run(frames) == []
    # the same fade, then stuck on white for 4 s: a hung app's screen
    stuck = frames[:42] + [np.full_like(clip[0], 255)] * 100
    events = run(stuck)
    assert len(events) == 1 and events[0].details["onset"] == "gradual" and events[0].details["color"] == "white"


def test_letterbox_bars_and_a_dark_launcher_screen_are_not_solid_colour(clip):
    barred = []
    for f in clip:
        g = np.zeros_like(f)
        g[45:315] = cv2.resize(f, (640, 270))
        barred.append(g)
    assert run(barred) == []
    # a TV launcher: dark navy background, tiles and text in the upper half (cut to from programme)
    home = np.full_like(clip[0], (48, 30, 24))
    cv2.rectangle(home, (40, 100), (230, 200), (60, 140, 230), 4)
    cv2.putText(home, "home", (40, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (235, 235, 235), 2)
    assert run(list(clip[:20]) + [home] * 60) == []


def test_a_flat_coloured_graphic_that_does_not_reach_the_bottom_edge_is_not_a_fill(clip):
    frames = [f.copy() for f in clip]
    for f in frames[20:70]:
        f[20:200] = COLORS["blue"]  # a big blue card over the upper half, programme below
    assert run(frames) == []


def test_the_failure_line_names_the_colour_and_the_share_of_the_picture(clip):
    from harness.suite.verdict import describe_event

    frames = [f.copy() for f in clip]
    for f in frames[25:50]:
        f[216:] = COLORS["magenta"]
    (e,) = run(frames)
    line = describe_event(e, lambda t: t + 10.0)
    want = "solid_color at 1.00-2.00 s of the capture (1.00 s, title position 11.00 s)"
    assert line == want + " [magenta over the bottom 40% of the picture]"
