"""Captions: with captions on, every cue of the title is shown, on time, with the right words.

Read off the captured picture (the caption reader and OCR, harness/detectors/captions.py) and
measured against the title's cue file (reference_content/captions/<title>.vtt) on the frame codes.
Limits (harness/measure/captions.py): within 3 frames at the start and the end, character error
rate at most 0.05, no cue missing. Devices tagged `captions` start with captions off; the
`captions` key turns them on.
"""

from __future__ import annotations

import pytest

from harness.reference.captions import cue_path, title_cues

CAPTION_SECS = 30.0


@pytest.mark.requires_features("captions")
def test_every_caption_on_time_with_the_right_words(scenario, device, title):
    if title_cues(title.id) is None:
        pytest.fail(f"{title.id} has no cue file: add {cue_path(title.id)}", pytrace=False)
    device.set_captions(True)
    try:
        scenario.start_playing(timeout_s=15)
        with scenario.record("captions", captions=True) as rec:
            rec.wait(CAPTION_SECS)
    finally:
        device.set_captions(False)  # the other scenarios see the picture without them
    result = scenario.analyze(scenario.capture)
    outcome = scenario.judge(scenario.capture, result)
    problems = list(outcome.verdict.failures)
    checked = (result.captions or {}).get("cues") or []
    if len(checked) < 4:
        problems.append(
            f"only {len(checked)} cues were inside the {CAPTION_SECS:g} s recording (need 4): "
            "the frame codes were not read, or the title has too few cues"
        )
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)
