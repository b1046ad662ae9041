"""`impair_file`: decode a media file, apply one impairment, write the result and its truth.

The whole file is decoded into memory (fine for benchmark clips of seconds to a few minutes;
not meant for hour-long recordings). Both streams are re-encoded at high quality whatever the
defect touches, so every output has the same codecs: H.264 CRF 16 yuv420p + AAC 192 kb/s in MP4.
Next to OUT goes OUT.truth.json: the truth, source, defect, window, severity, seed, tool version.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from harness import __version__
from harness.impairments.common import AUDIO_RATE, AudioClip, Truth, VideoClip, check_severity
from harness.impairments.registry import IMPAIRMENTS

VIDEO_CRF = 16
AUDIO_BITRATE = 192_000


class ImpairError(Exception):
    """Bad input to impair_file (unreadable file, missing stream, window outside the media): one line."""


def truth_path(out_path: str | Path) -> Path:
    """Where the truth of OUT goes: OUT.truth.json (e.g. clip.mp4 -> clip.mp4.truth.json)."""
    p = Path(out_path)
    return p.with_name(p.name + ".truth.json")


def _read(path: Path) -> tuple[VideoClip | None, float, AudioClip | None, float, str]:
    """Video (BGR frames + fps) and audio (float32 at 48 kHz) with each stream's start time."""
    try:
        with av.open(str(path)) as c:
            vs = c.streams.video[0] if c.streams.video else None
            ast = c.streams.audio[0] if c.streams.audio else None
            video = audio = None
            v0 = a0 = 0.0
            layout = "stereo"
            if vs is not None:
                rate = vs.average_rate or vs.guessed_rate or Fraction(25)
                frames = []
                for i, f in enumerate(c.decode(vs)):
                    if i == 0:
                        v0 = float(f.time or 0.0)
                    frames.append(f.to_ndarray(format="bgr24"))
                video = VideoClip(frames, float(rate)) if frames else None
        if ast is not None:
            with av.open(str(path)) as c:
                ast = c.streams.audio[0]
                layout = ast.layout.name if ast.channels in (1, 2) else "stereo"
                rs = av.AudioResampler(format="flt", layout=layout, rate=AUDIO_RATE)
                chunks = []
                for i, f in enumerate(c.decode(ast)):
                    if i == 0:
                        a0 = float(f.time or 0.0)
                    for o in rs.resample(f):
                        chunks.append(o.to_ndarray().reshape(-1, len(o.layout.channels)))
                for o in rs.resample(None):
                    chunks.append(o.to_ndarray().reshape(-1, len(o.layout.channels)))
                if chunks:
                    audio = AudioClip(np.concatenate(chunks).astype(np.float32), AUDIO_RATE)
    except (av.error.FFmpegError, IndexError, UnicodeDecodeError) as e:
        raise ImpairError(f"cannot read {path}: {e}") from None
    return video, v0, audio, a0, layout


def _write(path: Path, video: VideoClip | None, audio: AudioClip | None, layout: str) -> None:
    with av.open(str(path), "w") as c:
        vs = ast = None
        if video is not None:
            h, w = video.frames[0].shape[:2]
            vs = c.add_stream("libx264", rate=Fraction(video.fps).limit_denominator(1001))
            vs.width, vs.height, vs.pix_fmt = w - w % 2, h - h % 2, "yuv420p"
            vs.options = {"crf": str(VIDEO_CRF), "preset": "veryfast"}
        if audio is not None:
            ast = c.add_stream("aac", rate=audio.rate, layout=layout)
            ast.bit_rate = AUDIO_BITRATE
        if vs is not None and video is not None:
            for f in video.frames:
                vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f[: vs.height, : vs.width]), format="bgr24")
                for p in vs.encode(vf):
                    c.mux(p)
            for p in vs.encode(None):
                c.mux(p)
        if ast is not None and audio is not None:
            x = np.clip(audio.samples, -1.0, 1.0).astype(np.float32)
            for pos in range(0, len(x), 1024):
                blk = np.ascontiguousarray(x[pos : pos + 1024].T)
                af = av.AudioFrame.from_ndarray(blk, format="fltp", layout=layout)
                af.sample_rate, af.pts = audio.rate, pos
                for p in ast.encode(af):
                    c.mux(p)
            for p in ast.encode(None):
                c.mux(p)


def impair_file(
    in_path: str | Path,
    out_path: str | Path,
    defect: str,
    at_s: float,
    duration_s: float,
    severity: float,
    seed: int = 0,
    **params: Any,
) -> Truth:
    """Apply `defect` to [at_s, at_s + duration_s) of IN (the file's own timeline), write OUT and
    OUT.truth.json; return the truth with times on the file's timeline."""

    if defect not in IMPAIRMENTS:
        raise ImpairError(f"unknown defect {defect!r}; known: {', '.join(IMPAIRMENTS)}")
    spec = IMPAIRMENTS[defect]
    try:
        check_severity(severity)
    except ValueError as e:
        raise ImpairError(str(e)) from None
    src, out = Path(in_path), Path(out_path)
    if not src.is_file():
        raise ImpairError(f"{src}: no such file")
    video, v0, audio, a0, layout = _read(src)
    clip: VideoClip | AudioClip | None = video if spec.clip_stream == "video" else audio
    start = v0 if spec.clip_stream == "video" else a0
    if clip is None:
        raise ImpairError(f"{src} has no {spec.clip_stream} stream for defect {defect!r}")
    length = len(clip.frames) / clip.fps if isinstance(clip, VideoClip) else len(clip.samples) / clip.rate
    if at_s < start or at_s + duration_s > start + length + 1e-6 or duration_s <= 0:
        raise ImpairError(
            f"window {at_s:g}-{at_s + duration_s:g} s is outside {src.name}'s {spec.clip_stream}"
            f" ({start:g}-{start + length:g} s)"
        )
    try:
        impaired, t = spec.func(clip, at_s - start, duration_s, severity=severity, seed=seed, **params)
    except (ValueError, TypeError) as e:
        raise ImpairError(f"{defect}: {e}") from None
    t.start_s += start
    t.end_s += start
    if isinstance(impaired, VideoClip):
        video = impaired
    else:
        audio = impaired
    out.parent.mkdir(parents=True, exist_ok=True)
    _write(out, video, audio, layout)
    doc = {
        "truth": t.to_dict(),
        "defect": defect,
        "stream": spec.stream,
        "at_s": at_s,
        "duration_s": duration_s,
        "severity": severity,
        "seed": seed,
        "params": params,
        "source": str(src),
        "output": str(out),
        "tool": {"name": "vqa-harness", "version": __version__},
    }
    truth_path(out).write_text(json.dumps(doc, indent=2) + "\n")
    return t
