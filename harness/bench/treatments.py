"""Picture treatments of the benchmark's sources, one frame (or one stream) at a time: a fade
through black, grain, credits or a ticker, letterbox or pillarbox bars, a TV app's graphics, and the
capture chain's own treatments (range, a scaler, x264 or MJPEG recompression). Each is deterministic
from its arguments and a seed; `harness.bench.sources` applies them in the order VideoSpec lists."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction
from typing import Any

import av
import cv2
import numpy as np

# --- per frame: fades, grain, bars -------------------------------------------------------------


def faded(f: np.ndarray, t: float, at_s: float, half_s: float, every_s: float | None = None) -> np.ndarray:
    """The frame at time t of a fade out and back in through black centred at `at_s` (and every
    `every_s` after it): black at the centre, untouched `half_s` or more away from it."""
    centre = at_s
    if every_s is not None:
        centre += max(0, round((t - at_s) / every_s)) * every_s
    d = abs(t - centre)
    if d < half_s:
        f = (f.astype(np.float32) * (d / half_s)).round().astype(np.uint8)
    return f


def grained(f: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian grain of `sigma` 8-bit levels, the same on the three channels of a pixel."""
    return np.clip(f.astype(np.float32) + rng.normal(0, sigma, f.shape[:2])[..., None], 0, 255).astype(np.uint8)


def barred(f: np.ndarray, letterbox: float, pillarbox: float) -> np.ndarray:
    """Black bars: top and bottom each `letterbox` of the height, left and right `pillarbox` of the width."""
    f = f.copy()
    h, w = f.shape[:2]
    b = int(round(h * letterbox))
    f[:b], f[h - b :] = 0, 0
    b = int(round(w * pillarbox))
    f[:, :b], f[:, w - b :] = 0, 0
    return f


# --- graphics: credits, ticker, a TV app's chrome ------------------------------------------

_WORDS = (
    "amber atlas border bright city coast crown dawn desert echo edge empire falcon field fire forest "
    "frontier garden ghost gold harbour heart hidden horizon island iron jungle kingdom lake legacy light "
    "lost midnight mirror moon mountain night north ocean orbit paper pearl planet quiet rain river road "
    "secret shadow signal silver sky snow star stone storm summer sun tide tower valley velvet wild winter"
).split()
_FIRST = "Ada Ben Chloe Dev Elena Farid Grace Hugo Iris Jonas Kofi Lena Mateo Nina Omar Priya Quinn Rosa Tara".split()
_LAST = "Abebe Berg Costa Duval Eriksen Fischer Garcia Haddad Ito Jensen Kowalski Laine Moreau Novak Okafor".split()
_ROLES = "Director Producer Editor Music Camera Sound Design Writer Casting Lighting Colourist Stunts".split()
_MENU = "Home Live TV Movies Series Sports Kids Music News Recordings Apps Search Settings".split()
_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX)


def _title(rng: np.random.Generator, k: int) -> str:
    return " ".join(str(w) for w in rng.choice(_WORDS, k)).title()


def _person(rng: np.random.Generator) -> str:
    return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"


def _color(rng: np.random.Generator, lo: int, hi: int) -> tuple[int, int, int]:
    b, g, r = (int(v) for v in rng.integers(lo, hi, 3))
    return b, g, r


def _hms(s: float) -> str:
    s = int(s)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def _rounded(img: np.ndarray, box: tuple[int, int, int, int], r: int, color: Any) -> None:
    x0, y0, x1, y1 = box
    r = max(0, min(r, (x1 - x0) // 2, (y1 - y0) // 2))
    cv2.rectangle(img, (x0 + r, y0), (x1 - r, y1), color, -1)
    cv2.rectangle(img, (x0, y0 + r), (x1, y1 - r), color, -1)
    if r:
        for cx, cy in ((x0 + r, y0 + r), (x1 - r, y0 + r), (x0 + r, y1 - r), (x1 - r, y1 - r)):
            cv2.circle(img, (cx, cy), r, color, -1, cv2.LINE_AA)


class _Layer:
    """Graphics over a picture: a colour plane and an opacity plane, blended in one step."""

    def __init__(self, w: int, h: int) -> None:
        self.bgr = np.zeros((h, w, 3), np.uint8)
        self.alpha = np.zeros((h, w), np.uint8)

    def box(self, box: tuple[int, int, int, int], color: tuple[int, int, int], opacity: float, r: int = 0) -> None:
        _rounded(self.bgr, box, r, color)
        _rounded(self.alpha, box, r, int(255 * opacity))

    def text(self, s: str, org: tuple[int, int], scale: float, color: tuple[int, int, int], font: int) -> None:
        thick = max(1, int(round(scale * 1.6)))
        cv2.putText(self.bgr, s, org, font, scale, color, thick, cv2.LINE_AA)
        cv2.putText(self.alpha, s, org, font, scale, 255, thick, cv2.LINE_AA)

    def over(self, frame: np.ndarray, region: np.ndarray) -> np.ndarray:
        a = (self.alpha.astype(np.float32) * (region / 255.0))[..., None]
        return (frame + (self.bgr.astype(np.float32) - frame) * a).round().astype(np.uint8)


class UiOverlay:
    """A TV app's graphics, its text and colours drawn from a seed, animated by the clip time.
    Everything is drawn inside `boxes` (the region is enforced), so the rest of the picture is untouched."""

    def __init__(self, style: str, w: int, h: int, seed: int) -> None:
        rng = np.random.default_rng([seed, 3])
        self.style, self.w, self.h, self.k = style, w, h, h / 360
        self.font = int(_FONTS[int(rng.integers(len(_FONTS)))])
        self.accent = _color(rng, 60, 256)
        self.title, self.sub = _title(rng, 3), f"S{rng.integers(1, 9)} E{rng.integers(1, 13)}  {_title(rng, 2)}"
        self.length_s = float(rng.uniform(20, 140)) * 60
        self.pos_s = float(rng.uniform(0.05, 0.8)) * self.length_s
        self.clock_min = int(rng.integers(0, 24 * 60))
        self.logo = "".join(str(c) for c in rng.choice(list("ABCDEFGHKMNPRSTVWXZ"), 3))
        self.items = [str(x) for x in rng.choice(_MENU, 7, replace=False)]
        self.tiles = [(_color(rng, 30, 230), _title(rng, 2)) for _ in range(4)]
        if style == "player":  # the chrome, a clock, a channel logo
            boxes = [(0, 0.70, 1, 1), (0.03, 0.04, 0.20, 0.13), (0.84, 0.04, 0.97, 0.13)]
        else:  # a top bar, the menu list, a row of tiles
            boxes = [(0, 0, 1, 0.11), (0.03, 0.15, 0.30, 0.88), (0.34, 0.58, 0.97, 0.90)]
        self.boxes = [(round(a * w), round(b * h), round(c * w), round(d * h)) for a, b, c, d in boxes]
        self.region = np.zeros((h, w), np.float32)
        for x0, y0, x1, y1 in self.boxes:
            self.region[y0:y1, x0:x1] = 1.0

    def clock(self, t: float) -> str:
        m = (self.clock_min + int(t // 60)) % (24 * 60)
        return f"{m // 60:02d}:{m % 60:02d}"

    def layer(self, t: float) -> _Layer:
        lay, k, white = _Layer(self.w, self.h), self.k, (245, 245, 245)
        if self.style == "player":
            phase = t % 10.0  # the chrome shows for 6 s of every 10, fading in and out in 0.3 s
            v = float(np.clip(min(phase, 6.0 - phase) / 0.3, 0, 1))
            (x0, y0, x1, y1), clock, logo = self.boxes
            lay.bgr[y0:y1, x0:x1] = 12
            lay.alpha[y0:y1, x0:x1] = np.linspace(0, 210, y1 - y0)[:, None].astype(np.uint8)
            lay.text(self.title, (int(0.05 * self.w), int(0.80 * self.h)), 0.75 * k, white, self.font)
            lay.text(self.sub, (int(0.05 * self.w), int(0.86 * self.h)), 0.45 * k, (190, 190, 190), self.font)
            pos = self.pos_s + t
            bx0, bx1, by = int(0.05 * self.w), int(0.76 * self.w), int(0.915 * self.h)
            xp = bx0 + int((bx1 - bx0) * min(1.0, pos / self.length_s))
            lay.box((bx0, by - int(3 * k), bx1, by + int(3 * k)), (90, 90, 90), 0.9, int(3 * k))
            lay.box((bx0, by - int(3 * k), xp, by + int(3 * k)), self.accent, 1.0, int(3 * k))
            cv2.circle(lay.bgr, (xp, by), int(7 * k), white, -1, cv2.LINE_AA)
            cv2.circle(lay.alpha, (xp, by), int(7 * k), 255, -1, cv2.LINE_AA)
            lay.text(_hms(pos), (int(0.79 * self.w), by + int(5 * k)), 0.45 * k, white, self.font)
            tri = np.array([[0.92, 0.78], [0.92, 0.84], [0.955, 0.81]]) * [self.w, self.h]
            cv2.fillPoly(lay.bgr, [tri.astype(np.int32)], white, cv2.LINE_AA)
            cv2.fillPoly(lay.alpha, [tri.astype(np.int32)], 255, cv2.LINE_AA)
            lay.box(clock, (20, 20, 20), 0.6, int(8 * k))
            lay.text(self.clock(t), (clock[0] + int(10 * k), clock[3] - int(9 * k)), 0.6 * k, white, self.font)
            lay.alpha[:] = (lay.alpha * v).astype(np.uint8)  # the logo stays while the chrome comes and goes
            lay.box(logo, self.accent, 0.55, int(6 * k))
            lay.text(self.logo, (logo[0] + int(9 * k), logo[3] - int(9 * k)), 0.65 * k, white, self.font)
            return lay
        bar, panel, tiles = self.boxes
        lay.box(bar, (28, 22, 20), 0.85)
        lay.text(self.logo + " TV", (bar[0] + int(14 * k), bar[3] - int(12 * k)), 0.7 * k, self.accent, self.font)
        lay.text(self.clock(t), (bar[2] - int(70 * k), bar[3] - int(12 * k)), 0.6 * k, white, self.font)
        lay.box(panel, (48, 34, 26), 0.8, int(12 * k))
        row = (panel[3] - panel[1] - int(16 * k)) // len(self.items)
        hi = int(t / 1.5) % len(self.items)
        for j, item in enumerate(self.items):
            y = panel[1] + int(8 * k) + j * row
            if j == hi:
                lay.box((panel[0] + int(6 * k), y, panel[2] - int(6 * k), y + row - 2), self.accent, 0.9, int(8 * k))
            lay.text(item, (panel[0] + int(16 * k), y + int(row * 0.68)), 0.55 * k, white, self.font)
        gap = int(8 * k)
        tw = (tiles[2] - tiles[0] - 3 * gap) // 4
        focus = int(t / 2.0) % 4
        for j, (color, label) in enumerate(self.tiles):
            x0 = tiles[0] + j * (tw + gap)
            box = (x0 + 2, tiles[1] + 2, x0 + tw - 2, tiles[3] - int(26 * k))
            lay.box(box, color, 1.0, int(6 * k))
            while label and cv2.getTextSize(label, self.font, 0.4 * k, 1)[0][0] > tw - 8:
                label = label[:-1]
            lay.text(label, (x0 + 4, tiles[3] - int(8 * k)), 0.4 * k, white, self.font)
            if j == focus:
                cv2.rectangle(lay.bgr, box[:2], box[2:], white, 2)
                cv2.rectangle(lay.alpha, box[:2], box[2:], 255, 2)
        return lay

    def over(self, frame: np.ndarray, t: float) -> np.ndarray:
        return self.layer(t).over(frame, self.region)


class ScrollText:
    """Credits rolling up (role and name lines, section headings) or a news ticker running left,
    drawn once into a strip from a seed and shown through a window that moves with the clip time.
    `over`: black or picture behind the text; `direction`: up (credits) or left (a ticker)."""

    def __init__(self, over: str, direction: str, speed_px_s: float, w: int, h: int, seed: int) -> None:
        rng = np.random.default_rng([seed, 5])
        self.on_black, self.up = over == "black", direction == "up"
        self.speed_px_s, self.w, self.h = speed_px_s, w, h
        font, k = int(_FONTS[int(rng.integers(len(_FONTS)))]), h / 360
        if self.up:
            lines: list[tuple[str, float]] = []
            for _ in range(6):
                lines += [("", 0.5), (_title(rng, 2).upper(), 0.75), ("", 0.5)]
                for _ in range(int(rng.integers(4, 9))):
                    lines += [(str(rng.choice(_ROLES)), 0.45), (_person(rng), 0.65)]
            step = int(30 * k)  # the roll repeats without a gap: a screen is never without a line
            self.mask = np.zeros((step * len(lines), w), np.uint8)
            for j, (s, sc) in enumerate(lines):
                (tw, _), _ = cv2.getTextSize(s, font, sc * k, 1)
                cv2.putText(self.mask, s, ((w - tw) // 2, step * j + step // 2), font, sc * k, 255, 1, cv2.LINE_AA)
        else:
            self.band = (int(0.85 * h), int(0.95 * h))
            text = "   +++   ".join(f"{_title(rng, 3)}: {_title(rng, 4).lower()}" for _ in range(8)) + "   +++   "
            sc = 0.6 * k
            (tw, _), _ = cv2.getTextSize(text, font, sc, 1)
            self.mask = np.zeros((self.band[1] - self.band[0], tw), np.uint8)
            cv2.putText(self.mask, text, (0, int(0.72 * self.mask.shape[0])), font, sc, 255, 1, cv2.LINE_AA)
        self.halo = cv2.dilate(self.mask, np.ones((3, 3), np.uint8))

    def over(self, frame: np.ndarray, t: float) -> np.ndarray:
        shift = int(t * self.speed_px_s)
        out = np.zeros_like(frame, np.float32) if self.on_black else frame.astype(np.float32)
        if self.up:
            rows = (shift + np.arange(self.h)) % self.mask.shape[0]
            m, halo, y0 = self.mask[rows], self.halo[rows], 0
        else:
            cols = (shift + np.arange(self.w)) % self.mask.shape[1]
            m, halo, y0 = self.mask[:, cols], self.halo[:, cols], self.band[0]
            out[y0 : self.band[1]] = out[y0 : self.band[1]] * 0.15 + np.array([90, 30, 20], np.float32) * 0.85
        y1 = y0 + m.shape[0]
        ink, edge = m.astype(np.float32)[..., None] / 255, halo.astype(np.float32)[..., None] / 255
        out[y0:y1] *= 1 - 0.6 * edge  # a dark edge keeps the text legible over the picture
        out[y0:y1] += (235 - out[y0:y1]) * ink
        return out.round().astype(np.uint8)


# --- the capture chain -------------------------------------------------------------------------

RANGE_LUT = {
    "limited": np.round(16 + np.arange(256) * (219 / 255)).astype(np.uint8),
    "full": np.clip(np.round((np.arange(256) - 16) * (255 / 219)), 0, 255).astype(np.uint8),
}


def range_converted(f: np.ndarray, to: str) -> np.ndarray:
    """A range mismatch: limited squeezes 0-255 to 16-235, full stretches 16-235 back to 0-255."""
    return cv2.LUT(f, RANGE_LUT[to])


def rescaled(f: np.ndarray, factor: float) -> np.ndarray:
    """A scaler in the chain: down by `factor` and back up, bilinear both ways."""
    h, w = f.shape[:2]
    small = cv2.resize(f, (max(2, round(w / factor)), max(2, round(h / factor))), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def recompressed(
    frames: Iterable[np.ndarray], fps: float, codec: str, crf: int | None = None, quality: int | None = None
) -> Iterator[np.ndarray]:
    """Frames through one more encoder and its decoder: MJPEG per frame at `quality`, or an x264
    stream at `crf`."""
    if codec == "mjpeg":
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality or 75)]
        params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422]
        for f in frames:
            out = cv2.imdecode(cv2.imencode(".jpg", f, params)[1], cv2.IMREAD_COLOR)
            assert out is not None
            yield out
        return
    dec: Any = av.CodecContext.create("h264", "r")
    enc: Any = None
    for i, f in enumerate(frames):
        if enc is None:
            enc = av.CodecContext.create("libx264", "w")
            enc.height, enc.width = f.shape[:2]
            rate = Fraction(fps).limit_denominator(1001)
            enc.pix_fmt, enc.time_base, enc.framerate = "yuv420p", 1 / rate, rate
            # no MB-tree: a capture encoder has no look-ahead to spare, and x264's MB-tree reads
            # uninitialised memory when the width is not a multiple of 128 (320, 480: 180p, 270p),
            # so its output would change from run to run
            enc.options = {"crf": str(crf), "preset": "veryfast", "x264-params": "mbtree=0"}
        vf = av.VideoFrame.from_ndarray(f, format="bgr24")
        vf.pts = i
        for p in enc.encode(vf):
            yield from (d.to_ndarray(format="bgr24") for d in dec.decode(p))
    for p in enc.encode(None) if enc is not None else []:
        yield from (d.to_ndarray(format="bgr24") for d in dec.decode(p))
    yield from (d.to_ndarray(format="bgr24") for d in dec.decode(None))
