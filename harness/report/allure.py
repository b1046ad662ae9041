"""Allure files: a scenario's evidence attached to the running Allure test, and the run's
environment, executor and categories files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.analysis import AnalysisResult
    from harness.capture.rig import Capture


def attach_outcome(cap: Capture, result: AnalysisResult, summary: list[str], device: str, title: str | None) -> None:
    """Attach the analysis JSON, the verdict summary lines (written by the suite), the timeline,
    a key frame per event and a browser-playable clip of the recording."""
    import allure

    from harness.report.evidence import browser_mp4, cadence_frames, event_frames, timeline_png

    evidence = cap.path / "evidence"
    evidence.mkdir(exist_ok=True)
    allure.attach(
        json.dumps(json.loads((cap.path / "analysis.json").read_text()), indent=2),
        name="events.json",
        attachment_type=allure.attachment_type.JSON,
    )
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
        what = f"{e.type} heatmap" if "heatmap" in e.details else e.type
        allure.attach.file(str(p), name=f"{what} @ {e.start_s:.2f} s", attachment_type=allure.attachment_type.PNG)
    ref = result.reference
    if ref is not None:
        places = [
            (f"title frames {a}-{b} dropped" if a != b else f"title frame {a} dropped", t0, t1)
            for a, b, t0, t1 in ref.dropped_at
        ]
        places += [(f"title frame {c} shown {x} extra time(s)", t0, t1) for c, x, t0, t1 in ref.repeated_at]
        for label, p in cadence_frames(cap.path, places, evidence):
            allure.attach.file(str(p), name=label, attachment_type=allure.attachment_type.JPG)
    mp4 = browser_mp4(cap.path, evidence / "recording.mp4")
    allure.attach.file(str(mp4), name="recording (H.264)", attachment_type=allure.attachment_type.MP4)


CATEGORIES = [
    {"name": f"Defect: {t}", "messageRegex": f".*{t}.*", "matchedStatuses": ["failed"]}
    for t in (
        "black_frames",
        "frozen_video",
        "audio_dropout",
        "startup_time_s",
        "av_offset_ms",
        "frames_dropped",
        "frames_repeated",
        "frames_out_of_order",
        "seek_error_s",
        "seek_time_s",
        "caption_missing",
        "caption_timing",
        "caption_text",
    )
] + [
    {"name": "Harness or device error", "matchedStatuses": ["broken"]},
]


def write_run_files(alluredir: Path, environment: dict[str, Any], executor: dict[str, Any]) -> None:
    alluredir.mkdir(parents=True, exist_ok=True)
    lines = [f"{k.replace(' ', '_')}={str(v).replace(chr(10), ' ')}" for k, v in environment.items()]
    (alluredir / "environment.properties").write_text("\n".join(lines) + "\n")
    (alluredir / "executor.json").write_text(json.dumps(executor, indent=2))
    (alluredir / "categories.json").write_text(json.dumps(CATEGORIES, indent=2))
