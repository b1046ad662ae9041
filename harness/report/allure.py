"""Attach a scenario's evidence to the running Allure test (no-op when allure-pytest is not active)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.scenario import Outcome


def attach_outcome(outcome: Outcome, device: str, title: str | None) -> None:
    import allure

    from harness.reporting import browser_mp4, event_frames, timeline_png

    cap, result, verdict = outcome.capture, outcome.result, outcome.verdict
    evidence = cap.path / "evidence"
    evidence.mkdir(exist_ok=True)
    allure.attach(
        json.dumps(json.loads((cap.path / "analysis.json").read_text()), indent=2),
        name="events.json",
        attachment_type=allure.attachment_type.JSON,
    )
    summary = [f"verdict: {'pass' if verdict.passed else 'fail'}"] + [f"FAIL {f}" for f in verdict.failures]
    summary += [f"excused {e.describe()}: {r}" for e, r in verdict.excused]
    summary += [f"{k} = {v:.3f}" for k, v in outcome.measurements.items()]
    allure.attach("\n".join(summary), name="verdict", attachment_type=allure.attachment_type.TEXT)
    tl = timeline_png(
        result.signals(),
        result.events,
        cap.markers(),
        evidence / "timeline.png",
        f"{device} / {title or '-'} / {cap.meta.get('scenario', '')}",
    )
    allure.attach.file(str(tl), name="timeline", attachment_type=allure.attachment_type.PNG)
    for e, p in event_frames(cap.path, result.events, evidence):
        allure.attach.file(str(p), name=f"{e.type} @ {e.start_s:.2f} s", attachment_type=allure.attachment_type.PNG)
    mp4 = browser_mp4(cap.path, evidence / "recording.mp4")
    allure.attach.file(str(mp4), name="recording (H.264)", attachment_type=allure.attachment_type.MP4)
