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
from harness.measure import captions as capm
from harness.measure.tracker import ReferenceReport, ReferenceTracker
from harness.media import Frame, MediaError, MediaInfo, MediaReader
from harness.reference.captions import CaptionError, cue_path, title_cues
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
    captions: dict[str, Any] | None = None  # what the caption reader saw, and each cue's result

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
        if self.captions is not None:
            d["captions"] = self.captions
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
    captions: str | Path | None = None,
) -> AnalysisResult:
    """Run detectors over `path` (media file or capture bundle). Raises MediaError on bad input.

    The verdict here is the plain one (`fail` when any event was found); scenario policies in
    `harness.suite.verdict` decide what counts in a suite.

    `captions`: a WebVTT file to check the captions against, or "reference" for the reference
    title's own cue file, "off" for no check; None checks them when the capture's meta.json says
    captions were on.
    Running the `captions` detector without cues reports what captions showed, and no events.
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
    cues, cue_source = _cues(captions, reader, reference)
    if cues is not None and "captions" not in names:
        names.append("captions")
    if reference and "captions" in names:
        params = {**(params or {}), "captions": {"skip_framecode": True, **(params or {}).get("captions", {})}}
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
    if "captions" in names:
        _check_captions(result, cues, cue_source, tracker.fps if tracker is not None else None)
    return result


def _cues(
    captions: str | Path | None, reader: MediaReader, reference: str | None
) -> tuple[list[capm.Cue] | None, str | None]:
    """The cues to check captions against, and where they came from (None: no check)."""
    want = captions
    if want is None and (reader.meta or {}).get("captions") is True:
        want = "reference"
    if want is None or str(want) == "off":
        return None, None
    if str(want) == "reference":
        if not reference:
            raise MediaError(f"{reader.path}: --captions reference needs a reference title (--reference TITLE)")
        try:
            cues = title_cues(reference)
        except CaptionError as e:
            raise MediaError(str(e)) from None
        if cues is None:
            raise MediaError(f"reference title {reference} has no cue file ({cue_path(reference)})")
        return cues, str(cue_path(reference))
    try:
        return capm.load_vtt(want), str(want)
    except capm.CueError as e:
        raise MediaError(str(e)) from None


def _check_captions(
    result: AnalysisResult, cues: list[capm.Cue] | None, source: str | None, title_fps: float | None
) -> None:
    reader = result.detector("captions")
    shown: list[capm.Shown] = reader.shown  # type: ignore[attr-defined]
    if title_fps is not None and result.reference is not None:
        codes, times = result.reference.codes, result.reference.times
        fps = title_fps
        decoded = [c for c in codes if c is not None]
        lo, hi = (min(decoded), max(decoded)) if decoded else (0, 0)
    else:  # the file's own timeline is the cues' timeline
        fps = float((result.media.video or {}).get("fps") or 25.0)
        times = sorted({t for s in shown for t in (s.start_s, s.end_s)})
        codes = [int(round(t * fps)) for t in times]
        lo, hi = 0, int(result.media.duration_s * fps)
    capm.title_frames(shown, codes, times)
    out: dict[str, Any] = {"shown": [s.to_dict() for s in shown], "ocr_calls": reader.ocr_calls}  # type: ignore[attr-defined]
    if cues is not None:
        # only cues the recording covers whole (with room to be late or early) are judged
        slack = capm.CaptionPolicy().timing_frames + 1
        judged = [c for c in cues if c.frames(fps)[0] - slack >= lo and c.frames(fps)[1] + slack <= hi]
        results, extra = capm.compare(judged, shown, fps)
        events = capm.caption_events(results, codes, times, fps)
        result.events = sorted([*result.events, *events], key=lambda e: (e.start_s, e.type))
        if events:
            result.verdict = "fail"
        out.update(
            {
                "cues_from": source,
                "fps": fps,
                "title_frames_recorded": [lo, hi],
                "cues_outside_recording": [c.index for c in cues if c not in judged],
                "cues": [r.to_dict(fps) for r in results],
                "unmatched": [s.to_dict() for s in extra],
            }
        )
        result.measurements.update(_caption_measurements(results, fps))
    result.captions = out


def _caption_measurements(results: list[capm.CueResult], fps: float) -> dict[str, float]:
    shown = [r for r in results if r.shown is not None]
    starts = [abs(r.start_error_frames or 0) for r in shown]
    ends = [abs(r.end_error_frames or 0) for r in shown]
    cers = [r.cer or 0.0 for r in shown]
    return {
        "captions_cues": float(len(results)),
        "captions_missing": float(len(results) - len(shown)),
        "captions_start_error_max_ms": max(starts, default=0) / fps * 1000,
        "captions_end_error_max_ms": max(ends, default=0) / fps * 1000,
        "captions_cer_max": max(cers, default=0.0),
    }
