"""ONNX inference on the CPU: one onnxruntime session per model file for the whole process, inputs
checked against the graph, and a batcher that lets streaming detectors send frames in batches.

Sessions are sequential with `intra_op_num_threads` from `threads_for_host` and one inter-op
thread: detectors already run in parallel, so each session takes a few cores, not all of them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import onnxruntime as ort

from harness.ml.registry import ModelCard, ModelError, load_card, verify

MAX_THREADS = 8  # beyond this a small CPU model gains little and starves the other detectors

# onnxruntime's element types as numpy dtypes, for checking inputs before the session sees them
_ORT_DTYPES: dict[str, np.dtype[Any]] = {
    f"tensor({k})": np.dtype(v)
    for k, v in {
        "float": "float32",
        "double": "float64",
        "float16": "float16",
        "uint8": "uint8",
        "int8": "int8",
        "uint16": "uint16",
        "int16": "int16",
        "int32": "int32",
        "int64": "int64",
        "bool": "bool",
    }.items()
}


def threads_for_host() -> int:
    """`$VQA_ORT_THREADS` when set, else the CPUs this process may run on, at most 8; at least 1."""
    env = os.environ.get("VQA_ORT_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise ValueError(f"VQA_ORT_THREADS={env!r}: expected a whole number of threads") from None
    return max(1, min(MAX_THREADS, len(os.sched_getaffinity(0))))


def _session(path: Path, card: ModelCard) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads_for_host()
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3  # errors only: onnxruntime's warnings are not ours to print
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own pybind classes (InvalidProtobuf, Fail, ...)
        first = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        first = first.rpartition("failed:")[2].strip() or first  # the path is said once, at the front
        raise ModelError.for_file(path, f"onnxruntime cannot load it ({first[:200]})", card.name, card) from None


def _shape_text(shape: list[Any]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


class OnnxModel:
    """A verified model and its session. Get one with `OnnxModel.load(name)`; `run` checks the inputs."""

    _cache: dict[tuple[Path, str], OnnxModel] = {}
    _lock = threading.Lock()

    def __init__(self, card: ModelCard, path: Path, session: ort.InferenceSession) -> None:
        self.card = card
        self.path = path
        self.session = session
        self._inputs = {i.name: i for i in session.get_inputs()}
        self.input_names: list[str] = [i.name for i in session.get_inputs()]
        self.output_names: list[str] = [o.name for o in session.get_outputs()]
        ins, outs = [t.name for t in card.inputs], [t.name for t in card.outputs]
        if (ins, outs) != (self.input_names, self.output_names):
            problem = (
                f"the card names inputs {ins} and outputs {outs}, "
                f"the graph has inputs {self.input_names} and outputs {self.output_names}"
            )
            raise ModelError.for_file(path, problem, card.name, card)

    @classmethod
    def load(cls, name: str, models_dir: Path | str | None = None) -> OnnxModel:
        """The model `name` from the models folder, verified against its card; one session per file and
        sha256 for the whole process, so an analysis loads each model once."""
        card = load_card(name, models_dir)
        path = verify(card, models_dir).resolve()
        key = (path, card.sha256)
        with cls._lock:
            model = cls._cache.get(key)
            if model is None:
                model = cls._cache[key] = cls(card, path, _session(path, card))
            elif model.card != card:  # card edited (thresholds, notes), same file: keep the session
                model = cls._cache[key] = cls(card, path, model.session)
        return model

    @property
    def name(self) -> str:
        return self.card.name

    def _check(self, name: str, value: np.ndarray) -> None:
        spec = self._inputs.get(name)
        if spec is None:
            raise ValueError(f"model {self.name}: no input {name!r} (inputs: {', '.join(self.input_names)})")
        want = _ORT_DTYPES.get(spec.type)
        dims = [d if isinstance(d, int) else None for d in spec.shape]
        fits = len(dims) == value.ndim and all(d is None or d == n for d, n in zip(dims, value.shape, strict=True))
        if (want is not None and value.dtype != want) or not fits:
            raise ValueError(
                f"model {self.name}: input {name!r} wants {want or spec.type} of shape {_shape_text(spec.shape)}, "
                f"got {value.dtype} of shape {_shape_text(list(value.shape))}"
            )

    def run(self, inputs: Mapping[str, np.ndarray] | np.ndarray) -> dict[str, np.ndarray]:
        """Outputs by name. A bare array is the first input; ValueError for a wrong dtype, rank or dim."""
        feed = {self.input_names[0]: inputs} if isinstance(inputs, np.ndarray) else dict(inputs)
        missing = [n for n in self.input_names if n not in feed]
        if missing:
            raise ValueError(f"model {self.name}: missing input(s) {', '.join(missing)}")
        for name, value in feed.items():
            self._check(name, value)
        return dict(zip(self.output_names, self.session.run(self.output_names, feed), strict=True))


T = TypeVar("T")


class Batcher(Generic[T]):
    """Stacks same-shaped items into batches of `batch_size` for `fn` (batch in, one row per item out)
    and hands back `(tag, row)` pairs, in the order the items came, as each batch completes."""

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray], batch_size: int = 8) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be 1 or more, not {batch_size}")
        self.fn = fn
        self.batch_size = batch_size
        self._items: list[np.ndarray] = []
        self._tags: list[T] = []

    def __len__(self) -> int:
        """Items waiting for a batch."""
        return len(self._items)

    def add(self, item: np.ndarray, tag: T) -> list[tuple[T, np.ndarray]]:
        """Queue one item; the results of a batch when this item completes it, else none."""
        if self._items and item.shape != self._items[0].shape:
            raise ValueError(f"batch items must share one shape: {item.shape} after {self._items[0].shape}")
        self._items.append(item)
        self._tags.append(tag)
        return self.flush() if len(self._items) >= self.batch_size else []

    def flush(self) -> list[tuple[T, np.ndarray]]:
        """Run what is queued (a partial batch at the end of a stream) and return its results."""
        if not self._items:
            return []
        batch, tags = np.stack(self._items), self._tags
        self._items, self._tags = [], []
        out = self.fn(batch)
        if len(out) != len(tags):
            raise ValueError(f"batch function returned {len(out)} rows for {len(tags)} items")
        return list(zip(tags, out, strict=True))
