"""Trick play: pause then resume, seek forward and back (seek accuracy and time from frame codes)."""

from __future__ import annotations

import pytest

from harness.suite.scenario import seek_result
from harness.suite.verdict import Window

# Time a player may take to settle after a trick-play key (rebuffering, muted audio); events that
# fall entirely inside it are expected, events that outlast it are defects.
SETTLE_S = 1.0
POSITION_TOLERANCE_S = 1.0


def _play(scenario):
    scenario.start_playing(timeout_s=15)


def _fail(msg: str) -> None:
    pytest.fail(msg, pytrace=False)


@pytest.mark.requires_features("pause")
def test_pause_then_resume(scenario, device, title):
    _play(scenario)
    with scenario.record("pause") as rec:
        rec.wait(3.0)
        scenario.press("pause", settle_s=0.2)
        paused_at = device.status().position_s
        rec.wait(2.0)
        held = device.status().position_s
        scenario.press("play")
        rec.wait(3.0)
        after = device.status().position_s
    cap = scenario.capture
    keys = {m["key"]: m["at_capture_s"] for m in cap.markers("key")}
    window = Window(keys["pause"], keys["play"] + SETTLE_S, "paused on purpose", ("frozen_video", "audio_dropout"))
    result = scenario.analyze(cap, [window])
    outcome = scenario.judge(cap, result, [window])
    problems = list(outcome.verdict.failures)
    if not any(e.type == "frozen_video" for e, _ in outcome.verdict.excused):
        problems.append(
            f"the picture did not hold still between pause ({keys['pause']:.2f} s) "
            f"and play ({keys['play']:.2f} s): the device did not pause"
        )
    if abs(held - paused_at) > 0.1:
        problems.append(f"position moved while paused: {paused_at:.2f} s -> {held:.2f} s")
    if not (after - held) > 3.0 - POSITION_TOLERANCE_S:
        problems.append(f"playback did not resume: position {held:.2f} s -> {after:.2f} s in 3 s")
    if problems:
        _fail("; ".join(problems))


@pytest.mark.requires_features("seek")
def test_seek_forward_and_back(scenario, device, device_spec, title):
    step = device_spec.simulator.seek_step_s if device_spec.simulator else 10.0
    _play(scenario)
    requested: list[float] = []
    with scenario.record("seek") as rec:
        rec.wait(2.0)
        requested.append(device.status().position_s + step)
        scenario.press("fast_forward", settle_s=SETTLE_S)
        rec.wait(2.0)
        requested.append(max(0.0, device.status().position_s - step))
        scenario.press("rewind", settle_s=SETTLE_S)
        rec.wait(2.0)
    cap = scenario.capture
    presses = [m["at_capture_s"] for m in cap.markers("key")]
    windows = [Window(p, p + SETTLE_S, "seek settling") for p in presses]
    result = scenario.analyze(cap, windows)
    measured: dict[str, float] = {}
    problems: list[str] = []
    for name, press, want in zip(("forward", "back"), presses, requested, strict=True):
        got = seek_result(result, press, want, title.fps)
        if got is None:
            problems.append(f"seek {name}: no new picture after the key press at {press:.2f} s")
            continue
        err, took = got
        measured["seek_error_s"] = max(measured.get("seek_error_s", 0.0), err)
        measured["seek_time_s"] = max(measured.get("seek_time_s", 0.0), took)
    outcome = scenario.judge(cap, result, windows, measured)
    problems = list(outcome.verdict.failures) + problems
    if problems:
        _fail("; ".join(problems))
