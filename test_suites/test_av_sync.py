"""Audio/video synchronisation, measured on the title's flash/chirp sync marks and frame codes.

Sign convention: positive offset = sound late. Limits (ITU-R BT.1359 detectability): -45 ms
(sound early) to +125 ms (sound late), for the mean and for every single event.
"""

from __future__ import annotations

import pytest

SYNC_SECS = 20.0
MIN_EVENTS = 4


def test_audio_in_sync_with_video(scenario, device, title):
    scenario.start_playing(timeout_s=15)
    with scenario.record("avsync") as rec:
        rec.wait(SYNC_SECS)
    result = scenario.analyze(scenario.capture)
    outcome = scenario.judge(scenario.capture, result)
    problems = list(outcome.verdict.failures)
    matched = int(result.measurements.get("sync_events_matched", 0))
    if matched < MIN_EVENTS:
        problems.append(
            f"only {matched} sync events matched in {SYNC_SECS:g} s (need {MIN_EVENTS}): "
            "the sync chirps or the frame codes were not found"
        )
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)
