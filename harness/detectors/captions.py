"""captions: what caption text the picture shows, when, read off every frame cheaply and OCR'd
only where it changes.

Per frame (half resolution, the caption band only, about 0.5 ms at 720p):

1. **Stroke mask**: caption renderers draw light text with a dark box, shadow or outline so it
   reads over any picture; its strokes are thin and bright against what surrounds them. A pixel is
   stroke when it is brighter than `min_luma` and a white top-hat (the pixel minus the opening of
   its neighbourhood, `stroke_px` across) leaves at least `min_contrast` of it: bright areas wider
   than a stroke (sky, a white shirt, the frame-code cells) open away, thin bright strokes stay.
   And the darkest pixel of that neighbourhood is at most `max_surround`: every caption style
   (CEA-708 and EBU-TT-D alike: a box, an edge or a drop shadow) puts dark right next to the
   text so it reads on a bright picture, while bright textures of the picture (a grey road, foliage
   against sky) have no dark within a stroke's width.
2. **Lines**: rows holding at least `min_row_px` stroke pixels, merged across small gaps
   (accents, descenders), at least `min_line_px` tall and wider than `min_line_width` of the band.
   No line: no caption on this frame.
3. **Change**: the frame's mask against the mask of the caption on screen: where more than
   `change` of either one's strokes find no stroke within a pixel in the other, the text changed
   (a new cue, or the caption cleared); the background moving behind a box, or compression noise,
   moves a few stroke pixels only.

Each caption (a run of frames with one text) is OCR'd on its third frame (its first two may
catch a renderer's fade) and, when it lasts that long, on its fifteenth, at full resolution, one
crop per line, with the PP-OCRv4 recogniser (`harness.ml.ocr`); the more confident reading is
kept, and of runs merged into one caption, the most confident. A run whose lines read with a mean confidence under
`min_confidence`, or with fewer than 2 letters or digits, was not text (a bright texture that
passed the stroke test) and is dropped. Consecutive runs that read the same (CER <= 0.15) are
one caption: a flash in the band does not split a cue.

The reader reports no events: presence and text are facts, not defects. `harness.analysis` turns
them into `caption_missing`, `caption_timing` and `caption_text` events against a cue file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import cv2
import numpy as np
from pydantic import Field

from harness.detectors.base import Detector, Params
from harness.events import Event
from harness.measure.captions import Shown, cer
from harness.media import Frame

SECOND_READ_FRAME = 15  # 0.6 s into a caption at 25 fps: another picture behind the same text


class CaptionParams(Params):
    band: tuple[float, float] = Field(
        (0.5, 0.97), description="rows searched, as shares of the height: captions sit in the lower half"
    )
    skip_framecode: bool = Field(
        False, description="blank the reference titles' frame-code box (set for captures of a reference title)"
    )
    stroke_px: int = Field(
        9, ge=3, description="top-hat width at 720p (scaled with the height): 2-3 strokes of 5 % caption text"
    )
    min_luma: int = Field(170, description="caption text is light: white or near-white in every style guide")
    min_contrast: int = Field(70, description="how far a stroke stands above its surroundings")
    max_surround: int = Field(
        110, description="legible captions have a dark surround (box, edge or drop shadow) within a stroke or two"
    )
    min_row_px: int = Field(3, description="stroke pixels (half resolution) a row needs to be part of a line")
    min_line_px: int = Field(6, description="line height at half resolution: 12 px at full, a 24 px font")
    min_line_width: float = Field(0.02, description="share of the band width a line spans at least")
    min_density: float = Field(0.08, description="share of a line's box that is stroke: text fills 15-30 %")
    change: float = Field(0.35, description="share of unmatched strokes that means the text changed")
    min_confidence: float = Field(0.8, description="OCR confidence below which a line is not text")
    merge_gap_s: float = Field(0.25, description="runs reading the same this close together are one caption")


@dataclass
class _Run:
    start_s: float
    end_s: float
    frames: int
    mask: np.ndarray | None  # the strokes of the caption on screen (None: no caption)
    lines: list[tuple[int, int, int, int]]
    # full-resolution bands of the frames to read, with their lines: the run's first frame (read
    # only if the run ends before its third), its third, and its fifteenth
    crops: list[tuple[np.ndarray, list[tuple[int, int, int, int]]]] = field(default_factory=list)


def _dilate(m: np.ndarray) -> np.ndarray:
    return cv2.dilate(m.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)


class CaptionReader(Detector):
    name: ClassVar[str] = "captions"
    version: ClassVar[str] = "1"
    consumes = "video"
    Params = CaptionParams

    def __init__(self, params: Any = None):
        super().__init__(params)
        self.p: CaptionParams = self.params  # type: ignore[assignment]
        self.shown: list[Shown] = []
        self.ocr_calls = 0
        self._run: _Run | None = None
        self._kernel: np.ndarray | None = None
        self._geometry: tuple[int, int, int, int] | None = None  # y0, y1 (full res), code box y0, y1
        self._times: list[float] = []

    # ---- per frame -------------------------------------------------------------------------
    def _setup(self, h: int, w: int) -> None:
        y0, y1 = int(self.p.band[0] * h) // 2 * 2, int(self.p.band[1] * h) // 2 * 2
        cy0 = cy1 = 0
        if self.p.skip_framecode:
            from harness.measure.framecode import LAYOUT

            cell = LAYOUT.cell_px(h, w)
            bottom = LAYOUT.bottom_fraction * h
            top = bottom - (2 * LAYOUT.quiet_y + LAYOUT.cell_rows) * cell
            cy0, cy1 = max(y0, int(top - cell)), min(y1, int(bottom + cell) + 1)
        self._geometry = (y0, y1, cy0, cy1)
        k = max(3, int(round(self.p.stroke_px * h / 720 / 2)) | 1)
        self._kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))

    def strokes(self, band: np.ndarray) -> np.ndarray:
        """The stroke mask of a (half-resolution) band."""
        assert self._kernel is not None
        low = cv2.erode(band, self._kernel)  # the darkest pixel around each one
        th = cv2.subtract(band, cv2.dilate(low, self._kernel))  # white top-hat: band - opening
        return (band >= self.p.min_luma) & (th >= self.p.min_contrast) & (low <= self.p.max_surround)

    def lines(self, m: np.ndarray) -> list[tuple[int, int, int, int]]:
        """(top, bottom, left, right) of each text line in a mask, top to bottom."""
        rows = np.count_nonzero(m, axis=1) >= self.p.min_row_px
        if not rows.any():
            return []
        edges = np.flatnonzero(np.diff(np.concatenate(([0], rows.view(np.int8), [0]))))
        runs: list[list[int]] = []
        for a, b in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
            if runs and a - runs[-1][1] <= 2:  # accents and descenders: small gaps join
                runs[-1][1] = b
            else:
                runs.append([a, b])
        out = []
        for a, b in runs:
            if b - a < self.p.min_line_px:
                continue
            cols = np.flatnonzero(m[a:b].any(axis=0))
            if not len(cols):
                continue
            # words are a fraction of a line height apart; a stroke further off is the picture's
            parts = np.split(cols, np.flatnonzero(np.diff(cols) > 1.5 * (b - a)) + 1)
            col_px = m[a:b].sum(axis=0)
            main = max(parts, key=lambda c: int(col_px[c].sum()))
            x0, x1 = int(main[0]), int(main[-1]) + 1
            # the ends: strokes at least 0.4 of the line tall (letters, digits), and what follows them
            # closely, not a speck of the picture next to the box
            tall = np.flatnonzero(self._tall_columns(m[a:b, x0:x1]))
            if len(tall):
                lo, hi = x0 + int(tall[0]), x0 + int(tall[-1]) + 1
                # then back out over strokes a space or less apart (an ellipsis, a leading dash,
                # the foot of a letter its edge broke off)
                step = max(2, int(0.4 * (b - a)))
                for c in main[::-1]:
                    if lo - step <= c < lo:
                        lo = int(c)
                for c in main:
                    if hi <= c < hi + step:
                        hi = int(c) + 1
                x0, x1 = lo, hi
            # text fills a good share of its line box; a lone diagonal highlight does not
            if x1 - x0 < self.p.min_line_width * m.shape[1] or m[a:b, x0:x1].mean() < self.p.min_density:
                continue
            out.append((a, b, x0, x1))
        return out

    @staticmethod
    def _tall_columns(m: np.ndarray) -> np.ndarray:
        """Columns of a line's mask that belong to a connected stroke at least 0.4 of the line tall."""
        n, labels, stats, _ = cv2.connectedComponentsWithStats(m.astype(np.uint8), connectivity=8)
        keep = np.zeros(n, bool)
        keep[1:] = stats[1:, cv2.CC_STAT_HEIGHT] >= 0.4 * m.shape[0]
        return keep[labels].any(axis=0)

    def feed_video(self, frame: Frame) -> None:
        y = frame.luma
        if self._geometry is None:
            self._setup(*y.shape)
        assert self._geometry is not None
        y0, y1, cy0, cy1 = self._geometry
        full = y[y0:y1]
        half = cv2.resize(full, (full.shape[1] // 2, full.shape[0] // 2), interpolation=cv2.INTER_AREA)
        if cy1 > cy0:
            half[(cy0 - y0) // 2 : (cy1 - y0 + 1) // 2] = 0
        m = self.strokes(half)
        found = self.lines(m)
        t = frame.pts_s
        run = self._run
        if not found:
            if run is not None and run.mask is None:
                run.end_s, run.frames = t, run.frames + 1
                return
            self._close()
            self._run = _Run(t, t, 1, None, [])
            return
        if run is not None and run.mask is not None and not self._changed(run.mask, m):
            run.end_s, run.frames = t, run.frames + 1
            if run.frames == 3:  # the first frame's reading is replaced: it may catch a fade
                run.crops = [(full.copy(), found)]
            elif run.frames == SECOND_READ_FRAME:
                run.crops.append((full.copy(), found))
            return
        self._close()
        self._run = _Run(t, t, 1, m, found, [(full.copy(), found)])

    def _changed(self, a: np.ndarray, b: np.ndarray) -> bool:
        na, nb = int(a.sum()), int(b.sum())
        if min(na, nb) == 0:
            return True
        miss_a = int((a & ~_dilate(b)).sum()) / na
        miss_b = int((b & ~_dilate(a)).sum()) / nb
        return max(miss_a, miss_b) > self.p.change

    # ---- reading ---------------------------------------------------------------------------
    def _close(self) -> None:
        run, self._run = self._run, None
        if run is None or run.mask is None or not run.crops:
            return
        best: tuple[float, list[tuple[str, float]]] | None = None
        for band, found in run.crops:  # the more confident of two readings
            read = [
                (t, c)
                for t, c in self.read(band, found)
                if c >= self.p.min_confidence and sum(ch.isalnum() for ch in t) >= 2
            ]
            if read:
                conf = float(np.mean([c for _, c in read])) * min(1.0, len(read) / max(1, len(found)))
                if best is None or conf > best[0]:
                    best = (conf, read)
        if best is None:
            return
        text = "\n".join(t for t, _ in best[1])
        conf = float(np.mean([c for _, c in best[1]]))
        prev = self.shown[-1] if self.shown else None
        if prev is not None and run.start_s - prev.end_s <= self.p.merge_gap_s and cer(prev.text, text) <= 0.15:
            prev.end_s, prev.frames = run.end_s, prev.frames + run.frames
            if conf > prev.confidence:  # the caption's best reading
                prev.text, prev.confidence = text, conf
            return
        self.shown.append(Shown(run.start_s, run.end_s, text, conf, frames=run.frames))

    def read(self, band: np.ndarray, found: list[tuple[int, int, int, int]]) -> list[tuple[str, float]]:
        """OCR of each line (half-resolution boxes) of a full-resolution band: (text, confidence)."""
        from harness.ml.ocr import LineReader

        crops = []
        for a, b, x0, x1 in found:
            a, b, x0, x1 = 2 * a, 2 * b, 2 * x0, 2 * x1
            pad, side = int((b - a) * 0.35) + 2, int((b - a) * 0.6) + 2  # side: a dialogue dash, a full stop
            crops.append(band[max(0, a - pad) : b + pad, max(0, x0 - side) : x1 + side])
        self.ocr_calls += 1
        return [(t.strip(), c) for t, c in LineReader.get().read(crops)]

    def finish(self) -> list[Event]:
        self._close()
        return []

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "ocr_calls": self.ocr_calls}
