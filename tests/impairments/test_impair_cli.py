"""`vqa impair` end to end: a real clip in, an impaired MP4 and its truth out, and `vqa analyze`
finds the defect where the truth says it is."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import av
import pytest
from helpers import write_clip

from harness.impairments import IMPAIRMENTS


def vqa(*args):
    exe = shutil.which("vqa")
    cmd = [exe] if exe else [sys.executable, "-m", "harness.cli"]
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("impair") / "src.mp4", seconds=4.0)


def test_impair_black_then_analyze_finds_it(source, tmp_path):
    out = tmp_path / "black.mp4"
    r = vqa("impair", source, out, "--defect", "black", "--at", 1.5, "--duration", 0.8, "--severity", 1, "--seed", 5)
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "black.mp4.truth.json").read_text())
    assert doc["truth"] == {
        "type": "black_frames",
        "start_s": 1.52,  # the first frame at or after 1.5 s (25 fps)
        "end_s": 2.32,
        "params": {"defect": "black", "severity": 1.0, "gain": 0.0},
    }
    assert (doc["seed"], doc["severity"], doc["defect"], doc["source"]) == (5, 1.0, "black", str(source))
    assert doc["tool"]["name"] == "vqa-harness" and doc["tool"]["version"]
    with av.open(str(out)) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        assert (v.codec_context.name, v.width, v.height, v.format.name) == ("h264", 640, 360, "yuv420p")
        assert (a.codec_context.name, a.rate, a.channels) == ("aac", 48000, 2)
        assert sum(1 for _ in c.decode(video=0)) == 100
    r = vqa("analyze", out, "--json", "-")
    assert r.returncode == 1, r.stderr
    events = json.loads(r.stdout)["events"]
    assert [e["type"] for e in events] == ["black_frames"]
    assert events[0]["start_s"] == pytest.approx(1.52, abs=0.041)
    assert events[0]["end_s"] == pytest.approx(2.32, abs=0.041)


def test_impair_audio_dropout_then_analyze_finds_it(source, tmp_path):
    out = tmp_path / "drop.mp4"
    r = vqa("impair", source, out, "--defect", "audio_dropout", "--at", 2.0, "--duration", 0.5, "--severity", 1)
    assert r.returncode == 0, r.stderr
    t = json.loads((tmp_path / "drop.mp4.truth.json").read_text())["truth"]
    events = json.loads(vqa("analyze", out, "--json", "-").stdout)["events"]
    assert [e["type"] for e in events] == ["audio_dropout"]
    assert events[0]["start_s"] == pytest.approx(t["start_s"], abs=0.03)
    assert events[0]["end_s"] == pytest.approx(t["end_s"], abs=0.03)


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--defect", "sparkles", "--at", 1, "--duration", 1, "--severity", 1], "known: black, freeze"),
        (["--defect", "black", "--at", 1, "--duration", 1, "--severity", 1.5], "severity"),
        (["--defect", "black", "--at", 3.5, "--duration", 2, "--severity", 1], "outside"),
        (["--defect", "hum", "--at", 1, "--duration", 1, "--severity", 1, "--param", "volume=3"], "mains_hz"),
    ],
)
def test_bad_input_is_one_line_exit_2(source, tmp_path, args, needle):
    r = vqa("impair", source, tmp_path / "x.mp4", *args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], r.stderr
    if "sparkles" in args:
        assert all(name in lines[0] for name in IMPAIRMENTS)
    assert not (tmp_path / "x.mp4").exists()


def test_missing_input_is_one_line(tmp_path):
    r = vqa(
        "impair",
        tmp_path / "nope.mp4",
        tmp_path / "x.mp4",
        "--defect",
        "black",
        "--at",
        0,
        "--duration",
        1,
        "--severity",
        1,
    )
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "nope.mp4" in r.stderr


def test_impair_file_av_offset_survives_aac(source, tmp_path):
    """The offset written into the file is the one in the truth, to the millisecond, and only in the window."""
    import numpy as np
    from scipy import signal

    from harness.impairments import impair_file
    from harness.impairments.files import _read

    out = tmp_path / "late.mp4"
    t = impair_file(source, out, "av_offset", 1.0, 2.5, severity=0.5)
    a, b = _read(source)[2], _read(out)[2]
    assert a is not None and b is not None and len(a.samples) == len(b.samples)

    def lag_ms(centre_s: float) -> float:
        pad, half, c = 9600, 12000, int(centre_s * 48000)
        ref, y = a.samples[c - half - pad : c + half + pad].mean(1), b.samples[c - half : c + half].mean(1)
        return (pad - int(np.argmax(signal.correlate(ref, y, mode="valid")))) / 48.0

    assert t.params["offset_ms"] == pytest.approx(125.0)
    assert lag_ms(2.0) == pytest.approx(125.0, abs=1.0) and lag_ms(3.0) == pytest.approx(125.0, abs=1.0)
    assert lag_ms(0.5) == pytest.approx(0.0, abs=1.0) and lag_ms(3.75) == pytest.approx(0.0, abs=1.0)
