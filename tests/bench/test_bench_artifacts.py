"""`vqa bench artifacts` in miniature: every part runs on the test sources with the shipped model
and gives numbers in range; the clean part streams every test source through the detector."""

from __future__ import annotations

from harness.train import audiodata as ad
from harness.train.audiobench import run_artifacts, table


def test_bench_artifacts_small() -> None:
    rep = run_artifacts(window_segments=8, fit_segments=8, clean_s=6, event_clips=1, pool_s=12, log=lambda m: None)
    assert rep.windows["windows"] > 40 and 0 <= rep.windows["balanced_accuracy"] <= 1
    assert rep.baseline_windows["windows"] == rep.windows["windows"]
    assert rep.false_alarms["seconds"] == 6 * len(ad.sources("test"))
    assert set(rep.events["model"]) == {"hum", "hiss", "distortion", "clicks"}
    assert rep.speed_x_realtime > 0
    assert set(rep.thresholds) == {"hum_prominence_db", "noise_floor_flatness", "clipped_run_share", "clicks_per_s"}
    assert "audio_artifacts" in table(rep) and "signal baseline" in table(rep)
