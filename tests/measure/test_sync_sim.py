"""Frame-accurate measurements on the simulated device, through the real rig interface.

Captures of a frame-coded title with faults injected by the simulator: the measured A/V offset,
drift, dropped and repeated frames must match what was injected.
"""

from __future__ import annotations

import time

import pytest

from devices import open_device
from harness.analysis import analyze
from harness.config import DeviceSpec, FaultSpec, RigSpec, SimulatorSpec
from harness.reference.titles import ensure_titles

TITLE = "bbb-720p25"


@pytest.fixture(scope="module")
def titles():
    return ensure_titles()


def capture(titles, tmp_path, faults, seconds, name="cap"):
    spec = DeviceSpec(
        name="sim-sync",
        kind="tv",
        control="sim://sim-sync",
        rig=RigSpec(video="sim://", audio="sim://"),
        simulator=SimulatorSpec(startup_delay_s=0.2, faults=faults),
    )
    d = open_device(spec)
    d._titles = titles
    d.open()
    try:
        d.launch(TITLE)
        d.wait_for_state("playing", 5)
        time.sleep(0.2)
        cap = d.rig.record(tmp_path / name, seconds, {"device": d.name, "title": TITLE})
    finally:
        d.close()
    return analyze(cap.path)


@pytest.mark.parametrize("offset_ms", [-500.0, -180.0, 0.0, 95.0, 500.0])
def test_injected_av_offset_is_measured_within_2_ms(titles, tmp_path, offset_ms):
    faults = [FaultSpec(type="av_offset", offset_ms=offset_ms)] if offset_ms else []
    res = capture(titles, tmp_path, faults, 9.0)
    m = res.measurements
    assert m["sync_events_matched"] >= 2
    assert m["av_offset_ms"] == pytest.approx(offset_ms, abs=2.0)
    assert m["av_offset_spread_ms"] < 2.0


def test_drift_of_10_ms_per_minute_is_measured_within_1(titles, tmp_path):
    res = capture(titles, tmp_path, [FaultSpec(type="av_offset", offset_ms=20.0, drift_ms_per_min=10.0)], 30.0)
    assert res.measurements["av_drift_ms_per_min"] == pytest.approx(10.0, abs=1.0)


def test_five_dropped_and_three_repeated_frames_exactly(titles, tmp_path):
    faults = [FaultSpec(type="drop_frames", at_s=3.0, count=5), FaultSpec(type="repeat_frames", at_s=6.0, count=3)]
    res = capture(titles, tmp_path, faults, 8.0)
    ref = res.reference
    assert ref is not None
    assert ref.dropped == [75, 76, 77, 78, 79]  # title frames 3.0 s .. 3.16 s at 25 fps never shown
    # after the drop the picture runs 5 frames ahead of the title clock: at 6.0 s it shows frame 155
    assert ref.repeated == [155, 155, 155]
    assert res.measurements["frames_dropped"] == 5 and res.measurements["frames_repeated"] == 3
    assert res.measurements["frames_undecodable"] == 0


def test_clean_capture_has_no_cadence_defect(titles, tmp_path):
    res = capture(titles, tmp_path, [], 8.0)
    m = res.measurements
    assert m["frames_dropped"] == 0 and m["frames_repeated"] == 0 and m["frames_out_of_order"] == 0
    assert m["frames_undecodable"] == 0
