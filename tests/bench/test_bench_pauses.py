"""`vqa bench pauses` end to end on a small recipe: a gated voice and a piano with rests."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import yaml

from harness.bench.pauses import _cuts, _levels, pausing_sources, run_pauses, summary, table
from harness.bench.sound import RATE, recorded_voice
from harness.bench.sources import load_recipe


def _small_recipe(tmp_path):
    r = yaml.safe_load(load_recipe.__globals__["RECIPE_PATH"].read_text())
    keep = {"chelsea-gated-news", "chelsea-piano-rests"}
    r["sources"]["test"] = [s for s in r["sources"]["test"] if s["id"] in keep]
    r["sources"]["train"] = r["sources"]["train"][:1]
    for s in r["sources"]["test"]:
        s["clean_duration_s"] = 65
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(r))
    return path


def test_cuts_are_placed_mid_phrase_and_seeded() -> None:
    x = np.stack([recorded_voice(90.0, seed=5)] * 2, axis=1)
    y, truths = _cuts(x, seed=3)
    assert len(truths) >= 3 and _cuts(x, seed=3)[1] == truths
    for a, b, sev in truths:
        i = int(a * RATE)
        assert np.all(_levels(x[i - RATE // 20 : i + RATE // 20]) > -60)  # sounding where it is cut
        if sev == 1.0:
            assert np.all(y[i + 1 : int(b * RATE) - 1] == 0)


def test_bench_pauses_counts_false_alarms_and_cuts(tmp_path) -> None:
    recipe = load_recipe(_small_recipe(tmp_path))
    assert [s.id for _, s in pausing_sources(recipe)] == ["chelsea-gated-news", "chelsea-piano-rests"]
    rows = run_pauses(recipe)
    summ = summary(rows)
    ours, ffmpeg = summ["all"]["audio_dropout"], summ["all"]["ffmpeg silencedetect"]
    assert ours["minutes"] == 2.2 and ours["cuts"] == ffmpeg["cuts"] == 6
    # silencedetect calls every pause a dropout; ours tells the cuts from the pauses
    assert ffmpeg["false_alarms"] >= 20
    assert ours["false_alarms"] == 0
    assert ours["recall_by_severity"]["1.0"] == 1.0
    assert "| gated_speech | audio_dropout | 1.1 | 0 (0.0) |" in table(summ)


def test_bench_pauses_cli_writes_json(tmp_path) -> None:
    out = tmp_path / "p.json"
    cmd = [sys.executable, "-m", "harness.cli", "bench", "pauses", "--recipe", str(_small_recipe(tmp_path))]
    r = subprocess.run([*cmd, "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "| music_rests | ffmpeg silencedetect |" in r.stdout
    assert json.loads(out.read_text())["summary"]["all"]["audio_dropout"]["false_alarms"] == 0
