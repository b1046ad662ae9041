"""Thirty seconds of steady playback show no defect at all."""

from __future__ import annotations

import pytest

STEADY_SECS = 30.0


def test_steady_playback_is_clean(scenario, device, title):
    scenario.start_playing(timeout_s=15)
    with scenario.record("steady") as rec:
        rec.wait(STEADY_SECS)
    result = scenario.analyze(scenario.capture)
    outcome = scenario.judge(scenario.capture, result)
    if not outcome.verdict.passed:
        pytest.fail(outcome.verdict.summary(), pytrace=False)
