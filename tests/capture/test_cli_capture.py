"""`vqa doctor` and `vqa capture` on the simulated devices."""

from __future__ import annotations

import json

from test_cli import vqa

NOCARD = """
devices:
  - name: tv-nocard
    kind: tv
    control: sim://tv-nocard
    rig: {video: "v4l2:///dev/video77", audio: "pulse:vqa_nocard.monitor"}
    simulator:
      stream: {video_url: "udp://127.0.0.1:23111", audio_sink: vqa_nocard}
"""


def test_doctor_passes_every_check_on_the_clean_simulator():
    r = vqa("doctor", "--device", "sim-tv01")
    assert r.returncode == 0, r.stdout + r.stderr
    parts = [line.split()[1] for line in r.stdout.splitlines() if line.startswith("PASS")]
    assert parts == ["control", "video", "signal", "audio"]
    assert "FAIL" not in r.stdout


def test_doctor_fails_with_one_clear_line_when_the_video_source_is_missing(tmp_path, pulse_server):
    inv = tmp_path / "lab.yaml"
    inv.write_text(NOCARD)
    r = vqa("doctor", "--device", "tv-nocard", "--inventory", inv)
    assert r.returncode == 1
    fails = [line for line in r.stdout.splitlines() if line.startswith("FAIL")]
    assert len(fails) == 1
    assert "tv-nocard: video capture: /dev/video77 does not exist" in fails[0]
    assert "PASS control" in r.stdout


def test_doctor_unknown_device_is_usage_error():
    r = vqa("doctor", "--device", "nope")
    assert r.returncode == 2 and "known devices: sim-tv01" in r.stderr


def test_capture_writes_a_bundle(tmp_path):
    out = tmp_path / "bundle"
    r = vqa("capture", "--device", "sim-tv01", "--seconds", "2", "--title", "bikes-720p25", "--out", out)
    assert r.returncode == 0, r.stderr
    meta = json.loads((out / "meta.json").read_text())
    assert meta["complete"] and meta["device"] == "sim-tv01" and meta["title"] == "bikes-720p25"
    assert 45 <= meta["frames"] <= 55
    assert vqa("analyze", out).returncode == 0
