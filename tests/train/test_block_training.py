"""`vqa train block-corruption --size quick` end to end: data from the train sources, a trained
network, an ONNX file with its card, and held-out clips of the *test* sources on which it beats
chance by a wide margin. The refused-model path: an altered file is one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch  # noqa: F401  (the train extra; .ci/setup.sh installs it: without it this file fails, loudly)

from harness.cli.app import main
from harness.ml.registry import ModelError, load_card, verify
from tests.helpers import write_clip


@pytest.fixture(scope="module")
def quick_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("models")
    assert main(["train", "block-corruption", "--size", "quick", "--models-dir", str(out)]) == 0
    return out


def test_quick_model_beats_chance_on_held_out_test_sources(quick_model: Path) -> None:
    card = load_card("block_corruption", quick_model)
    verify(card, quick_model)
    m = card.metrics["held_out_test_sources"]
    assert m["corrupted_frames"] >= 100 and m["clean_frames"] >= 100
    # chance is 0.5 balanced accuracy and, for precision, the share of corrupted frames (~0.46):
    # a wide margin above both on sources never trained on (measured: v2 0.77, v1 precision 0.91)
    assert m["frames_v2"]["balanced_accuracy"] >= 0.7, m
    share = m["corrupted_frames"] / (m["corrupted_frames"] + m["clean_frames"])
    assert m["frames_v1"]["precision"] >= share + 0.25, m
    assert card.training.data_digest and card.training.command.startswith("vqa train block-corruption --size quick")
    assert 0 < card.size_bytes <= 10_000_000
    assert (quick_model / "block_corruption.md").read_text().count(card.sha256) == 1


def test_quick_model_is_what_the_detector_runs(quick_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.detectors import create
    from harness.media import Frame

    monkeypatch.setenv("VQA_MODELS_DIR", str(quick_model))
    det = create("block_corruption")
    rng = np.random.default_rng(0)
    for i in range(10):
        det.feed_video(Frame(rng.integers(0, 255, (720, 1280), dtype=np.uint8), i / 25, i))
    det.finish()
    t, flags = det.frame_decisions()  # type: ignore[attr-defined]
    assert len(t) == 10 and flags.dtype == bool


def test_altered_model_is_refused_with_one_line(
    quick_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "models"
    bad.mkdir()
    for f in quick_model.iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    onnx = bad / "block_corruption.onnx"
    data = bytearray(onnx.read_bytes())
    data[len(data) // 2] ^= 0xFF
    onnx.write_bytes(bytes(data))
    monkeypatch.setenv("VQA_MODELS_DIR", str(bad))
    from harness.detectors import create

    with pytest.raises(ModelError) as e:
        create("block_corruption")
    msg = str(e.value)
    assert (
        "\n" not in msg and "block_corruption.onnx" in msg and "sha256" in msg and "vqa train block-corruption" in msg
    )
    assert main(["models", "verify"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "block_corruption.onnx" in err[0]
    clip = write_clip(tmp_path / "clip.mp4", seconds=1.0, audio=False)
    assert main(["analyze", str(clip), "--detectors", "+block_corruption", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vqa: error: ") and "sha256" in err[0]
    card = json.loads((bad / "block_corruption.json").read_text())
    assert card["sha256"] != ""
