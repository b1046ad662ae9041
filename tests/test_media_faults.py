"""`vqa analyze` on media a lab will meet: every odd file is analysed or refused with one clear
line (exit 2), never a traceback. The files are made here with FFmpeg's own test sources."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from test_cli import vqa

FF = ["ffmpeg", "-v", "error", "-y"]
SRC = ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=4", "-f", "lavfi", "-i", "sine=f=440:d=4"]


def _ff(*args: str) -> None:
    subprocess.run([*FF, *args], check=True, capture_output=True)


def _analysed(path) -> dict:
    r = vqa("analyze", str(path), "--json", "-", "-q")
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout)


def _refused(path, needle: str) -> None:
    r = vqa("analyze", str(path), "-q")
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert str(path) in lines[0] and needle in lines[0], lines[0]


def test_zero_bytes_is_refused(tmp_path):
    p = tmp_path / "empty.mkv"
    p.write_bytes(b"")
    _refused(p, "not a media file")


def test_audio_only_and_video_only_are_analysed(tmp_path):
    a, v = tmp_path / "a.m4a", tmp_path / "v.mp4"
    _ff("-f", "lavfi", "-i", "sine=f=440:d=3", "-c:a", "aac", str(a))
    _ff("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=3", "-pix_fmt", "yuv420p", str(v))
    doc = _analysed(a)
    assert doc["media"].get("video") is None and doc["media"]["audio"]["samplerate"] == 44100  # as in the file
    doc = _analysed(v)
    assert doc["media"].get("audio") is None and doc["media"]["video"]["frames"] == 75


def test_damaged_packets_in_the_middle_are_analysed_with_a_warning(tmp_path):
    p = tmp_path / "clip.ts"
    _ff(*SRC, "-c:v", "libx264", "-g", "25", "-pix_fmt", "yuv420p", "-c:a", "aac", str(p))
    data = bytearray(p.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 4000] = bytes((i * 37) % 251 for i in range(4000))  # a burst of garbage
    p.write_bytes(bytes(data))
    doc = _analysed(p)
    assert doc["media"]["video"]["width"] == 640


def test_a_size_change_mid_stream_is_analysed(tmp_path):
    a, b, both = tmp_path / "a.ts", tmp_path / "b.ts", tmp_path / "both.ts"
    _ff(*SRC, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(a))
    src_small = [x.replace("640x360", "320x240") for x in SRC]
    _ff(*src_small, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-output_ts_offset", "4", str(b))
    both.write_bytes(a.read_bytes() + b.read_bytes())  # as a stream that switches resolution
    doc = _analysed(both)
    assert doc["media"]["duration_s"] > 6


def test_variable_frame_rate_is_analysed(tmp_path):
    p = tmp_path / "vfr.mkv"
    # every tenth frame and its next two are missing: timestamps jump, as from a VFR encoder
    _ff(
        *SRC,
        "-vf",
        "select='lt(mod(n,10),7)'",
        "-fps_mode",
        "passthrough",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        str(p),
    )
    doc = _analysed(p)
    assert doc["media"]["video"] is not None


def test_4k_is_analysed(tmp_path):
    p = tmp_path / "uhd.mp4"
    _ff(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=3840x2160:rate=25:duration=2",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        str(p),
    )
    doc = _analysed(p)
    assert doc["media"]["video"]["width"] == 3840


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        ("no meta", "no meta.json"),
        ("garbage meta", "not valid JSON"),
        ("meta not an object", "must be a JSON object"),
        ("meta names no video file", "no such file"),
    ],
)
def test_a_damaged_bundle_is_refused_with_one_line(tmp_path, clips, damage, needle):
    b = tmp_path / "bundle"
    b.mkdir()
    shutil.copy(clips["clean"], b / "video.mkv")
    meta = {"device": "sim-tv01", "files": {"video": "video.mkv", "audio": None}, "duration_s": 6.0}
    if damage == "garbage meta":
        (b / "meta.json").write_bytes(b'{"files": {"video": "vid')
    elif damage == "meta not an object":
        (b / "meta.json").write_text("[1, 2]")
    elif damage == "meta names no video file":
        (b / "meta.json").write_text(json.dumps({**meta, "files": {"video": "gone.mkv"}}))
    elif damage != "no meta":
        raise AssertionError(damage)
    r = vqa("analyze", str(b), "-q")
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.stderr, r.stderr
