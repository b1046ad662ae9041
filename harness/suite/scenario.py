"""A playback scenario in a suite: record the device, analyse, judge, attach the evidence."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from devices.base import Device
from harness.analysis import AnalysisResult, analyze
from harness.capture.rig import Capture, Recording, RigLossError, describe_losses
from harness.reference.titles import Title
from harness.suite.verdict import Policy, Verdict, Window, evaluate


@dataclass
class Outcome:
    capture: Capture
    result: AnalysisResult
    verdict: Verdict
    measurements: dict[str, float] = field(default_factory=dict)


def safe_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("::", 1)[-1]).strip("_")[:120]


class Scenario:
    """Helper handed to each suite test through the `scenario` fixture."""

    def __init__(
        self,
        device: Device,
        title: Title | None,
        bundle_root: Path,
        policy: Policy,
        attach: bool = True,
        detectors: Sequence[str] | None = None,
    ):
        self.device = device
        self.detectors = list(detectors) if detectors is not None else None
        self.title = title
        self.bundle_root = bundle_root
        self.policy = policy
        self.attach = attach
        self._n = 0
        self.recording: Recording | None = None

    @contextmanager
    def record(self, label: str = "capture", captions: bool = False) -> Iterator[Recording]:
        """Record the device while the block runs; key presses and player status become markers.
        `captions`: captions are on, so the analysis checks them against the title's cues."""
        self._n += 1
        bundle = self.bundle_root / (label if self._n == 1 else f"{label}{self._n}")
        meta: dict[str, Any] = {
            "device": self.device.name,
            "device_kind": self.device.spec.kind,
            "control": self.device.spec.control,
            "title": self.title.id if self.title else None,
            "scenario": self.bundle_root.name,
        }
        if captions:
            meta["captions"] = True
        rec = self.device.rig.start(bundle, meta)
        self.recording = rec

        def on_key(key: str, t_mono: float) -> None:
            rec.mark("key", key=key, at_capture_s=round(t_mono - rec.t0, 4))

        self.device.add_key_listener(on_key)
        self.status_marker(rec)
        try:
            yield rec
        except BaseException as e:  # a failed step, Ctrl-C, SIGTERM: close and keep what was recorded
            self.device.remove_key_listener(on_key)
            self.capture = rec.abort(f"recording ended by {type(e).__name__}")
            raise
        self.device.remove_key_listener(on_key)
        self.status_marker(rec)
        self.capture = rec.stop()

    def status_marker(self, rec: Recording | None = None) -> None:
        rec = rec or self.recording
        st = self.device.status()
        if rec is not None and st is not None:
            rec.mark("status", state=st.state, title_id=st.title_id, position_s=st.position_s)

    def start_playing(self, timeout_s: float = 15.0, settle_s: float = 0.3) -> None:
        """Launch the scenario's title and wait until it plays. A title that never starts fails the
        scenario (the device's defect); a device that stops answering stays an error (the lab's)."""
        import pytest

        from devices.base import StateTimeout

        assert self.title is not None, "start_playing needs a scenario with a title"
        self.device.launch(self.title.id)
        try:
            self.device.wait_for_state("playing", timeout_s=timeout_s)
        except StateTimeout as e:
            pytest.fail(f"{self.title.id} never started playing: {e}", pytrace=False)
        time.sleep(settle_s)

    def press(self, key: str, settle_s: float = 0.0) -> None:
        self.device.press(key)
        if settle_s:
            time.sleep(settle_s)
        self.status_marker()

    def title_time(self, capture: Capture) -> Any:
        """Maps a capture time to the title position, from the player's own status reports."""
        samples = [m for m in capture.markers("status") if m.get("state") == "playing"]
        keys = [m["capture_s"] for m in capture.markers("key")]

        def f(t: float) -> float | None:
            before = [m for m in samples if m["capture_s"] <= t]
            if not before:
                return None
            m = before[-1]
            if any(m["capture_s"] < k <= t for k in keys):
                return None
            return float(m["position_s"]) + (t - m["capture_s"])

        return f

    def analyze(self, capture: Capture, windows: list[Window] | None = None) -> AnalysisResult:
        """Detectors and, when the capture shows a reference title, its measurements; cadence is
        not judged inside the expected windows (a pause holds frames, a seek jumps)."""
        result = analyze(capture.path, self.detectors, ignore=[(w.start_s, w.end_s) for w in windows or []])
        (capture.path / "analysis.json").write_text(result.to_json())
        return result

    def judge(
        self,
        capture: Capture,
        result: AnalysisResult,
        windows: list[Window] | None = None,
        measurements: dict[str, float] | None = None,
        policy: Policy | None = None,
    ) -> Outcome:
        m = dict(measurements or {})
        result.measurements.update(m)
        tt = self.title_time(capture)
        where = result.reference.where() if result.reference is not None else None
        verdict = evaluate(result.events, result.measurements, policy or self.policy, windows, tt, where)
        result.verdict = "pass" if verdict.passed else "fail"
        result.reasons = verdict.failures
        out = {**result.to_dict(), "judgement": verdict.to_dict(), "windows": [w.__dict__ for w in windows or []]}
        (capture.path / "analysis.json").write_text(json.dumps(out, indent=2, default=str))
        outcome = Outcome(capture, result, verdict, result.measurements)
        if self.attach:
            from harness.report.allure import attach_outcome

            summary = [f"verdict: {'pass' if verdict.passed else 'fail'}"] + [f"FAIL {f}" for f in verdict.failures]
            summary += [f"excused {e.describe()}: {r}" for e, r in verdict.excused]
            summary += [f"{k} = {v:.3f}" for k, v in outcome.measurements.items()]
            attach_outcome(capture, result, summary, self.device.name, self.title.id if self.title else None)
        losses = capture.meta.get("rig_losses") or []
        if losses and not verdict.passed:
            # The recording itself has holes: what looks like a defect may be the rig's. Broken, not failed.
            raise RigLossError(
                f"{describe_losses(losses)}; this is not a device defect; rerun or relieve the host "
                f"(what the incomplete capture showed: {verdict.summary()}; the recording is in {capture.path})"
            )
        return outcome


def startup_time(result: AnalysisResult, press_s: float) -> float | None:
    """Seconds from the launch key press to the first picture of the title.

    With a frame-coded reference title: the first captured frame whose frame code decodes. For
    other content: the first non-black frame after the player's black loading screen, or else the
    first frame after the press whose picture differs from the launcher's.
    """
    if result.reference is not None:
        first = result.reference.first_title_frame_s(press_s)
        return None if first is None else first - press_s
    t, black = result.detector("black_frames").black_mask()  # type: ignore[attr-defined]
    motion_t, motion = result.detector("frozen_video").signals()["max block motion"]
    after = t >= press_s
    idx = np.flatnonzero(after & black)
    if len(idx):
        later = np.flatnonzero((t > t[idx[0]]) & ~black)
        return float(t[later[0]] - press_s) if len(later) else None
    big = np.flatnonzero((motion_t >= press_s) & (motion > 20.0))
    return float(motion_t[big[0]] - press_s) if len(big) else None


def seek_result(result: AnalysisResult, press_s: float, requested_s: float, fps: float) -> tuple[float, float] | None:
    """(error_s, time_s) of a seek: the first frame after the key press that does not continue the
    frame sequence shows title position code/fps; error against the requested position, time
    from the press. None when no such frame was captured."""
    ref = result.reference
    if ref is None:
        return None
    prev = None
    for t, c in zip(ref.times, ref.codes, strict=True):
        if c is None:
            continue
        if t >= press_s and prev is not None and abs(c - prev) > 2:
            return abs(c / fps - requested_s), t - press_s
        prev = c
    return None
