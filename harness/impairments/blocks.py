"""Pixel-domain block corruption: what a decoder's concealment leaves when slices are lost.

Three looks, each on 16x16 macroblocks in runs along the raster order (a lost slice takes out
consecutive macroblocks): "displaced" (the block copied from a wrong place, a bad motion vector),
"solid" (the block one flat colour, an unfilled buffer), "smeared" (the block's top pixel row
dragged down over it, a concealment streak). For damage made by the real H.264 decoder from a
damaged bitstream see `bitstream.py`.
"""

from __future__ import annotations

import numpy as np

from harness.impairments.common import Truth, VideoClip, check_severity, index_window, interpolate, rng_for, truth

MB = 16
MODES = ("displaced", "solid", "smeared")


def _damage_block(f: np.ndarray, src: np.ndarray, y: int, x: int, mode: str, rng: np.random.Generator) -> None:
    h, w = f.shape[:2]
    if mode == "displaced":
        for _ in range(8):  # a vector that points inside the frame and really moves the block
            dy, dx = (int(v) * 4 for v in rng.integers(-8, 9, 2))
            sy, sx = y + dy, x + dx
            if (dy or dx) and 0 <= sy <= h - MB and 0 <= sx <= w - MB:
                f[y : y + MB, x : x + MB] = src[sy : sy + MB, sx : sx + MB]
                return
        f[y : y + MB, x : x + MB] = 255 - src[y : y + MB, x : x + MB]
    elif mode == "solid":
        f[y : y + MB, x : x + MB] = rng.integers(0, 256, 3, dtype=np.uint8)
    else:
        row = src[max(0, y - 1), x : x + MB]
        f[y : y + MB, x : x + MB] = row[None, :, :]


def block_corruption(
    clip: VideoClip,
    at_s: float,
    duration_s: float,
    severity: float = 1.0,
    seed: int = 0,
    mode: str | None = None,
) -> tuple[VideoClip, Truth]:
    """Corrupt macroblocks in every frame of the window.

    Share of the frame's macroblocks damaged per frame: interpolate(severity, 0.5 %, 15 %):
    0.33 -> 5 %, 0.66 -> 10 %, 1.0 -> 15 %; in runs of 1-8 macroblocks. `mode` is one of MODES;
    None lets the seed pick per run (real concealment mixes them). Only whole 16x16 blocks inside
    the frame are touched. Truth params: `blocks_per_frame`, `share` (mean damaged share), `modes`.
    """
    s = check_severity(severity)
    a, b = index_window(at_s, duration_s, clip.fps, len(clip.frames))
    if mode is not None and mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    rng = rng_for(seed, "block_corruption")
    h, w = clip.frames[a].shape[:2]
    rows, cols = h // MB, w // MB
    total = rows * cols
    target = max(1, int(round(total * interpolate(s, 0.005, 0.15))))
    out = list(clip.frames)
    counts: list[int] = []
    used: set[str] = set()
    for i in range(a, b):
        src = clip.frames[i]
        f = src.copy()
        hit: set[int] = set()
        while len(hit) < target:
            start = int(rng.integers(0, total))
            run = int(rng.integers(1, 9))
            m = mode if mode is not None else MODES[int(rng.integers(0, len(MODES)))]
            used.add(m)
            for mb in range(start, min(total, start + run)):
                if len(hit) >= target:
                    break
                if mb not in hit:
                    hit.add(mb)
                    _damage_block(f, src, (mb // cols) * MB, (mb % cols) * MB, m, rng)
        out[i] = f
        counts.append(len(hit))
    return VideoClip(out, clip.fps), truth(
        "block_corruption",
        "block_corruption",
        a,
        b,
        clip.fps,
        s,
        block_px=MB,
        blocks_per_frame=counts,
        share=float(np.mean(counts) / total),
        modes=sorted(used),
    )
