"""solid_color: the picture, or its lower part, is one flat colour that is not black: the green of a
zero-filled frame buffer, a "no signal" blue, magenta, grey or white from a failed decoder or HDMI
path, or the colour a partly decoded frame shows below its last good line.

Per frame, on the picture subsampled to about `rows` lines (chroma on the same grid where the
stream has it):

1. The **bottom row of cells** decides first: a fill starts at the bottom edge (a decoder fills
   below its last good line; a "no signal" screen fills everything). A cell is flat when the
   spread of its luma and of both chroma planes is at most `flat_std`; with fewer than `row_share`
   of the bottom cells flat, the frame is not solid. That is where almost every frame of
   programme stops, so the detector costs little. The colour is the median of those flat cells.
2. A colour with luma at most `black_luma` and chroma within `black_chroma` of neutral is black
   (`black_frames`' defect, and the colour of letterbox bars): not solid.
3. A **line** is solid when at least `row_share` of its pixels are within `color_tolerance` of the
   colour in every channel; the **band** is the run of solid lines from the bottom up, cut where
   a row of cells inside it is not flat. The frame is flagged when the band covers at least
   `min_coverage` of the height.
4. **Onset**: a failure replaces the picture in one frame; a fade (through white, to a colour
   card) converges on the colour over several frames. The distance of each of the `onset_frames`
   frames before the run to the colour, over the band (mean absolute difference, levels), tells
   them apart: a run is gradual when those distances shrink frame by frame, to at most
   `onset_converged` of the earliest one; a gradual run is reported only when it lasts
   `gradual_min_s`, a sudden one when it lasts `min_duration_s`. Static content of about the
   same colour (a grey moon under a grey fill) stays at one distance: sudden.

Events carry the colour (named, and as RGB), the band's share of the height and its top line.

| param | default | meaning |
| --- | --- | --- |
| rows | 180 | lines the picture is subsampled to (every 4th of 720p, every 2nd of 360p): a fill is flat at any scale |
| grid | 8 | cell side in subsampled pixels (32 px at 720p): enough samples that real texture shows spread, small enough that a 25 % band holds several rows of cells |
| flat_std | 3.0 | 8-bit levels. A decoder's fill is exactly flat; capture noise (sigma 1-2) and H.264 at normal rates keep it under 2. Natural surfaces, clear sky included, spread 4 and more over a 32 px cell (sensor noise, grain, gradients); flat animation fills can be flatter, which is why the band rule and the onset follow |
| color_tolerance | 6.0 | levels a channel: one colour, whatever the encoder's drift across the band; a vertical gradient (sky) changes by more than this over a quarter of the picture |
| row_share | 0.9 | a line is solid with 90 % of its pixels at the colour: an on-screen logo may sit in the band |
| min_coverage | 0.25 | the band covers a quarter of the height at least: the mildest benchmark fill is a third; letterbox bars are black and thinner |
| black_luma | 56 | a colour with luma at most 56 and near-neutral chroma is black: limited-range black is 16, and the dark navy or charcoal backgrounds of TV menus and launchers (luma 30-50) are black to a viewer, not a failed decoder's fill; "no signal" blue (luma 41) is far from neutral and stays a colour |
| black_chroma | 16 | chroma levels from neutral (128) under which a dark colour is neutral (a navy menu: 9) |
| min_duration_s | 0.1 | as black_frames: a 3-frame green flash is a defect a viewer sees |
| onset_frames | 3 | frames before a run whose distance to the colour is compared: a fade of 0.2 s at 25 fps still spans them ... |
| onset_converged | 0.7 | ... and the last is at most this share of the first (a fade covers 1/3 of the way in 3 frames of 10; capture noise on static content moves the distance by a few per cent) |
| gradual_min_s | 3.0 | a gradual run is a fault only when held this long (a stuck white or blue screen); a fade's or a title card's flat frames are shorter |
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from harness.detectors.base import Detector, Params, Series
from harness.events import Event
from harness.media import Frame

# named colours for the report, as (Y, Cb, Cr) in BT.601 limited range
PALETTE: dict[str, tuple[float, float, float]] = {
    "green": (16.0, 128.0 - 112.0 * 0.5, 128.0 - 112.0 * 0.5),  # YUV (0, 0, 0) shown as RGB: dark green
    "blue": (41.0, 240.0, 110.0),
    "red": (81.0, 90.0, 240.0),
    "magenta": (106.0, 202.0, 222.0),
    "cyan": (170.0, 166.0, 16.0),
    "yellow": (210.0, 16.0, 146.0),
    "grey": (126.0, 128.0, 128.0),
    "white": (235.0, 128.0, 128.0),
}


def rgb_of(ycc: tuple[float, float, float]) -> tuple[int, int, int]:
    """BT.601 limited-range Y'CbCr to 8-bit RGB."""
    y, cb, cr = ycc[0] - 16.0, ycc[1] - 128.0, ycc[2] - 128.0
    r = 1.164 * y + 1.596 * cr
    g = 1.164 * y - 0.392 * cb - 0.813 * cr
    b = 1.164 * y + 2.017 * cb
    return tuple(int(np.clip(round(v), 0, 255)) for v in (r, g, b))  # type: ignore[return-value]


def name_of(ycc: tuple[float, float, float]) -> str:
    """The palette colour nearest in chroma (and in luma for the neutral ones)."""
    y, cb, cr = ycc
    if abs(cb - 128) <= 16 and abs(cr - 128) <= 16:
        return "white" if y >= 180 else "grey"
    best, dist = "other", 1e9
    for n, (_, pb, pr) in PALETTE.items():
        if n in ("grey", "white"):
            continue
        d = float(np.hypot(cb - pb, cr - pr))
        if d < dist:
            best, dist = n, d
    return best


class SolidParams(Params):
    rows: int = Field(180, ge=16, le=2160)
    grid: int = Field(8, ge=2, le=64)
    flat_std: float = Field(3.0, gt=0)
    color_tolerance: float = Field(6.0, gt=0)
    row_share: float = Field(0.9, gt=0, le=1)
    min_coverage: float = Field(0.25, gt=0, le=1)
    black_luma: float = Field(56.0, ge=0, le=255)
    black_chroma: float = Field(16.0, ge=0)
    min_duration_s: float = Field(0.1, ge=0)
    onset_frames: int = Field(3, ge=2, le=25)
    onset_converged: float = Field(0.7, gt=0, le=1)
    gradual_min_s: float = Field(3.0, ge=0)


class SolidColor(Detector):
    name = "solid_color"
    version = "1"
    consumes = "video"
    Params = SolidParams
    params: SolidParams

    def __init__(self, params: BaseModel | dict[str, Any] | None = None) -> None:
        super().__init__(params)
        self._t = Series()
        self._coverage = Series(np.float32)
        self._recent: list[np.ndarray] = []  # the last onset_frames frames' (3, h, w) planes, oldest first
        self._run: dict[str, Any] | None = None
        self._events: list[Event] = []
        self._step = 0.0
        self._last_t: float | None = None

    # ---- per frame ------------------------------------------------------------------------------
    def _planes(self, frame: Frame) -> np.ndarray:
        """(3, h, w) uint8 Y, Cb, Cr on one subsampled grid; neutral chroma where there is none."""
        s = max(1, frame.luma.shape[0] // self.params.rows)
        y = frame.luma[::s, ::s]
        if frame.chroma is None:
            neutral = np.full_like(y, 128)
            return np.stack([y, neutral, neutral])
        cb, cr = frame.chroma
        fy = max(1, round(frame.luma.shape[0] / max(cb.shape[0], 1)))
        fx = max(1, round(frame.luma.shape[1] / max(cb.shape[1], 1)))
        sy, sx = max(1, s // fy), max(1, s // fx)
        u, v = cb[::sy, ::sx], cr[::sy, ::sx]
        h, w = min(y.shape[0], u.shape[0]), min(y.shape[1], u.shape[1])
        return np.stack([y[:h, :w], u[:h, :w], v[:h, :w]])

    def measure(self, planes: np.ndarray) -> tuple[float, tuple[float, float, float] | None, int]:
        """(band's share of the height, its colour, its first line) of one frame's (3, h, w) planes.

        The band touches the bottom edge, so the bottom row of cells decides first, and cheaply:
        most frames of programme have texture there (or a black bar) and stop at that test."""
        p = self.params
        g = p.grid
        _, h, w = planes.shape
        cols = w // g
        if h < 2 * g or cols < 2:
            return 0.0, None, h
        x = planes[:, h - g :, : cols * g].astype(np.float32).reshape(3, g, cols, g)
        flat = np.all(x.std(axis=(1, 3)) <= p.flat_std, axis=0)
        if flat.mean() < p.row_share:
            return 0.0, None, h
        color = np.median(x.mean(axis=(1, 3))[:, flat], axis=1)
        c = (float(color[0]), float(color[1]), float(color[2]))
        if self._is_black(c):
            return 0.0, c, h
        near = np.all(
            np.abs(planes.astype(np.int16) - color.round().astype(np.int16)[:, None, None]) <= p.color_tolerance, axis=0
        )
        line_solid = near.mean(axis=1) >= p.row_share
        band = h if line_solid.all() else int(h - 1 - np.flatnonzero(~line_solid)[-1])
        if band < h:  # the band's own lines must be flat too, not only near the colour on average
            rows = band // g
            if rows >= 1:
                y = planes[:, h - rows * g :, : cols * g].astype(np.float32).reshape(3, rows, g, cols, g)
                cell_flat = np.all(y.std(axis=(2, 4)) <= p.flat_std, axis=0).mean(axis=1) >= p.row_share
                if not cell_flat.all():
                    band = int((len(cell_flat) - 1 - np.flatnonzero(~cell_flat)[-1]) * g)
        return band / h, c, h - band

    def _is_black(self, c: tuple[float, float, float]) -> bool:
        p = self.params
        return c[0] <= p.black_luma and max(abs(c[1] - 128), abs(c[2] - 128)) <= p.black_chroma

    def feed_video(self, frame: Frame) -> None:
        p = self.params
        planes = self._planes(frame)
        coverage, color, first_row = self.measure(planes)
        t = frame.pts_s
        if self._last_t is not None and t > self._last_t:
            self._step = t - self._last_t
        self._last_t = t
        flagged = color is not None and coverage >= p.min_coverage and not self._is_black(color)
        self._t.append(t)
        self._coverage.append(coverage if flagged else 0.0)
        run = self._run
        if run is not None and (not flagged or not self._same(color, run["color"])):
            self._close(t)
            run = None
        if flagged and run is None:
            assert color is not None
            line = int(round(first_row * frame.luma.shape[0] / planes.shape[1]))
            self._run = {
                "start": t,
                "color": color,
                "coverage": [coverage],
                "first_line": line,
                "gradual": self._gradual(planes, color, first_row),
            }
        elif flagged and run is not None:
            run["coverage"].append(coverage)
        self._recent = (self._recent + [planes])[-self.params.onset_frames :]

    def _same(self, a: tuple[float, float, float] | None, b: tuple[float, float, float]) -> bool:
        return a is not None and max(abs(x - y) for x, y in zip(a, b, strict=True)) <= 2 * self.params.color_tolerance

    def _gradual(self, planes: np.ndarray, color: tuple[float, float, float], first_row: int) -> bool:
        """Whether the frames before converged on this colour over the band (a fade)."""
        p = self.params
        before = [f for f in self._recent if f.shape == planes.shape]
        if len(before) < p.onset_frames:
            return False
        c = np.asarray(color, np.float32)[:, None, None]
        d = [float(np.abs(f[:, first_row:, :].astype(np.float32) - c).mean()) for f in before]
        shrinking = all(b < a for a, b in zip(d, d[1:], strict=False))
        return shrinking and d[-1] <= p.onset_converged * d[0]

    def _close(self, end: float) -> None:
        run, self._run = self._run, None
        if run is None:
            return
        p = self.params
        need = p.gradual_min_s if run["gradual"] else p.min_duration_s
        if end - run["start"] < need - 1e-9:
            return
        c = run["color"]
        cover = float(np.median(run["coverage"]))
        where = "the whole picture" if cover >= 0.99 else f"the bottom {cover:.0%} of the picture"
        details = {
            "summary": f"{name_of(c)} over {where}",
            "color": name_of(c),
            "rgb": list(rgb_of(c)),
            "ycbcr": [round(v, 1) for v in c],
            "coverage": round(float(np.median(run["coverage"])), 3),
            "first_line": int(run["first_line"]),
            "frames": len(run["coverage"]),
            "onset": "gradual" if run["gradual"] else "sudden",
        }
        conf = float(np.clip(0.5 + float(np.median(run["coverage"])) / 2, 0.5, 1.0))
        self._events.append(Event("solid_color", run["start"], end, conf, self.name, details))

    def finish(self) -> list[Event]:
        if self._run is not None and self._last_t is not None:
            self._close(self._last_t + self._step)
        return list(self._events)

    def signals(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {"solid colour coverage": (np.asarray(self._t), np.asarray(self._coverage))}
