"""Decode a media file (or a capture bundle) once, yielding luma frames and audio blocks in time order.

Everything downstream (detectors, measurements) reads from this one pass.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np

AUDIO_RATE = 48000  # audio is resampled to this rate so that detector windows are comparable


class MediaError(Exception):
    """The input cannot be read as media; the message names the file and what is wrong."""


def read_bundle_meta(bundle: Path) -> dict[str, Any]:
    """A capture bundle's meta.json, checked where readers depend on it: a JSON object whose
    `files` names the video and audio files, with numeric times. MediaError names what is wrong."""
    meta_file = bundle / "meta.json"
    if not meta_file.exists():
        raise MediaError(f"{bundle}: is a directory but not a capture bundle (no meta.json)")
    try:
        meta = json.loads(meta_file.read_bytes())
    except (ValueError, OSError) as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise MediaError(f"{meta_file}: not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise MediaError(f"{meta_file}: must be a JSON object, not {type(meta).__name__}")
    files = meta.get("files", {})
    if not isinstance(files, dict) or any(
        files.get(k) is not None and not (isinstance(files[k], str) and files[k]) for k in ("video", "audio")
    ):
        raise MediaError(f"{meta_file}: 'files' must map 'video' and 'audio' to file names in the bundle")
    for k in ("audio_start_s", "duration_s"):
        v = meta.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v)):
            raise MediaError(f"{meta_file}: {k!r} must be a number of seconds, not {v!r}")
    return meta


@dataclass
class Frame:
    """One decoded picture: 8-bit luma (h, w) and its time on the capture clock; `chroma`, the
    8-bit Cb and Cr planes (views, at the stream's own chroma resolution) where the decoder gives
    planar or NV12 YUV, else None. Detectors that need colour read it; the rest never touch it."""

    luma: np.ndarray
    pts_s: float
    index: int
    chroma: tuple[np.ndarray, np.ndarray] | None = None


@dataclass
class AudioBlock:
    """float32 samples (n, channels) in [-1, 1], first sample at `start_s`."""

    samples: np.ndarray
    start_s: float
    samplerate: int


@dataclass
class MediaInfo:
    path: str
    duration_s: float = 0.0
    video: dict[str, Any] | None = None
    audio: dict[str, Any] | None = None
    decode_errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"path": self.path, "duration_s": round(self.duration_s, 3)}
        if self.video is not None:
            d["video"] = self.video
        if self.audio is not None:
            d["audio"] = self.audio
        if self.decode_errors:
            d["decode_errors"] = self.decode_errors
        return d


def _open(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path), mode="r")
    except FileNotFoundError:
        raise MediaError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise MediaError(f"{path}: is a directory but not a capture bundle (no meta.json)") from None
    except (av.error.FFmpegError, UnicodeDecodeError) as e:
        raise MediaError(f"{path}: not a media file FFmpeg can read ({_reason(e)})") from None


def _reason(e: Exception) -> str:
    return getattr(e, "strerror", None) or str(e).splitlines()[0]


def luma_of(frame: av.VideoFrame) -> np.ndarray:
    """The 8-bit luma plane without a colour conversion (a view on planar YUV)."""
    if frame.format.name in ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "gray"):
        plane = frame.planes[0]
        buf = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        return buf[:, : frame.width]
    return frame.to_ndarray(format="gray")


_PLANAR = ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p")


def chroma_of(frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """The Cb and Cr planes as views on the decoder's buffers (no conversion), or None for a
    format that is not planar 4:2:0 / 4:2:2 / 4:4:4 or NV12."""
    name = frame.format.name
    if name in _PLANAR:
        out = []
        for plane in frame.planes[1:3]:
            buf = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
            out.append(buf[:, : plane.width])
        return out[0], out[1]
    if name == "nv12":
        plane = frame.planes[1]
        buf = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        w = 2 * ((frame.width + 1) // 2)
        return buf[:, 0:w:2], buf[:, 1:w:2]
    return None


class MediaReader:
    """Reads a media file, or a capture bundle directory (video file + WAV + meta.json).

    `frames()` and `audio()` are separate generators so callers can interleave them; each stream
    is decoded exactly once. Times are seconds on the capture clock (0 = start of recording),
    or the file's own presentation times for a plain media file.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.meta: dict[str, Any] | None = None
        self.video_path: Path | None
        self.audio_path: Path | None
        self.audio_offset_s = 0.0
        if self.path.is_dir():
            self.meta = read_bundle_meta(self.path)
            files = self.meta.get("files", {})
            self.video_path = self.path / files["video"] if files.get("video") else None
            self.audio_path = self.path / files["audio"] if files.get("audio") else None
            self.audio_offset_s = float(self.meta.get("audio_start_s") or 0.0)
        elif not self.path.exists():
            raise MediaError(f"{self.path}: no such file")
        else:
            self.video_path = self.audio_path = self.path
        self.info = MediaInfo(path=str(self.path))
        self._probe()

    def _probe(self) -> None:
        durations = []
        if self.video_path is not None:
            c = _open(self.video_path)
            with c:
                if c.streams.video:
                    s = c.streams.video[0]
                    fps = float(s.average_rate or s.guessed_rate or 0) or None
                    if fps and fps > 240:  # a ms time base, not a frame rate (variable-rate file)
                        fps = None
                    dur = (
                        float(c.duration / 1e6)
                        if c.duration
                        else (float(s.duration * s.time_base) if s.duration else 0.0)
                    )
                    frames = s.frames or (round(dur * fps) if fps else 0)
                    self.info.video = {
                        "width": s.codec_context.width,
                        "height": s.codec_context.height,
                        "fps": round(fps, 3) if fps else None,
                        "frames": frames,
                        "codec": s.codec_context.name,
                    }
                    durations.append(dur)
                elif self.video_path != self.audio_path:
                    raise MediaError(f"{self.video_path}: has no video stream")
        if self.audio_path is not None:
            c = _open(self.audio_path)
            with c:
                if c.streams.audio:
                    s = c.streams.audio[0]
                    self.info.audio = {
                        "samplerate": s.codec_context.sample_rate,
                        "channels": s.codec_context.channels,
                        "codec": s.codec_context.name,
                    }
                    dur = float(c.duration / 1e6) if c.duration else 0.0
                    durations.append(dur + self.audio_offset_s)
        if self.info.video is None and self.info.audio is None:
            raise MediaError(f"{self.path}: has neither a video nor an audio stream")
        self.info.duration_s = max(durations) if durations else 0.0
        if self.meta and self.meta.get("duration_s"):
            self.info.duration_s = float(self.meta["duration_s"])
            if self.info.video is not None and self.meta.get("frames"):
                # bundles store capture-clock pts in ms; the real rate is frames over time
                self.info.video["frames"] = int(self.meta["frames"])
                self.info.video["fps"] = round(self.meta["frames"] / self.info.duration_s, 3)

    def read(
        self, video: bool = True, audio: bool = True, block_s: float = 0.1, fast: bool = False
    ) -> Iterator[Frame | AudioBlock]:
        """Frames and audio blocks; a file holding both is demuxed once, interleaved.

        `fast` skips H.264's in-loop deblocking filter (about 20 % faster decoding): pictures are
        slightly blockier, which frame codes ignore but pixel detectors must not see."""
        self._fast = fast
        want_v = video and self.info.video is not None
        want_a = audio and self.info.audio is not None
        if want_v and want_a and self.video_path == self.audio_path:
            yield from self._decode(self.video_path, True, True, block_s)
            return
        if want_v:
            yield from self._decode(self.video_path, True, False, block_s)
        if want_a:
            yield from self._decode(self.audio_path, False, True, block_s)

    def frames(self) -> Iterator[Frame]:
        for item in self.read(video=True, audio=False):
            assert isinstance(item, Frame)
            yield item

    def audio(self, block_s: float = 0.1) -> Iterator[AudioBlock]:
        """Audio resampled to 48 kHz float32, in blocks of `block_s`."""
        for item in self.read(video=False, audio=True, block_s=block_s):
            assert isinstance(item, AudioBlock)
            yield item

    def _decode(self, path: Path | None, video: bool, audio: bool, block_s: float) -> Iterator[Frame | AudioBlock]:
        assert path is not None
        c = _open(path)
        with c:
            streams = []
            vs = c.streams.video[0] if video else None
            as_ = c.streams.audio[0] if audio else None
            if vs is not None:
                vs.thread_type = "AUTO"
                if getattr(self, "_fast", False):
                    vs.codec_context.options = {"skip_loop_filter": "all"}
                streams.append(vs)
            if as_ is not None:
                streams.append(as_)
            fps = (self.info.video or {}).get("fps") or 25.0
            on_clock = self.meta is not None  # bundles are already on the capture clock
            origin: float | None = 0.0 if on_clock else None
            if not on_clock and c.start_time is not None:
                origin = c.start_time / 1e6
            acc = _AudioAccumulator(int(AUDIO_RATE * block_s), self.audio_offset_s) if as_ is not None else None
            vidx = 0
            last_t = 0.0
            try:
                for packet in c.demux(*streams):
                    for fr in packet.decode():
                        if isinstance(fr, av.VideoFrame):
                            t = float(fr.pts * fr.time_base) if fr.pts is not None else vidx / fps
                            if origin is None:
                                origin = t
                            last_t = t - origin
                            yield Frame(luma_of(fr), last_t, vidx, chroma_of(fr))
                            vidx += 1
                        elif acc is not None:
                            if acc.start is None:
                                t = float(fr.pts * fr.time_base) if fr.pts is not None else 0.0
                                acc.start = t - (origin if origin is not None else t)
                            yield from acc.add(fr)
                if acc is not None:
                    yield from acc.flush()
                self._check_complete(path, vidx, last_t if video else None, acc)
            except av.error.FFmpegError as e:
                where = (
                    f"after video frame {vidx}"
                    if video
                    else f"at {acc.emitted / AUDIO_RATE:.2f} s of audio"
                    if acc
                    else ""
                )
                self.info.decode_errors.append(f"{path.name}: decoding stopped {where}: {_reason(e)}")

    def _check_complete(
        self, path: Path, frames: int, last_video_t: float | None, acc: _AudioAccumulator | None
    ) -> None:
        """Note a stream that ends well before the duration the file or bundle declares (truncation)."""
        total = self.info.duration_s
        if not total:
            return
        if last_video_t is not None:
            if frames == 0:
                self.info.decode_errors.append(f"{path.name}: no video frame could be decoded")
            elif last_video_t < total - 1.0:
                self.info.decode_errors.append(
                    f"{path.name}: video ends at {last_video_t:.2f} s of {total:.2f} s (truncated or damaged)"
                )
        if acc is not None:
            end = (acc.start or 0.0) + self.audio_offset_s + acc.emitted / AUDIO_RATE
            if end < total - 1.0:
                self.info.decode_errors.append(
                    f"{path.name}: audio ends at {end:.2f} s of {total:.2f} s (truncated or damaged)"
                )


class _AudioAccumulator:
    """Resamples decoded audio to 48 kHz float32 and cuts it into equal blocks."""

    def __init__(self, block: int, offset_s: float):
        self.block = block
        self.offset_s = offset_s
        self.start: float | None = None
        self.resampler: av.AudioResampler | None = None
        self.channels = 2
        self.pending: list[np.ndarray] = []
        self.n_pending = 0
        self.emitted = 0

    def add(self, fr: av.AudioFrame) -> Iterator[AudioBlock]:
        if self.resampler is None:
            self.channels = 2 if fr.layout.nb_channels >= 2 else 1
            self.resampler = av.AudioResampler(
                format="flt", layout="stereo" if self.channels == 2 else "mono", rate=AUDIO_RATE
            )
        for out in self.resampler.resample(fr):
            yield from self._push(out.to_ndarray().reshape(-1, self.channels))

    def _push(self, arr: np.ndarray) -> Iterator[AudioBlock]:
        self.pending.append(arr)
        self.n_pending += len(arr)
        if self.n_pending < self.block:
            return
        buf = np.concatenate(self.pending)
        n_full = (len(buf) // self.block) * self.block
        for i in range(0, n_full, self.block):
            yield self._emit(buf[i : i + self.block])
        self.pending = [buf[n_full:]]
        self.n_pending = len(buf) - n_full

    def _emit(self, samples: np.ndarray) -> AudioBlock:
        b = AudioBlock(samples, (self.start or 0.0) + self.offset_s + self.emitted / AUDIO_RATE, AUDIO_RATE)
        self.emitted += len(samples)
        return b

    def flush(self) -> Iterator[AudioBlock]:
        if self.resampler is not None:
            for out in self.resampler.resample(None):
                yield from self._push(out.to_ndarray().reshape(-1, self.channels))
        if self.n_pending:
            yield self._emit(np.concatenate(self.pending))
            self.pending, self.n_pending = [], 0


def iter_frames_at(path: str | Path, times_s: list[float]) -> dict[float, np.ndarray]:
    """BGR frames nearest to each requested time, in one decode pass (for evidence pictures)."""
    reader = MediaReader(path)
    if reader.info.video is None or reader.video_path is None:
        return {}
    wanted = sorted(set(times_s))
    out: dict[float, np.ndarray] = {}
    c = _open(reader.video_path)
    with c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        first = None
        i = 0
        try:
            for fr in c.decode(s):
                t = float(fr.pts * fr.time_base) if fr.pts is not None else 0.0
                if first is None:
                    first = 0.0 if reader.meta is not None else t
                t -= first
                while i < len(wanted) and t >= wanted[i] - 1e-3:
                    out[wanted[i]] = fr.to_ndarray(format="bgr24")
                    i += 1
                if i >= len(wanted):
                    break
        except av.error.FFmpegError:
            pass
    return out
