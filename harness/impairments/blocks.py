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


# What counts as visible damage, per cell of a picture: the rule that labels training maps and
# scores frames in the benchmark. A difference from the undamaged decode is not enough: an error that
# only shifts a texture by a pixel or two (propagated motion errors in grass, brick, a face) leaves a
# picture a viewer takes for real. Damage is visible when the cell is far off the undamaged one
# (mean error >= MEAN_DIFF levels) *and* its structure changed: edges appeared that the picture did
# not have (block borders, displaced content) or went missing (smears, flat fills) by at least
# EDGE_IMBALANCE levels of mean gradient, or its brightness moved by BRIGHTNESS_SHIFT (a grey or
# coloured block). A cell is clean when almost nothing differs, and left out (neither) otherwise.
MEAN_DIFF = 16.0
EDGE_IMBALANCE = 8.0
BRIGHTNESS_SHIFT = 25.0
VISIBLE_DIFF = 20
CLEAN_SHARE = 0.03
CLEAN_MEAN = 4.0
IGNORE = 255  # label of a cell that is neither


def _cells(x: np.ndarray, rows: int, cols: int, cell: int) -> np.ndarray:
    return x[: rows * cell, : cols * cell].reshape(rows, cell, cols, cell).mean(axis=(1, 3))


def _grad(y: np.ndarray) -> np.ndarray:
    g = np.zeros(y.shape, np.float32)
    g[:, :-1] += np.abs(np.diff(y, axis=1))
    g[:-1, :] += np.abs(np.diff(y, axis=0))
    return g


def damage_labels(clean: np.ndarray, damaged: np.ndarray, cell: int = MB) -> np.ndarray:
    """Per-cell labels of a damaged luma plane against its undamaged decode: 1 visibly damaged,
    0 clean, IGNORE in between (uint8, rows x cols; partial cells at the edges are dropped)."""
    if clean.shape != damaged.shape:
        raise ValueError(f"planes differ in size: {clean.shape} vs {damaged.shape}")
    h, w = clean.shape[:2]
    rows, cols = h // cell, w // cell
    c = clean.astype(np.float32)
    d = damaged.astype(np.float32)
    err = np.abs(c - d)
    mean = _cells(err, rows, cols, cell)
    share = _cells((err > VISIBLE_DIFF).astype(np.float32), rows, cols, cell)
    gd = _grad(d) - _grad(c)
    new = _cells(np.maximum(gd, 0), rows, cols, cell)
    lost = _cells(np.maximum(-gd, 0), rows, cols, cell)
    shift = np.abs(_cells(d - c, rows, cols, cell))
    lab = np.full((rows, cols), IGNORE, np.uint8)
    lab[(share < CLEAN_SHARE) & (mean < CLEAN_MEAN)] = 0
    visible = (mean >= MEAN_DIFF) & ((np.abs(new - lost) >= EDGE_IMBALANCE) | (shift >= BRIGHTNESS_SHIFT))
    # a flat damaged cell inside a flat area (the middle of a band a decoder left black or grey)
    # is damage no picture of it alone can show: only its edge can, so it is left out
    dc = d[: rows * cell, : cols * cell]
    flat = _cells(np.abs(dc - _cells(dc, rows, cols, cell).repeat(cell, 0).repeat(cell, 1)), rows, cols, cell) < 1.5
    padded = np.pad(flat, 1, constant_values=True)
    surrounded = np.ones_like(flat)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            surrounded &= padded[dy : dy + rows, dx : dx + cols]
    lab[visible] = 1
    lab[visible & surrounded] = IGNORE
    return lab


def damaged_share(labels: np.ndarray) -> float:
    """Share of a frame's cells labelled damaged."""
    return float(np.count_nonzero(labels == 1)) / max(1, labels.size)


FRAME_MIN_SHARE = 0.01  # a frame is corrupted when at least 1 % of its cells are visibly damaged


def frame_label(labels: np.ndarray) -> int:
    """A frame's label from its cell labels: 1 corrupted, 0 clean (no damaged cell), 255 neither."""
    share = damaged_share(labels)
    if share >= FRAME_MIN_SHARE:
        return 1
    return 0 if share == 0 else 255
