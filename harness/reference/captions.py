"""Caption cues of the reference titles and the caption renderer a device draws them with.

Cue files are committed as `reference_content/captions/<title>.vtt` (title time). The renderer
draws a cue the way TV caption renderers do: white DejaVu Sans on a translucent black box,
centred, lines stacked, the box's bottom edge at 79 % of the height, so it sits clear above the
frame-code box (83.1-92 %, `harness.measure.framecode`) and the sync flash. Each cue's patch is
drawn once (Pillow + FreeType) and blended per frame, so the real-time player pays about a
millisecond a frame for it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

from harness.measure.captions import Cue, CueError, load_vtt
from harness.reference.titles import CONTENT_DIR

CAPTION_DIR = CONTENT_DIR / "captions"
FONT_ENV = "VQA_CAPTION_FONT"
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",  # Debian fonts-dejavu-core
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",  # Fedora, Alpine
    "/usr/share/fonts/TTF/DejaVuSans.ttf",  # Arch
)
TEXT_HEIGHT = 0.05  # font size as a share of the picture height: 36 px at 720p, 54 px at 1080p
BOX_BOTTOM = 0.79  # bottom edge of the caption box, share of the height (frame code box starts at 0.831)
BOX_ALPHA = 0.75  # opacity of the black box: the picture shows through, the text stays readable
TEXT_RGB = (255, 255, 255)


class CaptionError(Exception):
    pass


def cue_path(title_id: str) -> Path:
    return CAPTION_DIR / f"{title_id}.vtt"


def title_cues(title_id: str) -> list[Cue] | None:
    """The title's cues, or None when it has no caption file."""
    p = cue_path(title_id)
    if not p.exists():
        return None
    try:
        return load_vtt(p)
    except CueError as e:
        raise CaptionError(str(e)) from None


def font_path() -> Path:
    explicit = os.environ.get(FONT_ENV)
    for c in ([explicit] if explicit else []) + list(FONT_CANDIDATES):
        if Path(c).is_file():
            return Path(c)
    raise CaptionError(
        "no caption font: install DejaVu Sans (Debian: apt-get install fonts-dejavu-core) "
        f"or point ${FONT_ENV} at a .ttf file"
    )


@dataclass(frozen=True)
class Patch:
    y0: int
    x0: int
    color: np.ndarray  # (h, w, 3) uint8 BGR: the box and text as drawn
    alpha: np.ndarray  # (h, w, 1) uint16 0..256: how much of `color` covers the picture


@dataclass(frozen=True)
class CaptionStyle:
    """How a renderer draws captions: the three CEA-708 / EBU-TT-D ways of keeping text legible on
    any picture (a translucent box, a black edge, a drop shadow), the text colour and size."""

    edge: Literal["box", "outline", "shadow"] = "box"
    color: tuple[int, int, int] = TEXT_RGB  # RGB
    text_height: float = TEXT_HEIGHT
    box_alpha: float = BOX_ALPHA
    bottom: float = BOX_BOTTOM


@lru_cache(maxsize=128)
def _patch(text: str, width: int, height: int, style: CaptionStyle = CaptionStyle()) -> Patch:
    from PIL import Image, ImageDraw, ImageFont

    size = max(10, int(round(height * style.text_height)))
    font = ImageFont.truetype(str(font_path()), size)
    lines = text.split("\n")
    pad_x, pad_y, gap = int(size * 0.45), int(size * 0.25), int(size * 0.2)
    edge = max(1, size // 14)  # outline / shadow thickness: 2-3 px at 720p
    boxes = [font.getbbox(line) for line in lines]
    line_h = int(size * 1.2)
    w = int(min(width, max(b[2] - b[0] for b in boxes) + 2 * pad_x))
    h = len(lines) * line_h + (len(lines) - 1) * gap + 2 * pad_y
    fill = Image.new("L", (w, h), 0)  # the text itself
    dark = Image.new("L", (w, h), 0)  # the black edge or shadow
    df, dd = ImageDraw.Draw(fill), ImageDraw.Draw(dark)
    for k, (line, b) in enumerate(zip(lines, boxes, strict=True)):
        xy = (int((w - (b[2] - b[0])) // 2 - b[0]), pad_y + k * (line_h + gap))
        df.text(xy, line, fill=255, font=font)
        if style.edge == "outline":
            dd.text(xy, line, fill=255, font=font, stroke_width=edge, stroke_fill=255)
        elif style.edge == "shadow":
            dd.text((xy[0] + edge, xy[1] + edge), line, fill=255, font=font, stroke_width=edge // 2, stroke_fill=255)
    text_a = np.asarray(fill, np.float32)[:, :, None] / 255.0
    if style.edge == "box":
        under = np.full_like(text_a, style.box_alpha)
    else:
        under = np.asarray(dark, np.float32)[:, :, None] / 255.0
    alpha = under + (1 - under) * text_a  # text opaque over its box, edge or shadow (black)
    color = np.zeros((h, w, 3), np.float32)
    color[:] = np.array(style.color[::-1], np.float32) * (text_a / np.maximum(alpha, 1e-6))
    y1 = int(round(height * style.bottom))
    return Patch(
        max(0, y1 - h),
        (width - w) // 2,
        np.clip(color + 0.5, 0, 255).astype(np.uint8),
        np.round(alpha * 256).astype(np.uint16),
    )


def draw(img: np.ndarray, text: str, style: CaptionStyle | None = None) -> np.ndarray:
    """`img` (BGR uint8) with the caption `text` drawn on it (a new array; `img` is untouched)."""
    h, w = img.shape[:2]
    p = _patch(text, w, h, style or CaptionStyle())
    out = img.copy()
    ph, pw = p.color.shape[:2]
    region = out[p.y0 : p.y0 + ph, p.x0 : p.x0 + pw]
    ph, pw = region.shape[:2]
    a = p.alpha[:ph, :pw]
    blended = (region.astype(np.uint16) * (256 - a) + p.color[:ph, :pw].astype(np.uint16) * a) >> 8
    region[:] = blended.astype(np.uint8)
    return out
