"""The frame-code measurement benchmark: plan, scoring of one clip, and the regression guard on
real impaired reference titles (drops, stutter, A/V offset) measured by the real tracker."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.bench.measure import (
    AV_TOLERANCE_MS,
    MeasureClip,
    build_clips,
    measure_clip,
    plan,
    score_clip,
    summarize,
)
from harness.bench.metrics import Floors, check_floors, load_floors
from harness.bench.sources import load_recipe
from harness.measure import framecode
from harness.measure.tracker import ReferenceReport, SyncEvent

FLOORS_PATH = Path(__file__).resolve().parents[2] / "reference_content" / "bench_floors.yaml"


def test_plan_is_deterministic_quick_is_a_subset_and_windows_fit() -> None:
    r = load_recipe()
    assert r.measure is not None
    quick, full = plan(r, quick=True), plan(r, quick=False)
    assert [(x.path, x.at_s, x.seed) for x in quick] == [(x.path, x.at_s, x.seed) for x in plan(r, quick=True)]
    by_path = {x.path: x for x in full}
    assert all(
        (x.at_s, x.duration_s, x.seed) == (by_path[x.path].at_s, by_path[x.path].duration_s, by_path[x.path].seed)
        for x in quick
    )
    assert {x.defect for x in full} == set(r.measure.defects) | {"none"}
    for x in full:
        if x.defect in ("av_offset", "av_drift"):
            assert (x.at_s, round(x.at_s + x.duration_s, 6)) == (1.5, 11.5)
        elif x.at_s is not None:
            assert r.margin_s <= x.at_s and x.at_s + x.duration_s <= 12 - r.margin_s + 1e-9


def _report(dropped=(), repeated=(), sync=()) -> ReferenceReport:
    return ReferenceReport([], [], dropped=list(dropped), repeated=list(repeated), sync=list(sync))


def test_score_cadence_clip_exact_missed_and_outside() -> None:
    # window slots 50..54 at 25 fps show 50, 50, 52, 53, 53: frames 51 and 54 never shown, 2 extra shows
    row = MeasureClip(
        "t/drop.mp4",
        "t",
        "drop_frames",
        1.0,
        truth={"start_s": 2.0, "end_s": 2.2, "params": {"shown": [50, 50, 52, 53, 53]}},
    )
    ok = score_clip(row, _report(dropped=[51, 54], repeated=[50, 53]), 25.0)
    assert (ok.truths, ok.detected, ok.exact, ok.errors, ok.outside_alarms) == (1, 1, 1, [0.0], 0)
    short = score_clip(row, _report(dropped=[51, 54], repeated=[50, 90]), 25.0)
    assert (short.detected, short.exact, short.errors, short.outside_alarms) == (1, 0, [1.0], 1)
    missed = score_clip(row, _report(), 25.0)
    assert (missed.detected, missed.exact) == (0, 0)


def test_score_av_clip_per_sync_event() -> None:
    # drift 120 ms/min from 1.5 s: an event at frame 100 (4 s at 25 fps) expects 5 ms
    row = MeasureClip(
        "t/d.mp4", "t", "av_drift", 1.0, truth={"start_s": 1.5, "end_s": 11.5, "params": {"drift_ms_per_min": 120.0}}
    )
    events = [SyncEvent(25, 1.0, 1.0, 0.0), SyncEvent(100, 4.0, 4.005, 5.4), SyncEvent(250, 10.0, 10.03, 30.0)]
    sc = score_clip(row, _report(sync=events), 25.0)
    # the event at 1.0 s is outside the window; 10 s expects 17 ms, 30 is 13 ms off
    assert sc.truths == 2 and sc.detected == 1 and sc.errors == pytest.approx([0.4, 13.0])
    clean = score_clip(
        MeasureClip("t/c.mp4", "t", "none", 0.0), _report(sync=[SyncEvent(25, 1.0, 1.0, AV_TOLERANCE_MS + 1)]), 25.0
    )
    assert clean.clean_alarms == 1 and clean.clean_events == 1


@pytest.fixture(scope="module")
def measured_subset() -> tuple[Path, list[MeasureClip]]:
    """One title clean and with drops, stutter and an A/V offset at severity 1.0 (cached)."""
    keep = {"none", "drop_frames", "stutter", "av_offset"}
    root, rows = build_clips(
        load_recipe(),
        quick=True,
        jobs=2,
        select=lambda r: r.title == "bench-bbb-360p25" and r.defect in keep and r.severity in (0.0, 1.0),
    )
    assert sorted(r.defect for r in rows) == sorted(keep)
    return root, rows


def _measurement_guard(subset: tuple[Path, list[MeasureClip]]) -> list[str]:
    root, rows = subset
    scores = [measure_clip(r, str(root))[1] for r in rows]
    defects = sorted({r.defect for r in rows} - {"none"})
    floors = load_floors(FLOORS_PATH)
    mine = Floors(detectors={}, measurements={d: floors.measurements[d] for d in defects})
    return check_floors({}, mine, summarize(scores, defects))


def test_measurement_guard_passes_on_the_real_tracker(measured_subset) -> None:
    assert _measurement_guard(measured_subset) == []


def test_measurement_guard_breaks_when_the_frame_code_reader_is_worse(measured_subset, monkeypatch) -> None:
    # a reader that misreads every 10th frame as the frame before: phantom repeats and misses
    real = framecode.read
    calls = {"n": 0}

    def worse(luma):
        code = real(luma)
        calls["n"] += 1
        return code - 1 if code and calls["n"] % 10 == 0 else code

    monkeypatch.setattr(framecode, "read", worse)
    broken = _measurement_guard(measured_subset)
    assert broken and all(line.startswith("frame-code ") for line in broken)
    assert any("clean_false_alarms" in line for line in broken)


def test_summary_and_table_say_what_was_not_measured() -> None:
    from harness.bench.measure import ClipScore, MeasureResult

    scores = [
        ClipScore("none", 0.0, clean_events=3),
        ClipScore("drop_frames", 0.33, truths=1, detected=1, exact=1, errors=[0.0], media_s=12.0, wall_s=0.5),
        ClipScore("drop_frames", 1.0, truths=1, detected=1, exact=0, errors=[2.0], media_s=12.0, wall_s=0.5),
    ]
    rows = summarize(scores, ["drop_frames", "av_offset"])
    assert rows["drop_frames"]["recall_by_severity"] == {"0.33": 1.0, "1.00": 1.0}
    assert (rows["drop_frames"]["exact"], rows["drop_frames"]["clean_checks"]) == (0.5, 4)
    lines = MeasureResult(rows, 3, 1.0).table().splitlines()
    assert lines[2].startswith("| drop_frames | 2 | 1.00 | 1.00 / 1.00 | 0.50 | 1.0 / 1.9 frames | 0 | 0 of 4 |")
    assert lines[3] == "| av_offset | 0 | - | - | - | - / - ms | 0 | 0 of 4 | - |"
