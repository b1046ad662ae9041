"""Frame code: a frame number drawn into every frame of a reference title, and the reader for captures.

Layout (``LAYOUT``; lengths in *cells*, one cell = ``min(h / 45, 0.86 * w / 50)`` px: 16 px at 720p,
24 px at 1080p, so the code scales with the picture)::

    +--------------------- quiet zone: black, 2 cells left and right, 1 cell above and below ---------------------+
    |  [1 0 1]  d23 d22 ... d0 (frame number, MSB first)  c15 ... c0 (CRC-16, MSB first)  [1 0 1]                  |
    +-------------------------------------------------------------------------------------------------------------+

46 cells in one row, each 1 cell wide and 2 cells tall, white (255) for 1 and black (0) for 0, centred horizontally;
the quiet zone's bottom edge is at 92 % of the height, so the whole box spans 83.1-92 % of the height and
19-81 % of a 16:9 width: at least 7 % from every edge, so an overscan crop of a few percent keeps it whole.

Why it survives each capture distortion:

- *Scale 0.5x-2x, overscan crop (strip moves and grows)*: nothing is read at a fixed pixel. The reader finds
  the outer edges of the two guards (a rising edge after >= 1.2 cells of black, a falling edge before as
  much) in a window 6 % of the width wider than the nominal box, and takes the cell pitch as their distance
  / 46; candidate rows at 0, +1, +2 and -1 cells from nominal cover the downward shift of a 4 % crop.
- *Shift of 1-2 px*: edges are located to a fraction of a pixel and only the middle half of each cell is read.
- *H.264 CRF 35, MJPEG, 4:2:0*: cells are large (>= 8 px even at 360p) and pure black/white, so blocking
  and ringing stay far from the threshold; chroma carries nothing (the code is grey), so 4:2:0 cannot hurt it.
- *Full <-> limited range*: the threshold is half-way between the measured white guard cells and the black
  guard cells plus quiet zone, so 16/235 and 0/255 read alike.
- *Misreads*: each cell must be at least 20 % of the guard contrast away from the threshold, the guards and
  quiet zone must read as drawn, and the 16-bit CRC (``crc16``) must match; otherwise ``read`` returns None.
"""

from __future__ import annotations

import binascii
import time
from dataclasses import dataclass

import numpy as np

CRC_POLY = 0x1021  # documents binascii.crc_hqx, which computes it
"""CRC-16/CCITT-FALSE: x^16 + x^12 + x^5 + 1, initial value 0xFFFF, no reflection, no final XOR.

Over the 24-bit number (3 bytes, big-endian): Hamming distance 4 at this length (every 1-, 2- and 3-cell
misread is caught), every odd number of flipped cells is caught (the polynomial has the factor x + 1), every
burst of <= 16 adjacent cells is caught, and anything else passes with probability 2**-16. The non-zero
initial value keeps an all-black (or all-white) data area from validating."""
CRC_INIT = 0xFFFF
MAX_FRAME_NUMBER = (1 << 24) - 1


@dataclass(frozen=True)
class Layout:
    """Where the code sits and how big it is; lengths in cells unless named otherwise."""

    cells_per_height: int = 45  # cell = h / 45: large enough for 0.5x + CRF 35, small enough to fit 46 across
    max_width_fraction: float = 0.86  # narrow pictures shrink the cell so the box keeps 7 % side margins
    guard: tuple[int, ...] = (1, 0, 1)  # at both ends: outer white edges give position and pitch
    data_bits: int = 24
    crc_bits: int = 16
    cell_rows: float = 2.0  # cell height: tall, so a read row a cell off still falls inside the cells
    quiet_x: float = 2.0  # black either side: the edge finder needs >= 1.2 cells of black before/after
    quiet_y: float = 1.0
    bottom_fraction: float = 0.92  # bottom of the quiet zone, as a fraction of the picture height

    @property
    def n_cells(self) -> int:
        return 2 * len(self.guard) + self.data_bits + self.crc_bits

    def cell_px(self, h: int, w: int) -> float:
        """One cell's size in pixels for an h x w picture (the same formula for drawn and captured frames)."""
        return min(h / self.cells_per_height, self.max_width_fraction * w / (self.n_cells + 2 * self.quiet_x))

    def strip_left(self, h: int, w: int) -> float:
        """x of the first cell's left edge."""
        return (w - self.n_cells * self.cell_px(h, w)) / 2

    def strip_center_y(self, h: int, w: int) -> float:
        """y of the middle of the cell row."""
        return self.bottom_fraction * h - (self.quiet_y + self.cell_rows / 2) * self.cell_px(h, w)


LAYOUT = Layout()

# Reader parameters (why each default holds):
_Y_OFFSETS = (0.0, 1.0, 2.0, -1.0)  # candidate rows, in cells from nominal: a 4 % crop moves the row <= +1.9
_BAND = 0.4  # half-height of the averaged band, in cells: stays inside a 2-cell row when a candidate is 0.5 off
_X_SLACK = 0.06  # search this fraction of the width beyond the nominal quiet zone (4 % crop + asymmetry)
_QUIET_RUN = 1.2  # cells of black needed before the left edge / after the right edge (quiet zone is 2)
_WIDTH_RATIO = (0.85, 1.2)  # measured / nominal strip width: crop grows it <= 1.09, scaling is normalised
_MIN_CONTRAST = 96.0  # white - black guard levels, 8-bit: limited range gives 219, blur and JPEG a little less
_MARGIN = 0.2  # each cell must be this fraction of the contrast away from the threshold
_MIN_CELL_PX = 6.0  # below this (captures under ~270 lines) compression blurs cells together
_MAX_PAIRS = 4  # (left, right) edge pairs tried per candidate row


def crc16(number: int) -> int:
    """CRC-16/CCITT-FALSE of the 24-bit ``number`` as 3 big-endian bytes (see ``CRC_POLY``)."""
    return binascii.crc_hqx(number.to_bytes(3, "big"), CRC_INIT)  # crc_hqx is this CRC with poly 0x1021


def cells(frame_number: int) -> np.ndarray:
    """The 46 cell values (1 white, 0 black), left to right, that encode ``frame_number``."""
    if not 0 <= frame_number <= MAX_FRAME_NUMBER:
        raise ValueError(f"frame number {frame_number} is outside 0..{MAX_FRAME_NUMBER}")
    word = (frame_number << LAYOUT.crc_bits) | crc16(frame_number)
    n_bits = LAYOUT.data_bits + LAYOUT.crc_bits
    bits = [(word >> (n_bits - 1 - i)) & 1 for i in range(n_bits)]
    return np.array([*LAYOUT.guard, *bits, *LAYOUT.guard], np.uint8)


def draw(img: np.ndarray, frame_number: int) -> None:
    """Draw the code for ``frame_number`` in place on a BGR (or grey) uint8 picture of any 4:3-or-wider size."""
    h, w = img.shape[:2]
    c = LAYOUT.cell_px(h, w)
    x0, yc = LAYOUT.strip_left(h, w), LAYOUT.strip_center_y(h, w)
    half_box = (LAYOUT.cell_rows / 2 + LAYOUT.quiet_y) * c
    qx0, qx1 = round(x0 - LAYOUT.quiet_x * c), round(x0 + (LAYOUT.n_cells + LAYOUT.quiet_x) * c)
    img[round(yc - half_box) : round(yc + half_box), qx0:qx1] = 0
    y0, y1 = round(yc - LAYOUT.cell_rows / 2 * c), round(yc + LAYOUT.cell_rows / 2 * c)
    edges = np.round(x0 + np.arange(LAYOUT.n_cells + 1) * c).astype(int)
    for j, bit in enumerate(cells(frame_number)):
        if bit:
            img[y0:y1, edges[j] : edges[j + 1]] = 255


def read(luma: np.ndarray) -> int | None:
    """The frame number coded in a captured frame's 8-bit luma plane (h, w), or None if none reads with a valid CRC.

    Only a few bands of ~0.8 cell of rows inside the strip's search window are touched (about 25 k pixels
    at 1080p per candidate row), so a read costs well under a millisecond.
    """
    h, w = luma.shape[:2]
    c = LAYOUT.cell_px(h, w)
    if c < _MIN_CELL_PX:
        return None
    yc = LAYOUT.strip_center_y(h, w)
    x_lo = max(0, int(LAYOUT.strip_left(h, w) - LAYOUT.quiet_x * c - _X_SLACK * w))
    x_hi = w - x_lo
    half = max(1, round(_BAND * c))
    for dy in _Y_OFFSETS:
        y = round(yc + dy * c)
        if y - half < 0 or y + half >= h:
            continue
        band = luma[y - half : y + half + 1, x_lo:x_hi]
        profile = np.add.reduce(band, axis=0, dtype=np.uint32).astype(np.float32) / band.shape[0]
        number = _read_profile(profile, c)
        if number is not None:
            return number
    return None


def _read_profile(p: np.ndarray, c: float) -> int | None:
    """Find the strip's outer guard edges along one averaged row and decode the cells between them."""
    lo, hi = float(p.min()), float(p.max())
    if hi - lo < _MIN_CONTRAST:
        return None
    t = (lo + hi) / 2
    bright = p > t
    n = len(p)
    idx = np.arange(n)
    last_bright = np.maximum.accumulate(np.where(bright, idx, -1))
    next_bright = np.minimum.accumulate(np.where(bright, idx, n)[::-1])[::-1]
    rises = np.flatnonzero(~bright[:-1] & bright[1:]) + 1  # p[i-1] dark, p[i] bright
    falls = np.flatnonzero(bright[:-1] & ~bright[1:])  # p[i] bright, p[i+1] dark
    min_run = _QUIET_RUN * c
    rises = rises[rises - 1 - last_bright[rises - 1] >= min_run]
    falls = falls[next_bright[falls + 1] - falls - 1 >= min_run]
    if len(rises) == 0 or len(falls) == 0:
        return None
    lefts = rises - 0.5 + (t - p[rises - 1]) / (p[rises] - p[rises - 1])
    rights = falls + 0.5 + (p[falls] - t) / (p[falls] - p[falls + 1])
    ratio = np.subtract.outer(rights, lefts) / (LAYOUT.n_cells * c)
    ok = (ratio >= _WIDTH_RATIO[0]) & (ratio <= _WIDTH_RATIO[1])
    if not ok.any():
        return None
    ri, li = np.nonzero(ok)
    order = np.argsort(np.abs(ratio[ri, li] - 1.04))[:_MAX_PAIRS]
    cumsum = np.concatenate(([0.0], np.cumsum(p, dtype=np.float64)))
    for k in order:
        number = _decode_cells(cumsum, float(lefts[li[k]]), float(rights[ri[k]]))
        if number is not None:
            return number
    return None


_GUARD_AT = np.r_[0 : len(LAYOUT.guard), LAYOUT.n_cells - len(LAYOUT.guard) : LAYOUT.n_cells]
_GUARD_VALUES = np.array(LAYOUT.guard * 2, bool)
_BIT_WEIGHTS = 1 << np.arange(LAYOUT.data_bits + LAYOUT.crc_bits - 1, -1, -1, dtype=np.int64)


def _decode_cells(cumsum: np.ndarray, left: float, right: float) -> int | None:
    """Read the middle half of every cell (and one quiet cell either side); check levels, guards and CRC."""
    n = LAYOUT.n_cells
    pitch = (right - left) / n
    centers = left + (np.arange(-1, n + 1) + 0.5) * pitch
    a = np.ceil(centers - 0.25 * pitch - 0.5).astype(int)
    b = np.maximum(np.ceil(centers + 0.25 * pitch - 0.5).astype(int), a + 1)
    if a[0] < 0 or b[-1] >= len(cumsum):
        return None
    values = (cumsum[b] - cumsum[a]) / (b - a)
    quiet, v = values[[0, -1]], values[1:-1]
    guards = v[_GUARD_AT]
    white = float(guards[_GUARD_VALUES].mean())
    black = float(np.concatenate((guards[~_GUARD_VALUES], quiet)).mean())
    contrast = white - black
    if contrast < _MIN_CONTRAST:
        return None
    t, margin = (white + black) / 2, _MARGIN * contrast
    if np.any(np.abs(v - t) < margin) or np.any(quiet > t - margin):
        return None
    bits = v > t
    if not np.array_equal(bits[_GUARD_AT], _GUARD_VALUES):
        return None
    word = int(bits[len(LAYOUT.guard) : n - len(LAYOUT.guard)] @ _BIT_WEIGHTS)
    number, crc = word >> LAYOUT.crc_bits, word & ((1 << LAYOUT.crc_bits) - 1)
    return number if crc16(number) == crc else None


def bench(reads: int = 300) -> dict[str, float]:
    """Print and return ms per ``read`` at 720p and 1080p: coded frames (the common case) and frames without a code.

    Backgrounds are smooth random pictures with grain (natural-image-like; white noise would be a worst case
    of edges that no picture has)."""
    import cv2

    rng = np.random.default_rng(0)
    result: dict[str, float] = {}
    for name, (w, h) in {"720p": (1280, 720), "1080p": (1920, 1080)}.items():
        plain = []
        for _ in range(8):
            smooth = cv2.resize(rng.integers(0, 256, (18, 32), np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
            plain.append(cv2.add(smooth, rng.integers(0, 12, (h, w), np.uint8)))
        coded = [img.copy() for img in plain]
        for i, img in enumerate(coded):
            draw(img, i * 1_000_003 % (MAX_FRAME_NUMBER + 1))
        for kind, frames in (("coded", coded), ("no code", plain)):
            start = time.perf_counter()
            for i in range(reads):
                read(frames[i % len(frames)])
            ms = (time.perf_counter() - start) / reads * 1000
            result[f"{name} {kind}"] = ms
            print(f"framecode.read {name} {kind}: {ms:.3f} ms per frame")
    return result


if __name__ == "__main__":
    bench()
