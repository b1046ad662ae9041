"""The detector benchmark: matching and metrics on hand-made event lists, floors parsing and
checking, and the regression guard on a reduced benchmark (two sources, the three defects our
detectors own, severity 1.0, plus the clean clips) run through the same functions as
`vqa bench detect --quick --check`."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.bench.metrics import Floor, Floors, Tally, check_floors, load_floors, match
from harness.cli.bench import FLOORS_PATH

# --- matching -----------------------------------------------------------------------------


def test_match_overlap_and_tolerance() -> None:
    truths = [(1.0, 2.0), (5.0, 5.5)]
    # overlaps the first; ends 0.05 s before the second starts (inside the 0.1 s tolerance)
    assert match(truths, [(1.5, 2.5), (4.8, 4.95)]) == [(0, 0), (1, 1)]
    # 0.2 s away is outside the tolerance
    assert match([(5.0, 5.5)], [(4.5, 4.8)]) == []


def test_match_is_one_to_one_by_largest_overlap() -> None:
    # two events on one truth: the larger overlap wins, the other stays unmatched
    assert match([(1.0, 3.0)], [(1.0, 1.2), (1.5, 3.0)]) == [(0, 1)]
    # one long event over two truths is found once
    assert match([(1.0, 2.0), (3.0, 4.0)], [(0.5, 4.5)]) == [(0, 0)]
    assert match([], [(1.0, 2.0)]) == [] and match([(1.0, 2.0)], []) == []


def test_tally_metrics() -> None:
    t = Tally()
    t.add("own", [(1.0, 2.0)], [(1.04, 2.08)], 8.0, severity=1.0)
    t.add("own", [(3.0, 4.0)], [], 8.0, severity=0.33)
    t.add("own", [(5.0, 6.0)], [(5.0, 6.0), (7.0, 7.5)], 8.0, severity=1.0)  # one extra event
    t.add("clean", [], [(0.0, 1.0)], 36.0, where="dark")  # 1 alarm in 36 s = 100 / clean hour
    t.add("other", [], [(2.0, 3.0), (4.0, 5.0)], 72.0)
    s = t.summary()
    assert s["truths"] == 3 and s["matched"] == 2
    assert s["recall"] == pytest.approx(2 / 3, abs=1e-4)
    assert s["recall_by_severity"] == {"0.33": 0.0, "1.00": 1.0}
    assert s["precision"] == pytest.approx(2 / 4)  # 2 matched of 2 + 1 extra + 1 clean alarm
    assert s["false_alarms_per_clean_hour"] == pytest.approx(100.0)
    assert s["false_alarms_clean_at"] == ["dark 0.00-1.00"]
    assert s["other_defect_alarms_per_hour"] == pytest.approx(100.0)
    assert s["start_err_median_s"] == pytest.approx(0.02) and s["end_err_p95_s"] == pytest.approx(0.076)


def test_check_floors_names_detector_metric_value_and_floor() -> None:
    floors = Floors(
        detectors={"black_frames": Floor(min_recall=0.8, min_precision=0.9, max_false_alarms_per_clean_hour=50)}
    )
    ok = {"black_frames": {"recall": 0.9, "precision": 1.0, "false_alarms_per_clean_hour": 0.0}}
    assert check_floors(ok, floors) == []
    bad = {"black_frames": {"recall": 0.5, "precision": 0.7, "false_alarms_per_clean_hour": 90.0}}
    assert check_floors(bad, floors) == [
        "black_frames: recall 0.500 < floor 0.800",
        "black_frames: precision 0.700 < floor 0.900",
        "black_frames: false_alarms_per_clean_hour 90.0 > floor 50.0",
    ]
    assert check_floors({}, floors) == ["black_frames: not measured (floor file names it, the run did not)"]


def test_committed_floors_parse_and_cover_every_default_detector() -> None:
    from harness.bench.sources import load_recipe
    from harness.detectors import DEFAULT_DETECTORS

    floors = load_floors(FLOORS_PATH)
    assert set(floors.detectors) >= set(DEFAULT_DETECTORS)
    measure = load_recipe().measure
    assert measure is not None and set(floors.measurements) == set(measure.defects)


def test_recipe_plan_is_deterministic_and_split() -> None:
    from harness.bench.dataset import plan, responsible_defects
    from harness.bench.sources import load_recipe
    from harness.impairments import IMPAIRMENTS

    r = load_recipe()
    assert r.sources["train"] and r.sources["test"]
    quick, full = plan(r, quick=True), plan(r, quick=False)
    assert [x.path for x in quick] == [x.path for x in plan(r, quick=True)]
    full_by_path = {x.path: x for x in full}
    for x in quick:  # quick is an exact subset of full: same windows and seeds, so its clips are reused
        assert (x.at_s, x.duration_s, x.seed) == (
            full_by_path[x.path].at_s,
            full_by_path[x.path].duration_s,
            full_by_path[x.path].seed,
        )
    assert responsible_defects() == {
        "black",
        "freeze",
        "audio_dropout",
        "solid_color",
        "bitstream_corruption",
        "block_corruption",
        "drop_frames",  # stutter's: the cadence faults
        "repeat_frames",
        "stutter",
    }
    assert {x.defect for x in full} == set(IMPAIRMENTS) | {"none"}
    for x in full:
        if x.at_s is not None:
            assert r.margin_s <= x.at_s and x.at_s + (x.duration_s or 0) <= r.clip.duration_s - r.margin_s + 1e-9


# --- the regression guard -----------------------------------------------------------------


GUARDED = {"black", "freeze", "audio_dropout", "solid_color", "bitstream_corruption", "block_corruption"}


@pytest.fixture(scope="module")
def subset() -> tuple[Path, list]:
    """Two quick sources (cartoon with its sound; a talking head with speech), clean and with
    black / freeze / dropout / solid colour / block damage at severity 1.0: built once (cached with the quick
    benchmark's clips)."""
    from harness.bench.dataset import build_dataset
    from harness.bench.sources import load_recipe

    recipe = load_recipe()
    keep = {"bbb", "carphone-speech"}
    manifest, rows = build_dataset(
        recipe,
        quick=True,
        jobs=2,
        select=lambda r: r.source in keep and (r.defect == "none" or (r.defect in GUARDED and r.severity == 1.0)),
    )
    assert len(rows) == 2 + 2 * len(GUARDED)
    return manifest.parent, rows


def _guard(subset: tuple[Path, list], params: dict | None) -> list[str]:
    from harness.bench.detect import run_bench

    root, rows = subset
    floors = load_floors(FLOORS_PATH)
    res = run_bench(rows, root, params=params, detectors=sorted(floors.detectors), baselines=[], jobs=2)
    return check_floors(res.systems, floors)


def test_guard_passes_with_default_parameters(subset: tuple[Path, list]) -> None:
    assert _guard(subset, None) == []


def test_guard_fails_naming_the_detector_whose_quality_was_lowered(subset: tuple[Path, list]) -> None:
    # luma <= 1 never happens in limited-range video (black is 16), and no frame before a sudden
    # dimming can carry 255 levels of light above black: black_frames finds nothing
    broken = _guard(subset, {"black_frames": {"pixel_threshold": 1, "dim_min_level": 255}})
    assert broken and all(line.startswith("black_frames: ") for line in broken)
    assert any("recall 0.000 < floor" in line for line in broken)
    # a dropout must last 5 s: none of ours does
    broken = _guard(subset, {"audio_dropout": {"min_duration_s": 5.0}})
    assert broken == ["audio_dropout: recall 0.000 < floor 0.900"]


def test_cli_bad_floors_file_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Floors are read before any clip is built: a missing or invalid file costs nothing."""
    from harness.cli.app import main

    assert main(["bench", "detect", "--quick", "--check", "--floors", str(tmp_path / "missing.yaml")]) == 2
    assert "bad floors file" in capsys.readouterr().err
    floors = tmp_path / "floors.yaml"
    floors.write_text(
        "detectors:\n  black_frames: {min_recall: 1.5, min_precision: 0, max_false_alarms_per_clean_hour: 0}\n"
    )
    assert main(["bench", "detect", "--quick", "--check", "--floors", str(floors)]) == 2
    err = capsys.readouterr().err
    assert "bad floors file" in err and len(err.strip().splitlines()) == 1
