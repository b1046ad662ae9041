"""`vqa train audio-artifacts --size quick` end to end: windows from the train sources, a trained
network, an ONNX file with its card, held-out windows of the *test* sources on which it beats
chance (0.2 balanced accuracy over five classes) by a wide margin, run by the detector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch  # noqa: F401  (the train extra; .ci/setup.sh installs it: without it this file fails, loudly)

from harness.cli.app import main
from harness.ml.registry import load_card, verify


@pytest.fixture(scope="module")
def quick_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("models")
    assert main(["train", "audio-artifacts", "--size", "quick", "--models-dir", str(out)]) == 0
    return out


def test_quick_model_beats_chance_on_held_out_test_sources(quick_model: Path) -> None:
    card = load_card("audio_artifacts", quick_model)
    verify(card, quick_model)
    m = card.metrics["held_out_test_sources"]
    assert m["windows"] >= 800
    assert m["balanced_accuracy"] >= 0.5, m  # measured 0.66 after 200 steps
    assert len(m["confusion"]) == 5 and sum(map(sum, m["confusion"])) == m["windows"]
    assert card.training.data_digest and card.training.command.startswith("vqa train audio-artifacts --size quick")
    assert 0 < card.size_bytes <= 10_000_000
    assert not set(card.metrics["per_test_source_accuracy"]) & {"film-bbb", "speech-en-us"}  # train sources


def test_quick_model_is_what_the_detector_runs(quick_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.detectors import create
    from harness.media import AudioBlock
    from harness.reference import synth

    monkeypatch.setenv("VQA_MODELS_DIR", str(quick_model))
    det = create("audio_artifacts", {"per_channel": False})  # one view: the model's own softmax
    x = synth.music(3.0, seed=1)
    det.feed_audio(AudioBlock(x, 0.0, 48000))
    det.finish()
    t, p = det.window_probs()  # type: ignore[attr-defined]
    assert len(t) == 4 and np.allclose(p.sum(axis=1), 1, atol=1e-4)
