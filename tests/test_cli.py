"""`vqa` as a user runs it: exit codes, one-line errors, the JSON contract."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest


def vqa(*args, cwd=None):
    exe = shutil.which("vqa")
    cmd = [exe] if exe else [sys.executable, "-m", "harness.cli"]
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_black_inserted_reports_one_event_and_exits_1(clips):
    r = vqa("analyze", clips["black"], "--json", "-")
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert [e["type"] for e in doc["events"]] == ["black_frames"]
    ev = doc["events"][0]
    assert ev["start_s"] == pytest.approx(2.0, abs=0.041)
    assert ev["end_s"] == pytest.approx(3.0, abs=0.041)
    assert doc["verdict"] == "fail"


def test_clean_clip_exits_0(clips):
    r = vqa("analyze", clips["clean"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "verdict: pass" in r.stdout


def test_json_contract(clips, tmp_path):
    out = tmp_path / "r.json"
    r = vqa("analyze", clips["black"], "--json", out)
    assert r.returncode == 1
    doc = json.loads(out.read_text())
    assert set(doc) >= {"media", "detectors", "events", "measurements", "verdict"}
    m = doc["media"]
    assert m["path"].endswith("black.mp4")
    assert m["duration_s"] == pytest.approx(6.0, abs=0.1)
    assert m["video"] == {"width": 640, "height": 360, "fps": 25.0, "frames": 150, "codec": "h264"}
    assert m["audio"]["samplerate"] == 48000 and m["audio"]["channels"] == 2
    assert [d["name"] for d in doc["detectors"]] == ["black_frames", "frozen_video", "audio_dropout", "solid_color"]
    assert all({"name", "version", "params"} <= set(d) for d in doc["detectors"])
    ev = doc["events"][0]
    assert set(ev) == {"type", "start_s", "end_s", "confidence", "detector", "details"}
    assert 0 < ev["confidence"] <= 1 and ev["detector"] == "black_frames"
    assert isinstance(doc["measurements"], dict)


def test_text_file_exits_2_with_one_line(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("this is not a video\n" * 20)
    r = vqa("analyze", f)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "notes.txt" in lines[0] and "Traceback" not in r.stderr


def test_missing_file_exits_2(tmp_path):
    r = vqa("analyze", tmp_path / "nope.mp4")
    assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr


def test_truncated_file_warns_without_traceback(clips, tmp_path):
    data = clips["black"].read_bytes()
    # an MP4 cut short loses its index (exit 2); a Matroska file cut short still plays to the cut
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 3])
    r = vqa("analyze", tmp_path / "cut.mp4")
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    mkv = tmp_path / "full.mkv"
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"import av\ni=av.open({str(clips['black'])!r});o=av.open({str(mkv)!r},'w')\n"
            "s={x.index:o.add_stream_from_template(x) for x in i.streams}\n"
            "for p in i.demux():\n  if p.dts is None: continue\n  p.stream=s[p.stream.index]; o.mux(p)\no.close()",
        ],
        check=True,
    )
    raw = mkv.read_bytes()
    (tmp_path / "cut.mkv").write_bytes(raw[: int(len(raw) * 0.6)])
    r = vqa("analyze", tmp_path / "cut.mkv")
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr
    assert "truncated" in r.stderr


def test_unknown_detector_exits_2(clips):
    r = vqa("analyze", clips["clean"], "--detectors", "black_frames,bogus")
    assert r.returncode == 2 and "bogus" in r.stderr


def test_devices_lists_inventory():
    r = vqa("devices")
    assert r.returncode == 0
    names = [line.split()[0] for line in r.stdout.splitlines()]
    assert names == ["sim-tv01", "sim-tv02", "sim-tv03", "sim-tv04", "sim-tv05", "sim-tv06", "sim-tv07"]


def test_devices_bad_inventory_is_one_line(tmp_path):
    bad = tmp_path / "lab.yaml"
    bad.write_text("devices:\n  - name: tv1\n    kind: fridge\n    control: sim://x\n    rig: {video: sim://}\n")
    r = vqa("devices", "--inventory", bad)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1
    assert "devices.0.kind" in r.stderr and str(bad) in r.stderr
