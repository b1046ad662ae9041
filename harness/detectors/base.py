"""The detector contract: pure, streaming, parameters in a pydantic model, registered by name."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from harness.events import Event
from harness.media import AudioBlock, Frame

REGISTRY: dict[str, type[Detector]] = {}


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Detector(ABC):
    """Arrays in, events out; no I/O. Feed every frame or block in time order, then `finish()`."""

    name: ClassVar[str]
    version: ClassVar[str]
    consumes: ClassVar[Literal["video", "audio"]]
    Params: ClassVar[type[BaseModel]]

    def __init__(self, params: BaseModel | dict[str, Any] | None = None):
        if isinstance(params, BaseModel):
            self.params = params
        else:
            self.params = self.Params.model_validate(params or {})

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if not getattr(cls, "__abstractmethods__", None):
            REGISTRY[cls.name] = cls

    def feed_video(self, frame: Frame) -> None:  # pragma: no cover - overridden by video detectors
        raise NotImplementedError

    def feed_audio(self, block: AudioBlock) -> None:  # pragma: no cover - overridden by audio detectors
        raise NotImplementedError

    @abstractmethod
    def finish(self) -> list[Event]: ...

    def signals(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per-frame or per-window values for the report's timeline: name -> (times_s, values)."""
        return {}

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "params": self.params.model_dump()}


class Series:
    """A growing column of numbers kept in one numpy buffer (8 bytes a value, where a Python list
    spends 32 on each float): detectors keep a value per frame or audio window for hours of capture.
    Reads like a sequence (len, index, slice, iteration) and converts with np.asarray."""

    def __init__(self, dtype: Any = np.float64) -> None:
        self._a = np.empty(1024, dtype)
        self._n = 0

    def _room(self, k: int) -> None:
        if self._n + k > len(self._a):
            grown = np.empty(max(2 * len(self._a), self._n + k), self._a.dtype)
            grown[: self._n] = self._a[: self._n]
            self._a = grown

    def append(self, x: Any) -> None:
        self._room(1)
        self._a[self._n] = x
        self._n += 1

    def extend(self, xs: np.ndarray) -> None:
        self._room(len(xs))
        self._a[self._n : self._n + len(xs)] = xs
        self._n += len(xs)

    def array(self) -> np.ndarray:
        return self._a[: self._n]

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: Any) -> Any:
        return self.array()[i]

    def __iter__(self) -> Any:
        return iter(self.array())

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        a = self.array()
        return a.astype(dtype) if dtype is not None else a


def block_activity(
    luma: np.ndarray, prev: np.ndarray | None, grid: int, subsample: int
) -> tuple[np.ndarray, float | None]:
    """A frame's coarse picture (every `subsample`-th pixel, cropped to a `grid` x `grid` block
    split, int16) and its activity against `prev`: the largest mean absolute luma difference of
    any block, or None when there is no `prev` of the same size (the first frame, a new size)."""
    sub = luma[::subsample, ::subsample]
    h, w = (sub.shape[0] // grid) * grid, (sub.shape[1] // grid) * grid
    cur = sub[:h, :w].astype(np.int16)
    if prev is None or prev.shape != cur.shape:
        return cur, None
    block = np.abs(cur - prev).reshape(grid, h // grid, grid, w // grid).mean(axis=(1, 3))
    return cur, float(block.max())


class RunTracker:
    """Turns a flag per sample (frame or audio window) into [start, end) runs of a minimum length.

    `end` of a run is the time of the first unflagged sample (or the last time plus one step).
    """

    def __init__(self, min_duration_s: float):
        self.min_duration_s = min_duration_s
        self.runs: list[tuple[float, float, list[float]]] = []
        self._start: float | None = None
        self._scores: list[float] = []
        self._last_t = 0.0
        self._step = 0.0

    def update(self, t: float, flagged: bool, score: float = 1.0) -> None:
        if self._last_t and t > self._last_t:
            self._step = t - self._last_t
        if flagged:
            if self._start is None:
                self._start = t
                self._scores = []
            self._scores.append(score)
        elif self._start is not None:
            self._close(t)
        self._last_t = t

    def _close(self, end: float) -> None:
        assert self._start is not None
        if end - self._start >= self.min_duration_s - 1e-9:
            self.runs.append((self._start, end, self._scores))
        self._start = None

    def finish(self) -> list[tuple[float, float, list[float]]]:
        if self._start is not None:
            self._close(self._last_t + self._step)
        return self.runs


def create(name: str, params: dict[str, Any] | None = None) -> Detector:
    try:
        cls = REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown detector {name!r}; known: {', '.join(sorted(REGISTRY))}") from None
    return cls(params)
