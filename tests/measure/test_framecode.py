"""Frame code: drawn into real footage, read back through every capture distortion, never misread."""

from __future__ import annotations

import binascii
import io
from collections.abc import Callable
from fractions import Fraction
from functools import cache

import av
import cv2
import numpy as np
import pytest

from harness.measure import framecode
from harness.media import luma_of
from tests.helpers import footage

N = 1000
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
_rng = np.random.default_rng(24)
NUMBERS = [0, framecode.MAX_FRAME_NUMBER, *(int(x) for x in _rng.integers(0, 1 << 24, N - 2))]


@cache
def base(size: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """Real footage (Big Buck Bunny) at ``size``; 30 frames keep the 1080p set at ~190 MB."""
    return tuple(cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in footage("bigbuckbunny.mp4", 120)[::4])


def coded(i: int, size: tuple[int, int]) -> np.ndarray:
    """Frame ``i`` of the footage at ``size`` with NUMBERS[i] drawn in (BGR)."""
    frames = base(size)
    img = frames[i % len(frames)].copy()
    framecode.draw(img, NUMBERS[i])
    return img


def gray(bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)


def check(name: str, lumas: list[np.ndarray] | Callable[[int], np.ndarray], n: int = N) -> None:
    """Read n captured lumas (i -> luma of NUMBERS[i]); >= 99.9 % must read, none wrongly."""
    ok = wrong = 0
    for i in range(n):
        luma = lumas[i] if isinstance(lumas, list) else lumas(i)
        got = framecode.read(luma)
        ok += got == NUMBERS[i]
        wrong += got is not None and got != NUMBERS[i]
    print(f"\nframecode {name}: {ok}/{n} read ({100 * ok / n:.2f} %), {wrong} wrong")
    assert wrong == 0
    assert ok >= 0.999 * n


_INTERPOLATIONS = (cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_CUBIC)


@pytest.mark.parametrize("factor", [0.5, 0.75, 1.5, 2.0])
def test_scaled(factor: float) -> None:
    # downscale from 1080p and 720p alike; upscale from 720p only (2x of 1080p would be 4K: slow to test)
    sizes = list(SIZES.values()) if factor < 1 else [SIZES["720p"]]

    def capture(i: int) -> np.ndarray:
        w, h = sizes[i % len(sizes)]
        size = (round(w * factor), round(h * factor))
        return cv2.resize(gray(coded(i, (w, h))), size, interpolation=_INTERPOLATIONS[i % 3])

    check(f"scale {factor}x", capture)


@pytest.mark.parametrize("crop", [0.02, 0.04])
def test_overscan_crop(crop: float) -> None:
    """Even frames: the same crop on every side; odd frames: a random crop in 0..crop per side."""
    rng = np.random.default_rng(int(crop * 100))

    def capture(i: int) -> np.ndarray:
        w, h = SIZES["720p"] if i % 4 < 2 else SIZES["1080p"]
        left, top, right, bottom = (crop,) * 4 if i % 2 == 0 else rng.uniform(0, crop, 4)
        luma = gray(coded(i, (w, h)))
        cut = luma[round(top * h) : h - round(bottom * h), round(left * w) : w - round(right * w)]
        return cv2.resize(cut, (w, h), interpolation=_INTERPOLATIONS[i % 3])

    check(f"overscan crop {crop:.0%}", capture)


@pytest.mark.parametrize("px", [1, 2])
def test_shifted(px: int) -> None:
    def capture(i: int) -> np.ndarray:
        dx, dy = [(px, 0), (0, px), (-px, px), (px, -px)][i % 4]
        luma = gray(coded(i, SIZES["720p"] if i % 2 else SIZES["1080p"]))
        return np.roll(luma, (dy, dx), axis=(0, 1))

    check(f"shift {px} px", capture)


def h264_roundtrip(frames: list[np.ndarray], crf: int = 35) -> list[np.ndarray]:
    """Encode BGR frames with libx264 (yuv420p, limited range) and return the decoded Y planes."""
    h, w = frames[0].shape[:2]
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=Fraction(30))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    buf.seek(0)
    with av.open(buf) as inp:
        return [luma_of(f) for f in inp.decode(video=0)]


def test_h264_crf35() -> None:
    """Sequences at 360p (400 frames), 540p (250), 720p (200) and 1080p (150), from coded 720p/1080p footage."""
    lumas: list[np.ndarray] = []
    start = 0
    for size, count in [((640, 360), 400), ((960, 540), 250), ((1280, 720), 200), ((1920, 1080), 150)]:
        src = SIZES["1080p"] if size[1] > 720 else SIZES["720p"]
        frames = [cv2.resize(coded(i, src), size, interpolation=cv2.INTER_AREA) for i in range(start, start + count)]
        lumas += h264_roundtrip(frames)
        start += count
    check("H.264 CRF 35", lumas)


def test_chroma_420() -> None:
    def capture(i: int) -> np.ndarray:
        img = coded(i, SIZES["720p"] if i % 2 else SIZES["1080p"])
        return gray(cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2YUV_I420), cv2.COLOR_YUV2BGR_I420))

    check("4:2:0", capture)


_levels = np.arange(256, dtype=np.float64)
RANGE_LUT = {
    "full-to-limited": np.round(16 + _levels * 219 / 255).astype(np.uint8),
    "limited-to-full": np.clip(np.round((_levels - 16) * 255 / 219), 0, 255).astype(np.uint8),
}


@pytest.mark.parametrize("direction", list(RANGE_LUT))
def test_range_conversion(direction: str) -> None:
    def capture(i: int) -> np.ndarray:
        return RANGE_LUT[direction][gray(coded(i, SIZES["720p"] if i % 2 else SIZES["1080p"]))]

    check(f"range {direction}", capture)


def test_mjpeg() -> None:
    def capture(i: int) -> np.ndarray:
        img = coded(i, SIZES["720p"] if i % 4 else SIZES["1080p"])
        _, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 75])
        return gray(cv2.imdecode(jpg, cv2.IMREAD_COLOR))

    check("MJPEG q75", capture)


def test_capture_chain() -> None:
    """Several at once, as a real rig does: asymmetric crop, scale to 540p, limited range, MJPEG."""
    rng = np.random.default_rng(7)

    def capture(i: int) -> np.ndarray:
        w, h = SIZES["1080p"]
        left, top, right, bottom = rng.uniform(0, 0.04, 4)
        img = coded(i, (w, h))[round(top * h) : h - round(bottom * h), round(left * w) : w - round(right * w)]
        img = cv2.resize(img, (960, 540), interpolation=cv2.INTER_AREA)
        img = RANGE_LUT["full-to-limited"][img]
        _, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 75])
        return gray(cv2.imdecode(jpg, cv2.IMREAD_COLOR))

    check("crop + 540p + limited + MJPEG", capture, n=300)


def test_frames_without_code_read_none() -> None:
    clips = footage("bigbuckbunny.mp4", 120) + footage("bikes.mp4", 120)
    lumas = [gray(f) for f in clips]
    lumas += [cv2.resize(y, (1920, 1080)) for y in lumas[::6]] + [cv2.resize(y, (640, 360)) for y in lumas[::6]]
    rng = np.random.default_rng(5)
    lumas += [np.zeros((h, w), np.uint8) for w, h in SIZES.values()]
    lumas += [np.full((720, 1280), 16, np.uint8), np.full((720, 1280), 255, np.uint8)]
    lumas += [rng.integers(0, 256, (720, 1280), np.uint8) for _ in range(20)]
    lumas += [np.where(rng.random((720, 1280)) < 0.5, 0, 255).astype(np.uint8) for _ in range(20)]
    assert [framecode.read(y) for y in lumas] == [None] * len(lumas)


def test_severe_damage_reads_none_or_right_never_wrong() -> None:
    """Far worse than a capture (JPEG q1 at 0.25x, 0.1x and back, blur, grain, a smeared run of cells): never wrong."""
    rng = np.random.default_rng(11)
    w, h = SIZES["720p"]
    y = round(framecode.LAYOUT.strip_center_y(h, w))
    counts = {"read": 0, "none": 0, "wrong": 0}
    for i in range(600):
        img = gray(coded(i, (w, h)))
        kind = i % 5
        if kind == 0:
            _, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 1])
            img = cv2.resize(cv2.resize(cv2.imdecode(jpg, 0), (320, 180), interpolation=cv2.INTER_AREA), (w, h))
        elif kind == 1:
            small = (int(rng.integers(120, 200)), int(rng.integers(70, 110)))
            img = cv2.resize(cv2.resize(img, small, interpolation=cv2.INTER_AREA), (w, h))
        elif kind == 2:
            img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(6, 14)))
        elif kind == 3:
            img = np.clip(img + rng.normal(0, float(rng.uniform(100, 200)), img.shape), 0, 255).astype(np.uint8)
        else:
            x = int(rng.integers(272, 1000))
            img[y - 20 : y + 20, x : x + int(rng.integers(8, 60))] = int(rng.integers(0, 256))
        got = framecode.read(img)
        counts["read" if got == NUMBERS[i] else "none" if got is None else "wrong"] += 1
    print(f"\nframecode severe damage (600 frames): {counts}")
    assert counts["wrong"] == 0
    assert counts["none"] > 100  # the damage does defeat the reader: the test exercises rejection


def test_flipped_cell_is_rejected_not_misread() -> None:
    """Any single data/CRC cell inverted (a 1-cell misread) and any all-black/all-white data area read None."""
    w, h = SIZES["720p"]
    c = framecode.LAYOUT.cell_px(h, w)
    x0, yc = framecode.LAYOUT.strip_left(h, w), framecode.LAYOUT.strip_center_y(h, w)
    rows = slice(round(yc - c), round(yc + c))
    g = len(framecode.LAYOUT.guard)
    for number in (0, framecode.MAX_FRAME_NUMBER, 0x5A5A5A):
        for j in range(g, framecode.LAYOUT.n_cells - g):
            img = gray(coded(0, (w, h)))
            framecode.draw(img, number)
            cols = slice(round(x0 + j * c), round(x0 + (j + 1) * c))
            img[rows, cols] = 255 - img[rows, cols]
            assert framecode.read(img) is None, (number, j)
    for level in (0, 255):
        img = gray(coded(0, (w, h)))
        img[rows, round(x0 + g * c) : round(x0 + (framecode.LAYOUT.n_cells - g) * c)] = level
        assert framecode.read(img) is None


def test_crc_is_ccitt_false_and_numbers_round_trip_at_other_sizes() -> None:
    assert binascii.crc_hqx(b"123456789", 0xFFFF) == 0x29B1  # the CRC-16/CCITT-FALSE check value
    assert framecode.crc16(0x313233) == binascii.crc_hqx(b"123", 0xFFFF)
    for w, h in [(640, 480), (720, 576), (3840, 2160), (2560, 1080)]:
        img = np.full((h, w, 3), 200, np.uint8)
        framecode.draw(img, 4242)
        assert framecode.read(gray(img)) == 4242
    with pytest.raises(ValueError):
        framecode.draw(img, 1 << 24)
