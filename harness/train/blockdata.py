"""Training data for the block-corruption model, made from the benchmark's *train* sources only.

Every sample is one picture as the model sees it (luma, INPUT_HEIGHT rows, width a multiple of the
cell) with a label per 16x16 cell (1 damaged, 0 clean, 255 neither: see
`harness.impairments.blocks.damage_labels`) and a frame label. Three kinds of pictures:

- **transmission damage**: the source encoded as a service would (x264, slices, GOP 1-2 s, B-frames
  or not, CRF 18-32, in MPEG-TS), TS packets lost in Gilbert-Elliott bursts and hit by bit noise,
  decoded with one of four concealment settings; labels from the difference to the clean decode
  of the same stream, paired by timestamp. Encoded at three picture sizes (180p shown upscaled,
  360p, 720p shown downscaled), so macroblocks reach the model at 32, 16 and 8 pixels.
- **pixel-domain damage**: `harness.impairments.blocks.block_corruption` (displaced, solid,
  smeared macroblocks) at the same three sizes.
- **hard negatives**: clean pictures of every source through the capture chain's own treatments
  (x264 CRF 12-35, MJPEG quality 50-95, a rescale, limited/full range), all labelled clean.

Capture-chain treatments are also applied to damaged pictures (after labelling), so the model does
not learn that compression means clean. The set is cached under
`reference_content/media/train/<digest>/` by the digest of its recipe (this module's version, the
size, seed and the bench recipe's train sources).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from harness.bench.sources import CONTENT_DIR, MEDIA_ENV, BenchRecipe, ClipFormat, SourceSpec, render_video
from harness.detectors.block import CELL, INPUT_HEIGHT
from harness.detectors.block import model_input as to_model
from harness.impairments.bitstream import bitstream_corruption
from harness.impairments.blocks import block_corruption, damage_labels, damaged_share, frame_label
from harness.impairments.common import VideoClip
from harness.impairments.transport import EC_VARIANTS, LossModel, damage_ts, decode_ts, encode_ts, video_packets

DATA_VERSION = "9"  # 9: + bitstream jobs, more bit noise in TS jobs; 8: suite titles as clean; 6: stamps left out
Size = Literal["quick", "full"]

SUITE_TITLES = ("bbb-720p25", "bikes-720p25")
KINDS = ("transport", "bitstream", "pixel", "clean", "title")
# Encoded picture sizes (width, height) per 16:9 source and how each reaches the model.
SCALES = {"180p": (320, 180), "360p": (640, 360), "720p": (1280, 720)}


@dataclass(frozen=True)
class Job:
    source: SourceSpec
    kind: Literal["transport", "bitstream", "pixel", "clean", "title"]
    scale: str
    seed: int
    title: str = ""  # kind "title": a suite reference title (its own graphics, letterbox, encode), clean


@dataclass
class Samples:
    images: np.ndarray  # (n, INPUT_HEIGHT, W) uint8 luma
    labels: np.ndarray  # (n, INPUT_HEIGHT // CELL, W // CELL) uint8: 0, 1, 255
    frame: np.ndarray  # (n,) uint8: 1 corrupted, 0 clean, 255 neither
    group: np.ndarray  # (n,) int16: job index (samples of one job are correlated)

    def __len__(self) -> int:
        return len(self.images)

    @classmethod
    def concat(cls, parts: list[Samples]) -> Samples:
        return cls(*(np.concatenate([getattr(p, k) for p in parts]) for k in ("images", "labels", "frame", "group")))

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, images=self.images, labels=self.labels, frame=self.frame, group=self.group)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Samples:
        with np.load(path) as z:
            return cls(z["images"], z["labels"], z["frame"], z["group"])


# --- capture-chain treatments ----------------------------------------------------------------


def _x264(lumas: list[np.ndarray], crf: int) -> list[np.ndarray]:
    frames = [cv2.cvtColor(y, cv2.COLOR_GRAY2BGR) for y in lumas]
    dec = decode_ts(encode_ts(frames, 25.0, crf=crf, gop_s=2.0, slices=1), "guess_mvs+deblock")
    out = [dec[k] for k in sorted(dec)]
    return [
        o[: y.shape[0], : y.shape[1]] if o.shape == y.shape else cv2.resize(o, y.shape[::-1])
        for o, y in zip(out, lumas, strict=False)
    ]


def treat(lumas: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """One random capture-chain treatment for a run of pictures (or none)."""
    k = rng.choice(["none", "x264", "mjpeg", "rescale", "range"], p=[0.3, 0.25, 0.2, 0.15, 0.1])
    if k == "x264":
        out = _x264(lumas, int(rng.integers(12, 36)))
        return out if len(out) == len(lumas) else lumas
    if k == "mjpeg":
        q = int(rng.integers(50, 96))
        out = []
        for y in lumas:
            ok, buf = cv2.imencode(".jpg", y, [cv2.IMWRITE_JPEG_QUALITY, q])
            assert ok
            out.append(np.asarray(cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE), np.uint8))
        return out
    if k == "rescale":
        f = float(rng.uniform(0.5, 0.85))
        h, w = lumas[0].shape
        small = (max(16, int(w * f)), max(16, int(h * f)))
        return [
            cv2.resize(cv2.resize(y, small, interpolation=cv2.INTER_AREA), (w, h), interpolation=cv2.INTER_LINEAR)
            for y in lumas
        ]
    if k == "range":
        if rng.random() < 0.5:  # full -> limited: 16..235
            return [(16 + y.astype(np.float32) * (219 / 255)).round().astype(np.uint8) for y in lumas]
        return [np.clip((y.astype(np.float32) - 16) * (255 / 219), 0, 255).round().astype(np.uint8) for y in lumas]
    return lumas


# --- one job -----------------------------------------------------------------------------------


def _render(src: SourceSpec, scale: str, n_frames: int, seed: int, duration_s: float) -> list[np.ndarray]:
    """n_frames of the source's picture at one scale, from a point drawn in its full clip (so that
    fades and cuts the recipe places in the clip can fall in the window)."""
    w, h = SCALES[scale]
    fmt = ClipFormat(width=w, height=h, fps=25.0, duration_s=max(duration_s, n_frames / 25.0 + 0.1))
    frames = render_video(src.video, fmt, seed)
    start = int(np.random.default_rng(seed).integers(0, len(frames) - n_frames + 1))
    return frames[start : start + n_frames]


def _impaired(
    frames: list[np.ndarray],
    impair: Callable[..., tuple[VideoClip, object]],
    rng: np.random.Generator,
    seed: int,
    start_div: int,
    min_len: float,
    min_severity: float,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Clean and impaired luma of one library impairment over a window drawn from `rng`: starting in
    the first 1/start_div of the frames, covering min_len..all of the rest, severity min_severity..1."""
    n = len(frames)
    a = int(rng.integers(0, n // start_div))
    dur = (n - a) / 25.0 * float(rng.uniform(min_len, 1.0))
    clip, _ = impair(VideoClip(frames, 25.0), a / 25.0, dur, float(rng.uniform(min_severity, 1.0)), seed)
    return [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in frames], [
        cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in clip.frames
    ]


def _stamp(frames: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """The reference titles' own graphics (the frame-code strip, the A/V sync flash box) drawn on the
    pictures before any damage: block-like patterns that are content, never corruption."""
    from harness.measure import framecode, sync

    first = int(rng.integers(0, 50_000))
    out = []
    for i, f in enumerate(frames):
        g = f.copy()
        framecode.draw(g, first + i)
        sync.draw_flash(g, bool((i // 12) % 2) and rng.random() < 0.5)
        out.append(g)
    return out


def _stamp_cells(shape: tuple[int, ...], cells: tuple[int, ...]) -> np.ndarray:
    """The model cells the stamped graphics can touch (a picture of zeros and one of 255s, stamped
    with two codes and the flash on and off: every pixel that changes in any of them)."""
    from harness.measure import framecode, sync

    h, w = shape[:2]
    touched = np.zeros((h, w), bool)
    for base in (0, 255):
        for n, on in ((0, True), (0x5A5A, False), (0xFFFF, True)):
            g = np.full((h, w, 3), base, np.uint8)
            framecode.draw(g, n)
            sync.draw_flash(g, on)
            touched |= (g != base).any(axis=2)
    small = to_model(touched.astype(np.uint8) * 255) > 0
    rows, cols = cells
    return np.asarray(small[: rows * CELL, : cols * CELL].reshape(rows, CELL, cols, CELL).any(axis=(1, 3)))


def _display(luma: np.ndarray) -> np.ndarray:
    return to_model(luma)


def run_job(job: Job, n_frames: int, keep: int, duration_s: float = 8.0) -> Samples:
    """Render, damage, decode and label one job; keep up to `keep` pictures (damaged ones first)."""
    rng = np.random.default_rng(job.seed)
    if job.kind == "title":
        return _title_job(job, n_frames, keep, rng)
    frames = _render(job.source, job.scale, n_frames, job.seed, duration_s)
    stamped = rng.random() < 0.35
    if stamped:
        frames = _stamp(frames, rng)
    cleans: list[np.ndarray] = []
    damaged: list[np.ndarray] = []
    if job.kind == "transport":
        ts = encode_ts(
            frames,
            25.0,
            crf=int(rng.integers(18, 33)),
            gop_s=float(rng.choice([1.0, 1.5, 2.0])),
            slices=int(rng.choice([1, 2, 4, 8])),
            bframes=int(rng.choice([0, 0, 2, 3])),
        )
        n_video = video_packets(ts)
        model = LossModel.for_severity(float(rng.uniform(0.0, 1.0)), rng, n_video)
        bad, _ = damage_ts(ts, model, rng, skip_s_packets=int(rng.integers(10, max(11, n_video // 6))))
        ec = str(rng.choice(EC_VARIANTS))
        ref = decode_ts(ts, ec)
        got = decode_ts(bad, ec)
        for pts in sorted(set(ref) & set(got)):
            cleans.append(ref[pts])
            damaged.append(got[pts])
    elif job.kind == "bitstream":  # the impairment library's own H.264 damage (corrupted and dropped packets)
        cleans, damaged = _impaired(frames, bitstream_corruption, rng, job.seed, 4, 0.5, 0.2)
    elif job.kind == "pixel":
        cleans, damaged = _impaired(frames, block_corruption, rng, job.seed, 3, 0.4, 0.05)
    else:
        cleans = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in frames]
        damaged = cleans
    c_in = [_display(y) for y in cleans]
    d_in = [_display(y) for y in damaged]
    labels = [damage_labels(c, d, CELL) for c, d in zip(c_in, d_in, strict=True)]
    if stamped:  # a stale frame code under damage differs from the clean one but is no corruption
        cover = _stamp_cells(frames[0].shape[:2], labels[0].shape)
        for lab in labels:
            lab[cover & (lab == 1)] = 255
    d_in = treat(d_in, rng)
    flabel = np.array([frame_label(lab) for lab in labels], np.uint8)
    order = np.argsort(
        -np.array([damaged_share(lab) for lab in labels]) - rng.random(len(labels)) * 1e-3, kind="stable"
    )
    pos = [int(i) for i in order if flabel[i] == 1]
    neg = [int(i) for i in order if flabel[i] == 0]
    rng.shuffle(neg)
    take = (pos[: (keep * 3) // 4] + neg)[:keep] if job.kind != "clean" else neg[:keep]
    take = sorted(take)
    return Samples(
        np.stack([d_in[i] for i in take]),
        np.stack([labels[i] for i in take]),
        flabel[take],
        np.zeros(len(take), np.int16),
    )


def _title_job(job: Job, n_frames: int, keep: int, rng: np.random.Generator) -> Samples:
    """Clean pictures of a suite reference title as the capture shows them: the harness's own
    titles (frame codes, sync flashes, letterbox bars, a soft upscale) must never read as damage."""
    import av

    from harness.reference.titles import ensure_titles

    (title,) = ensure_titles([job.title])
    with av.open(str(title.path)) as c:
        total = c.streams.video[0].frames or 1000
        start = int(rng.integers(0, max(1, total - n_frames)))
        lumas = [
            to_model(f.to_ndarray(format="gray"))
            for i, f in enumerate(c.decode(video=0))
            if start <= i < start + n_frames
        ]
    take = sorted(rng.choice(len(lumas), size=min(keep, len(lumas)), replace=False))
    pics = treat([lumas[i] for i in take], rng)
    rows, cols = INPUT_HEIGHT // CELL, pics[0].shape[1] // CELL
    return Samples(
        np.stack(pics),
        np.zeros((len(pics), rows, cols), np.uint8),
        np.zeros(len(pics), np.uint8),
        np.zeros(len(pics), np.int16),
    )


# --- the set -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataPlan:
    size: Size
    seed: int
    group: str
    n_frames: int
    keep: int
    jobs: tuple[Job, ...]
    duration_s: float = 8.0  # the recipe's clip length: windows are drawn from it

    def digest(self) -> str:
        doc = {
            "version": DATA_VERSION,
            "size": self.size,
            "group": self.group,
            "seed": self.seed,
            "n_frames": self.n_frames,
            "keep": self.keep,
            "duration_s": self.duration_s,
            "jobs": [[j.source.model_dump(), j.kind, j.scale, j.seed, j.title] for j in self.jobs],
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]

    def recipe(self) -> str:
        kinds = {k: sum(1 for j in self.jobs if j.kind == k) for k in KINDS}
        srcs = sorted({j.source.id for j in self.jobs})
        return (
            f"{len(self.jobs)} jobs ({kinds['transport']} transport, {kinds['bitstream']} bitstream, "
            f"{kinds['pixel']} pixel, {kinds['clean']} clean, "
            f"{kinds['title']} reference-title) "
            f"over {self.group} sources {', '.join(srcs)}; {self.n_frames} frames each, up to {self.keep} kept; "
            f"scales {', '.join(SCALES)}; seed {self.seed}"
        )


def make_plan(recipe: BenchRecipe, size: Size, seed: int = 0, group: Literal["train", "test"] = "train") -> DataPlan:
    """Jobs over one group's sources (training: `train`; the card's held-out metrics: `test`,
    impaired sources only): quick uses the quick-marked ones and fewer variants."""
    sources = [s for s in recipe.sources.get(group, []) if group == "train" or getattr(s, "impair", True)]
    if not sources:
        raise ValueError(f"the bench recipe has no {group} sources to make block-corruption data from")
    if size == "quick":  # every source once, few pictures: variety matters more than volume
        reps = {"transport": 1, "bitstream": 1, "pixel": 1, "clean": 1}
        n_frames, keep = 50, 16
    else:
        reps = (
            {"transport": 4, "bitstream": 3, "pixel": 2, "clean": 2}
            if group == "train"
            else {"transport": 3, "bitstream": 2, "pixel": 2, "clean": 2}
        )
        n_frames, keep = 100, 40
    rng = np.random.default_rng(seed)
    jobs: list[Job] = []
    for s in sources:
        for kind, r in reps.items():
            for i in range(r):
                scale = list(SCALES)[(i + len(jobs)) % len(SCALES)]
                jobs.append(Job(s, kind, scale, int(rng.integers(0, 2**31 - 1))))  # type: ignore[arg-type]
    if group == "train":  # the suites' own titles (their footage is train footage: bbb, bikes)
        for t in SUITE_TITLES:
            for _ in range(1 if size == "quick" else 4):
                jobs.append(Job(sources[0], "title", "360p", int(rng.integers(0, 2**31 - 1)), t))
    return DataPlan(size, seed, group, n_frames, keep, tuple(jobs), recipe.clip.duration_s)


def data_dir() -> Path:
    return Path(os.environ.get(MEDIA_ENV) or CONTENT_DIR / "media") / "train"


def _run(args: tuple[Job, int, int, float]) -> Samples:
    return run_job(*args)


def build(
    plan: DataPlan, jobs: int | None = None, progress: Callable[[int, int], None] | None = None
) -> tuple[Samples, Path]:
    """The samples of a plan, from the cache when its digest was built before."""
    out = data_dir() / f"block_corruption-{plan.group}-{plan.size}-{plan.digest()}.npz"
    if out.exists():
        return Samples.load(out), out
    out.parent.mkdir(parents=True, exist_ok=True)
    parts: list[Samples] = []
    with ProcessPoolExecutor(max_workers=jobs or min(4, os.cpu_count() or 1)) as pool:
        futs = [pool.submit(_run, (j, plan.n_frames, plan.keep, plan.duration_s)) for j in plan.jobs]
        for i, f in enumerate(futs):
            s = f.result()
            s.group[:] = i
            parts.append(s)
            if progress:
                progress(i + 1, len(futs))
    # pictures of different widths (non-16:9 sources) are padded to the widest, labels IGNORE
    width = max(p.images.shape[2] for p in parts)
    for p in parts:
        if p.images.shape[2] < width:
            pad = width - p.images.shape[2]
            p.images = np.pad(p.images, ((0, 0), (0, 0), (0, pad)))
            p.labels = np.pad(p.labels, ((0, 0), (0, 0), (0, pad // CELL)), constant_values=255)
    data = Samples.concat(parts)
    data.save(out)
    return data, out
