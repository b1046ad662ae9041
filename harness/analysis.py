"""One decode pass over a capture or media file feeds every detector; the result follows the JSON contract."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.detectors import DEFAULT_DETECTORS, REGISTRY, Detector, create
from harness.events import Event
from harness.measure.tracker import ReferenceReport, ReferenceTracker
from harness.media import Frame, MediaInfo, MediaReader
from harness.reference.titles import load_manifest


@dataclass
class AnalysisResult:
    media: MediaInfo
    detectors: list[Detector]
    events: list[Event]
    measurements: dict[str, float] = field(default_factory=dict)
    verdict: str = "pass"
    reasons: list[str] = field(default_factory=list)
    reference: ReferenceReport | None = None
    reference_id: str | None = None

    def signals(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for d in self.detectors:
            out.update(d.signals())
        return out

    def detector(self, name: str) -> Detector:
        for d in self.detectors:
            if d.name == name:
                return d
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "media": self.media.to_dict(),
            "detectors": [x.describe() for x in self.detectors],
            "events": [e.to_dict() for e in self.events],
            "measurements": {k: round(v, 4) for k, v in self.measurements.items()},
            "verdict": self.verdict,
        }
        if self.reasons:
            d["reasons"] = self.reasons
        if self.reference is not None:
            d["reference"] = {"title": self.reference_id, **self.reference.to_dict()}
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def _params(name: str, given: dict[str, Any] | None, identity: bool) -> dict[str, Any] | None:
    """A detector's parameters; one that reads channel identity marks is told when the title has them."""
    cls = REGISTRY.get(name)
    if identity and cls is not None and "channel_identity" in cls.Params.model_fields:
        return {"channel_identity": "reference", **(given or {})}
    return given


def analyze(
    path: str | Path,
    detectors: Iterable[str] | None = None,
    params: dict[str, dict[str, Any]] | None = None,
    progress: Callable[[float, float], None] | None = None,
    reference: str | None = None,
    ignore: Sequence[tuple[float, float]] = (),
) -> AnalysisResult:
    """Run detectors over `path` (media file or capture bundle). Raises MediaError on bad input.

    The verdict here is the plain one (`fail` when any event was found); scenario policies in
    `harness.suite.verdict` decide what counts in a suite.
    """
    reader = MediaReader(path)
    tracker = None
    identity = False
    if reference is None and reader.meta is not None:
        reference = reader.meta.get("title")
    if reference:
        man = load_manifest(reference)
        cal = float(((reader.meta or {}).get("calibration") or {}).get("av_offset_ms", 0.0))
        tracker = ReferenceTracker(man["fps"], [e["frame"] for e in man["sync"]["events"]], cal, ignore)
        identity = "identity" in man["sync"]
    names = list(DEFAULT_DETECTORS if detectors is None else detectors)
    dets = [create(n, _params(n, (params or {}).get(n), identity)) for n in names]
    video = [d for d in dets if d.consumes == "video"]
    audio = [d for d in dets if d.consumes == "audio"]
    total = reader.info.duration_s or 0.0
    last_report = -1.0
    fast = tracker is not None and not video  # only frame codes look at the pictures
    for item in reader.read(
        video=bool(video) or tracker is not None, audio=bool(audio) or tracker is not None, fast=fast
    ):
        if isinstance(item, Frame):
            for d in video:
                d.feed_video(item)
            if tracker is not None:
                tracker.feed_video(item)
            t = item.pts_s
        else:
            for d in audio:
                d.feed_audio(item)
            if tracker is not None:
                tracker.feed_audio(item)
            t = item.start_s
        if progress is not None and t - last_report >= 0.5:
            progress(t, total)
            last_report = t
    events = sorted((e for d in dets for e in d.finish()), key=lambda e: (e.start_s, e.type))
    if progress is not None:
        progress(total, total)
    result = AnalysisResult(reader.info, dets, events, verdict="fail" if events else "pass")
    if tracker is not None:
        result.reference = tracker.finish()
        result.reference_id = str(reference)
        result.measurements.update(result.reference.measurements())
    return result
