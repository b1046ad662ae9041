"""Playback starts within the start-up budget, and the first seconds are clean."""

from __future__ import annotations

import pytest

from harness.suite.scenario import startup_time
from harness.suite.verdict import Window


def test_playback_starts_within_budget(scenario, device, title, vqa_policy):
    budget = vqa_policy.limits["startup_time_s"].max
    device.press("home")
    with scenario.record("startup") as rec:
        rec.wait(1.0)
        device.launch(title.id)
        rec.wait(budget + 3.0)
    capture = scenario.capture
    press_s = capture.markers("key")[-1]["at_capture_s"]
    # cadence is judged once the title is up; the launcher and loading screen come first
    result = scenario.analyze(capture, [Window(0.0, press_s + budget + 3.0, "before the title starts")])
    started = startup_time(result, press_s)
    if started is None:
        pytest.fail(
            f"{title.id} did not start: no title picture within {capture.duration_s - press_s:.1f} s "
            f"of the launch key press at {press_s:.2f} s",
            pytrace=False,
        )
    windows = [Window(0.0, press_s + started, "launcher and loading screen before the title starts")]
    outcome = scenario.judge(capture, result, windows, {"startup_time_s": started})
    if not outcome.verdict.passed:
        pytest.fail(outcome.verdict.summary(), pytrace=False)
