"""Model cards, verification, the onnxruntime session and `vqa models`, on a tiny real ONNX graph
(1x1 Conv + Sigmoid) built with onnx.helper in a temporary models folder."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from harness.cli.app import main
from harness.ml.registry import (
    ModelCard,
    ModelError,
    list_cards,
    load_card,
    render_card_markdown,
    status,
    verify,
    write_card,
)
from harness.ml.runtime import Batcher, OnnxModel, threads_for_host

WEIGHT, BIAS = 2.5, -0.75


def _tiny_onnx(path) -> None:
    """frames [N,1,H,W] float32 -> map = sigmoid(WEIGHT * frames + BIAS)."""
    w = numpy_helper.from_array(np.full((1, 1, 1, 1), WEIGHT, np.float32), "w")
    b = numpy_helper.from_array(np.array([BIAS], np.float32), "b")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["frames", "w", "b"], ["logits"]), helper.make_node("Sigmoid", ["logits"], ["map"])],
        "tiny",
        [helper.make_tensor_value_info("frames", TensorProto.FLOAT, ["N", 1, "H", "W"])],
        [helper.make_tensor_value_info("map", TensorProto.FLOAT, ["N", 1, "H", "W"])],
        initializer=[w, b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _card() -> ModelCard:
    return ModelCard(
        name="tiny_map",
        version="1",
        task="Maps each pixel to a probability (test model).",
        inputs=[{"name": "frames", "shape": ["N", 1, "H", "W"], "dtype": "float32", "description": "gray 0..1"}],
        outputs=[{"name": "map", "shape": ["N", 1, "H", "W"], "dtype": "float32", "description": "probability"}],
        preprocessing={"gray": True, "scale": 1 / 255},
        decision={"threshold": 0.5},
        training={
            "command": "vqa train tiny-map --size quick",
            "size": "quick",
            "seed": 7,
            "time_s": 0.1,
            "device": "cpu",
            "torch_version": "none",
            "data_recipe": "none: weights set by hand",
            "data_digest": "0" * 16,
            "samples": {"train": 0},
        },
        metrics={"bbb": {"low": {"precision": 1.0, "recall": 0.5}, "high": {"precision": 0.9, "recall": 1.0}}},
        license="Apache-2.0",
        notes="Built by the tests.",
        created="2025-01-01",
    )


@pytest.fixture
def models(tmp_path, monkeypatch):
    """A models folder with one verified card; VQA_MODELS_DIR points at it."""
    _tiny_onnx(tmp_path / "tiny_map.onnx")
    write_card(_card(), tmp_path / "tiny_map.onnx", tmp_path)
    monkeypatch.setenv("VQA_MODELS_DIR", str(tmp_path))
    return tmp_path


def _flip_a_byte(path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_write_card_fills_in_the_file_and_renders_markdown(models):
    card = load_card("tiny_map")
    assert card.file == "tiny_map.onnx"
    assert card.size_bytes == (models / "tiny_map.onnx").stat().st_size
    assert len(card.sha256) == 64
    assert [c.name for c in list_cards()] == ["tiny_map"]
    md = (models / "tiny_map.md").read_text()
    assert md == render_card_markdown(card)
    assert card.sha256 in md and "vqa train tiny-map --size quick" in md
    assert "| bbb / low | 1.0 | 0.5 |" in md
    assert status(card) == "ok"
    assert verify(card) == models / "tiny_map.onnx"


def test_model_runs_and_matches_numpy(models):
    model = OnnxModel.load("tiny_map")
    assert (model.input_names, model.output_names) == (["frames"], ["map"])
    x = np.random.default_rng(0).random((3, 1, 5, 7), dtype=np.float32)
    out = model.run(x)["map"]
    assert out.shape == x.shape
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-(WEIGHT * x + BIAS))), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.run({"frames": x})["map"], out)


def test_second_load_returns_the_cached_session(models):
    a = OnnxModel.load("tiny_map")
    b = OnnxModel.load("tiny_map", models)
    assert a is b and a.session is b.session


@pytest.mark.parametrize(
    "bad",
    [np.zeros((1, 1, 4, 4), np.float64), np.zeros((1, 4, 4), np.float32), np.zeros((1, 3, 4, 4), np.float32)],
)
def test_wrong_input_names_model_input_and_shape(models, bad):
    with pytest.raises(ValueError) as e:
        OnnxModel.load("tiny_map").run(bad)
    assert "tiny_map" in str(e.value) and "'frames'" in str(e.value) and "[N, 1, H, W]" in str(e.value)


def test_altered_file_is_refused_in_one_line(models):
    card = load_card("tiny_map")
    _flip_a_byte(models / "tiny_map.onnx")
    assert status(card) == "altered"
    with pytest.raises(ModelError) as e:
        OnnxModel.load("tiny_map")
    msg = str(e.value)
    assert "\n" not in msg
    assert "tiny_map.onnx" in msg and "sha256 mismatch" in msg and "vqa train tiny-map --size quick" in msg


def test_missing_onnx_is_named(models):
    (models / "tiny_map.onnx").unlink()
    card = load_card("tiny_map")
    assert status(card) == "missing"
    with pytest.raises(ModelError, match=r"tiny_map\.onnx: missing") as e:
        verify(card)
    assert "\n" not in str(e.value) and "vqa train" in str(e.value)


def test_broken_or_absent_card_is_a_model_error(models):
    (models / "tiny_map.json").write_text('{"name": "tiny_map", ')
    with pytest.raises(ModelError, match=r"tiny_map\.json: unreadable model card") as e:
        load_card("tiny_map")
    assert "\n" not in str(e.value) and "vqa train tiny-map --size full" in str(e.value)
    with pytest.raises(ModelError, match=r"no model card named 'other'"):
        load_card("other")


def test_file_onnxruntime_cannot_load_is_a_model_error(models):
    (models / "tiny_map.onnx").write_bytes(b"not an onnx graph")
    write_card(_card(), models / "tiny_map.onnx", models)
    with pytest.raises(ModelError, match=r"tiny_map\.onnx: onnxruntime cannot load it") as e:
        OnnxModel.load("tiny_map")
    assert "\n" not in str(e.value)


def test_batcher_returns_every_item_in_order_with_a_partial_last_batch():
    sizes: list[int] = []

    def double(batch: np.ndarray) -> np.ndarray:
        sizes.append(len(batch))
        return batch * 2

    b: Batcher[int] = Batcher(double, batch_size=4)
    got = []
    for i in range(10):
        got += b.add(np.full((2, 3), i, np.float32), tag=i)
    assert len(b) == 2
    got += b.flush()
    assert sizes == [4, 4, 2]
    assert [t for t, _ in got] == list(range(10))
    for t, row in got:
        np.testing.assert_array_equal(row, np.full((2, 3), 2 * t))
    assert b.flush() == []


def test_batcher_feeds_a_model(models):
    model = OnnxModel.load("tiny_map")
    b: Batcher[str] = Batcher(lambda batch: model.run(batch)["map"], batch_size=8)
    frames = {f"f{i}": np.full((1, 4, 4), i / 10, np.float32) for i in range(11)}
    got = [r for name, f in frames.items() for r in b.add(f, name)] + b.flush()
    assert [t for t, _ in got] == list(frames)
    np.testing.assert_allclose(got[3][1], model.run(frames["f3"][None])["map"][0])


def test_threads_for_host(monkeypatch):
    monkeypatch.setenv("VQA_ORT_THREADS", "3")
    assert threads_for_host() == 3
    monkeypatch.delenv("VQA_ORT_THREADS")
    assert 1 <= threads_for_host() <= 8


def test_vqa_models_lists_and_verifies(models, capsys):
    assert main(["models"]) == 0
    line = capsys.readouterr().out.strip()
    card = load_card("tiny_map")
    assert line.startswith("tiny_map") and card.sha256[:12] in line and " ok " in line
    assert "vqa train tiny-map --size quick" in line
    assert main(["models", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(m["name"], m["status"]) for m in doc["models"]] == [("tiny_map", "ok")]
    assert main(["models", "verify"]) == 0
    assert main(["models", "verify", "tiny_map"]) == 0
    capsys.readouterr()

    _flip_a_byte(models / "tiny_map.onnx")
    assert main(["models", "verify"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "tiny_map.onnx" in err and "vqa train" in err
    assert main(["models"]) == 0
    assert " altered " in capsys.readouterr().out
    assert main(["models", "verify", "nope"]) == 2
    assert "no model card named 'nope'" in capsys.readouterr().err


def test_vqa_models_on_an_empty_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VQA_MODELS_DIR", str(tmp_path))
    assert main(["models"]) == 0
    assert capsys.readouterr().out.strip() == f"no models in {tmp_path}"
    assert main(["models", "verify"]) == 0
