"""Captions: cue files, the renderer, caption faults, the caption reader on real footage, and the
comparison against cues, through `vqa analyze --captions` too."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from harness.bench.captions import _encode
from harness.config import FaultSpec
from harness.detectors.captions import CaptionReader
from harness.impairments.captions import garble, schedule, truth
from harness.measure.captions import (
    CaptionPolicy,
    CaptionTrack,
    Cue,
    CueError,
    Shown,
    cer,
    compare,
    parse_vtt,
    title_frames,
)
from harness.media import Frame
from harness.reference.captions import CAPTION_DIR, draw, title_cues
from harness.reference.titles import ensure_titles, load_recipes

REPO = Path(__file__).resolve().parents[1]


def test_opencv_stays_headless_4x_with_its_cascades():
    """rapidocr_onnxruntime depends on opencv-python, which pulls 5.x (no Haar cascades) over ours."""
    assert cv2.__version__.startswith("4."), cv2.__version__
    assert Path(cv2.data.haarcascades, "haarcascade_frontalface_default.xml").is_file()


# ---- cue files ---------------------------------------------------------------------------------
def test_every_suite_title_has_a_cue_file_within_caption_style_limits():
    suite = [r for r in load_recipes() if r.suite]
    assert suite
    non_ascii = False
    for r in suite:
        cues = title_cues(r.id)
        assert cues is not None, f"{r.id} has no {CAPTION_DIR / (r.id + '.vtt')}"
        assert len(cues) >= 6
        for c in cues:
            lines = c.text.split("\n")
            assert 1 <= len(lines) <= 2 and all(len(x) <= 42 for x in lines), c
            assert 1.0 <= c.end_s - c.start_s <= 7.0, c
            assert 0 <= c.start_s and c.end_s <= r.duration_s
            non_ascii |= any(ord(ch) > 127 for ch in c.text)
        assert all(a.end_s < b.start_s for a, b in zip(cues, cues[1:], strict=False)), "cues overlap"
        assert any(any(ch.isdigit() for ch in c.text) for c in cues)
    assert non_ascii


def test_vtt_parsing_reads_settings_tags_and_notes():
    cues = parse_vtt(
        "WEBVTT - demo\nKind: captions\n\nNOTE a comment\n\nSTYLE\n::cue { color: white }\n\n"
        "intro\n00:01.000 --> 00:02.500 line:80%\n<i>Hello</i> <c.loud>there</c>\n\n"
        "01:00:00.000 --> 01:00:01.000\nOne\nTwo\n"
    )
    assert [(c.start_s, c.end_s, c.text) for c in cues] == [(1.0, 2.5, "Hello there"), (3600.0, 3601.0, "One\nTwo")]
    assert cues[0].frames(25) == (25, 62)  # 1.000-2.500 s: frames 25..62 at 25 fps


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("1\n00:01.000 --> 00:02.000\nx\n", "line 1 must start with WEBVTT"),
        ("WEBVTT\n\n00:01.000 --> 00:0x.000\nx\n", "line 3: '00:0x.000' is not a WebVTT time"),
        ("WEBVTT\n\n00:02.000 --> 00:01.000\nx\n", "line 3: the cue ends (1.000 s) before it starts"),
        ("WEBVTT\n\n00:01.000 --> 00:02.000\n<i></i>\n", "line 3: the cue has no text"),
        ("WEBVTT\n\nhello\nworld\n", "line 3: a cue needs a 'start --> end' line"),
    ],
)
def test_a_broken_cue_file_is_one_error_naming_the_line(text, needle):
    with pytest.raises(CueError) as e:
        parse_vtt(text, "x.vtt")
    assert needle in str(e.value) and str(e.value).startswith("x.vtt: ")


def test_cer_folds_case_space_quotes_and_accents_but_counts_words():
    assert cer("Café crème,\nDéjà vu", "cafe  creme, deja VU") == 0.0
    assert cer("“Hi” — you", '"hi" - you') == 0.0
    assert cer("hello world", "hello word") == pytest.approx(1 / 11)
    assert cer("Café", "CafÃ©") > 0.05  # mojibake is still wrong
    assert cer("abc", "") == 1.0


# ---- faults ------------------------------------------------------------------------------------
CUES = [
    Cue(1, 1.0, 3.0, "Good morning, meadow!"),
    Cue(2, 4.0, 6.0, "Three apples\nand two pears."),
    Cue(3, 7.0, 9.0, "Wait."),
]


def test_garbled_text_keeps_its_shape_and_is_always_wrong():
    for seed in range(50):
        for sev in (0.1, 0.5, 1.0):
            for c in CUES:
                g = garble(c.text, sev, seed, ["alpha", "beta"])
                assert g.count("\n") == c.text.count("\n") and len(g) == len(c.text)
                assert cer(c.text, g) > CaptionPolicy().max_cer, (c.text, g)
    assert garble("Wait.", 1.0, 1) == garble("Wait.", 1.0, 1)  # deterministic


def test_schedule_and_truth_for_each_caption_fault():
    fps, dur = 25.0, 12.0
    f = [
        FaultSpec(type="caption_offset", at_s=0.5, duration_s=1.0, offset_ms=250),
        FaultSpec(type="caption_missing", at_s=3.5, duration_s=1.0),
        FaultSpec(type="caption_stuck", at_s=6.5, duration_s=1.0),
    ]
    shown = schedule(CUES, f, dur)
    assert [(s.cue.index, s.start_s, s.end_s) for s in shown] == [(1, 1.25, 3.25), (3, 7.0, 12.0)]
    t = truth(CUES, f, fps, dur)
    assert t[0] == {"cue": 1, "problem": "timing", "start_error_frames": 7, "end_error_frames": 7}
    assert t[1]["problem"] == "missing" and t[2]["problem"] == "timing" and t[2]["end_error_frames"] == 75
    assert schedule(CUES, [FaultSpec(type="captions_off")], dur) == []
    assert all(x["problem"] == "missing" for x in truth(CUES, [FaultSpec(type="captions_off")], fps, dur))
    track = CaptionTrack(schedule(CUES, [FaultSpec(type="caption_offset", offset_ms=-500)], dur))
    assert track.at(0.4) is None and track.at(0.5) == CUES[0].text and track.at(2.5) is None


def test_compare_scores_timing_text_and_missing_against_the_cues():
    fps = 25.0
    shown = [
        Shown(0, 0, "Good morning, meadow!", 0.99, first_frame=26, last_frame=74),  # 1 frame late: ok
        Shown(0, 0, "Three apples\nand two bears.", 0.99, first_frame=100, last_frame=149),  # 1 char: ok
        Shown(0, 0, "Something else entirely", 0.99, first_frame=240, last_frame=280),  # after cue 3
    ]
    res, extra = compare(CUES, shown, fps)
    assert res[0].problems == [] and res[0].start_error_frames == 1
    assert res[1].problems == [] and 0 < (res[1].cer or 0) < 0.05
    assert res[2].problems == ["missing"] and [s.text for s in extra] == ["Something else entirely"]
    # other words over most of the cue's own time: that cue, garbled beyond recognition
    res, extra = compare(CUES[2:], [Shown(0, 0, "Something else", 0.99, first_frame=176, last_frame=226)], fps)
    assert res[0].problems == ["text"] and not extra


def test_title_frames_come_from_the_frame_codes_on_the_same_frames():
    s = [Shown(1.0, 2.0, "x")]
    title_frames(s, [None, 10, 11, None, 13, 14], [0.96, 1.0, 1.04, 1.5, 2.0, 2.04])
    assert (s[0].first_frame, s[0].last_frame) == (10, 13)


# ---- the reader on real footage -----------------------------------------------------------------
@pytest.fixture(scope="module")
def footage():
    """Title frames of both suite titles (letterboxed bikes, bright grass and sky in bbb)."""
    out = {}
    for t in ensure_titles(["bbb-720p25", "bikes-720p25"]):
        with av.open(str(t.path)) as c:
            out[t.id] = [f.to_ndarray(format="bgr24") for _, f in zip(range(500), c.decode(video=0), strict=False)]
    return out


def _read(frames, track, fps=25.0):
    det = CaptionReader({"skip_framecode": True})
    for i, img in enumerate(frames):
        text = track.at(i / fps) if track is not None else None
        shown = draw(img, text) if text else img
        det.feed_video(Frame(cv2.cvtColor(shown, cv2.COLOR_BGR2GRAY), i / fps, i))
    det.finish()
    title_frames(det.shown, list(range(len(frames))), [i / fps for i in range(len(frames))])
    return det


@pytest.mark.parametrize("title", ["bbb-720p25", "bikes-720p25"])
def test_clean_captions_on_real_footage_read_right_and_on_time(footage, title):
    cues = [c for c in title_cues(title) or [] if c.end_s <= 19.5]
    det = _read(footage[title], CaptionTrack(schedule(cues, [], 20.0)))
    res, extra = compare(cues, det.shown, 25.0)
    assert len(res) >= 4 and not extra, [s.to_dict() for s in det.shown]
    for r in res:
        assert r.problems == [], r
        assert r.start_error_frames == 0 and r.end_error_frames == 0
        assert (r.cer or 0) <= 0.05
    assert det.ocr_calls <= 3 * len(cues) + 10  # OCR where the text changes, not per frame


@pytest.mark.parametrize("title", ["bbb-720p25", "bikes-720p25"])
def test_footage_without_captions_shows_no_caption(footage, title):
    """Hard negatives: grass against sky, a grey road behind a fence, the frame code itself."""
    det = _read(footage[title], None)
    assert det.shown == [], [s.to_dict() for s in det.shown]


def test_a_garbled_and_a_late_cue_are_told_apart_from_clean_ones(footage):
    cues = [c for c in title_cues("bbb-720p25") or [] if c.end_s <= 19.5]
    faults = [
        FaultSpec(type="caption_garbled", at_s=4.5, duration_s=1.0, severity=0.3, seed=2),
        FaultSpec(type="caption_offset", at_s=12.0, duration_s=1.0, offset_ms=1000),
    ]
    det = _read(footage["bbb-720p25"], CaptionTrack(schedule(cues, faults, 20.0)))
    res, _ = compare(cues, det.shown, 25.0)
    by = {r.cue.start_s: r for r in res}
    assert by[4.8].problems == ["text"]
    assert by[12.4].problems == ["timing"] and by[12.4].start_error_frames == 25
    assert all(r.problems == [] for s, r in by.items() if s not in (4.8, 12.4))


# ---- vqa analyze --captions ---------------------------------------------------------------------
def test_vqa_analyze_checks_any_file_against_a_cue_file(tmp_path, footage):
    cues_txt = (
        "WEBVTT\n\n00:01.000 --> 00:03.000\nThe bus leaves at 9:15.\n\n00:04.000 --> 00:06.000\nPlease stand clear.\n"
    )
    vtt = tmp_path / "cues.vtt"
    vtt.write_text(cues_txt)
    shown = [Cue(1, 1.0, 3.0, "The bus leaves at 9:45."), Cue(2, 4.0, 6.0, "Please stand clear.")]
    track = CaptionTrack(schedule(shown, [], 7.0))
    frames = [
        draw(img, track.at(i / 25)) if track.at(i / 25) else img for i, img in enumerate(footage["bikes-720p25"][:175])
    ]
    clip = tmp_path / "clip.mp4"
    _encode(clip, frames, 25.0)
    out = tmp_path / "a.json"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "analyze",
            str(clip),
            "--detectors",
            "black_frames",
            "--captions",
            str(vtt),
            "--json",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 1, r.stdout + r.stderr
    assert "caption_text" in r.stdout and "cue 1 reads" in r.stdout
    d = json.loads(out.read_text())
    assert [e["type"] for e in d["events"]] == ["caption_text"]
    assert [c["problems"] for c in d["captions"]["cues"]] == [["text"], []]
    # no cue file: what was shown, and no verdict on it
    r = subprocess.run(
        [sys.executable, "-m", "harness.cli", "analyze", str(clip), "--detectors", "captions"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0 and "Please stand clear." in r.stdout, r.stdout + r.stderr
    bad = tmp_path / "bad.vtt"
    bad.write_text("WEBVTT\n\n00:02.000 --> 00:01.000\nx\n")
    r = subprocess.run(
        [sys.executable, "-m", "harness.cli", "analyze", str(clip), "--captions", str(bad)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "line 3" in r.stderr, r.stderr


# ---- the simulated device ----------------------------------------------------------------------
def test_the_simulated_tv_draws_captions_only_when_they_are_on():
    from devices import open_device
    from harness.config import DeviceSpec, RigSpec, SimulatorSpec

    spec = DeviceSpec(
        name="cc", kind="tv", control="sim://cc", rig=RigSpec(video="sim://", audio="sim://"), simulator=SimulatorSpec()
    )
    dev = open_device(spec)
    dev._titles = ensure_titles(["bbb-720p25"])
    got: list[tuple[float, np.ndarray]] = []
    dev.output.video_subs.append(lambda img, t: got.append((t, cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))))
    dev.open()
    try:
        dev.launch("bbb-720p25")
        dev.wait_for_state("playing", 10)
        assert dev.captions_state() is False
        dev.set_captions(True)
        dev.set_captions(True)  # already on: no second key press
        assert dev.captions_state() is True
        while dev.status().position_s < 2.5:
            time.sleep(0.05)
        dev.set_captions(False)
    finally:
        dev.close()
    det = CaptionReader({"skip_framecode": True})
    for i, (t, luma) in enumerate(got):
        det.feed_video(Frame(luma, t, i))
    det.finish()
    assert [s.text for s in det.shown] == ["Good morning, meadow!"]
