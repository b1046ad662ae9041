"""`vqa calibrate` measures a rig's own A/V offset on a known-good path, stores it, and analysis
subtracts it from then on (the simulated device is calibrated the same way, not special-cased)."""

from __future__ import annotations

import json

import pytest
import yaml
from test_cli import vqa

CAL_DEVICE = """
devices:
  - name: sim-cal
    kind: tv
    control: sim://sim-cal
    rig: {video: "sim://", audio: "sim://"}
    simulator:
      startup_delay_s: 0.3
      # stands in for a capture chain whose sound path is 70 ms slower than its picture path
      faults: [{type: av_offset, offset_ms: 70}]
"""


def test_calibration_is_measured_stored_and_subtracted(tmp_path):
    inv = tmp_path / "lab.yaml"
    inv.write_text(CAL_DEVICE)
    r = vqa("calibrate", "--device", "sim-cal", "--inventory", inv, "--title", "bbb-720p25", "--seconds", "12")
    assert r.returncode == 0, r.stderr
    assert "+70." in r.stdout or "+69." in r.stdout
    store = yaml.safe_load((tmp_path / "lab.calibration.yaml").read_text())
    assert store["sim-cal"]["av_offset_ms"] == pytest.approx(70.0, abs=2.0)
    assert store["sim-cal"]["events"] >= 3
    # a later capture on the same rig is analysed with the stored calibration subtracted
    out = tmp_path / "after"
    r = vqa(
        "capture", "--device", "sim-cal", "--inventory", inv, "--title", "bbb-720p25", "--seconds", "8", "--out", out
    )
    assert r.returncode == 0, r.stderr
    meta = json.loads((out / "meta.json").read_text())
    assert meta["calibration"]["av_offset_ms"] == pytest.approx(70.0, abs=2.0)
    r = vqa("analyze", out, "--json", "-")
    doc = json.loads(r.stdout)
    assert doc["measurements"]["av_offset_ms"] == pytest.approx(0.0, abs=2.0)
    assert doc["reference"]["calibration_av_offset_ms"] == pytest.approx(70.0, abs=2.0)
