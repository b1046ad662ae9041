"""Trick play: pause then resume, seek forward and back."""

from __future__ import annotations

import time

import pytest

from harness.verdict import Window

# Time a player may take to settle after a trick-play key (rebuffering, muted audio); events that
# fall entirely inside it are expected, events that outlast it are defects.
SETTLE_S = 1.0
POSITION_TOLERANCE_S = 1.0


def _play(device, title):
    device.launch(title.id)
    device.wait_for_state("playing", timeout_s=15)
    time.sleep(0.3)


def _fail(msg: str) -> None:
    pytest.fail(msg, pytrace=False)


@pytest.mark.requires_features("pause")
def test_pause_then_resume(scenario, device, title):
    _play(device, title)
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
    result = scenario.analyze(cap)
    window = Window(keys["pause"], keys["play"] + SETTLE_S, "paused on purpose", ("frozen_video", "audio_dropout"))
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
    _play(device, title)
    with scenario.record("seek") as rec:
        rec.wait(2.0)
        before_ff = device.status().position_s
        scenario.press("fast_forward", settle_s=SETTLE_S)
        after_ff = device.status().position_s
        rec.wait(2.0)
        before_rw = device.status().position_s
        scenario.press("rewind", settle_s=SETTLE_S)
        after_rw = device.status().position_s
        rec.wait(2.0)
    cap = scenario.capture
    result = scenario.analyze(cap)
    windows = [
        Window(m["at_capture_s"], m["at_capture_s"] + SETTLE_S, f"seek ({m['key']}) settling")
        for m in cap.markers("key")
    ]
    outcome = scenario.judge(cap, result, windows)
    problems = list(outcome.verdict.failures)
    # Over SETTLE_S the player also plays on for up to SETTLE_S minus its rebuffering time.
    for name, a, b, want in (("forward", before_ff, after_ff, step), ("back", before_rw, after_rw, -step)):
        jump = b - a
        if not (want - POSITION_TOLERANCE_S <= jump <= want + SETTLE_S + POSITION_TOLERANCE_S):
            problems.append(f"seek {name}: position {a:.2f} s -> {b:.2f} s, expected a jump of {want:+.0f} s")
    if problems:
        _fail("; ".join(problems))
