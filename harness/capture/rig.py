"""Capture rigs and capture bundles.

A rig pairs a video source and an audio source. Sources push what they receive, stamped on one
monotonic clock (`time.monotonic()`); a `Recording` writes it to a bundle on disk as it arrives,
so an interrupted run keeps what it got:

    <bundle>/video.mkv     H.264 (low CRF) in Matroska, pts in ms on the capture clock
    <bundle>/audio.wav     PCM16, header rewritten every second
    <bundle>/frames.csv    index, capture_s, monotonic_s for every frame
    <bundle>/markers.jsonl key presses and device status on the capture clock
    <bundle>/meta.json     device, title, rig, calibration, encoder settings, times
"""

from __future__ import annotations

import json
import queue
import struct
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from harness.config import RigSpec
from harness.media import MediaError, read_bundle_meta

VideoCallback = Callable[[np.ndarray, float], None]  # BGR frame, monotonic time it was shown
AudioCallback = Callable[[np.ndarray, float], None]  # float32 (n, ch), monotonic time of first sample


class CaptureError(Exception):
    """A capture source failed; the message names the device, the part and the address."""


class RigLossError(CaptureError):
    """The capture chain itself lost frames or sound where the verdict found a defect, so the
    verdict cannot be trusted: an infrastructure failure (Allure: broken), not a device defect."""


@dataclass
class RigLoss:
    """Frames or audio blocks the capture chain lost, not the device: when and why."""

    capture_s: float
    count: int
    what: str  # "frames" or "audio blocks"
    cause: str

    def describe(self) -> str:
        return f"{self.count} {self.what} at {self.capture_s:.2f} s ({self.cause})"


def describe_losses(losses: list[dict[str, Any]]) -> str:
    """'the capture rig lost 9 frames at 7.90 s (the recorder fell behind)' from meta.json's rig_losses."""
    parts = [RigLoss(**x).describe() for x in losses]
    return "the capture rig lost " + ", ".join(parts)


class VideoSource(ABC):
    """Where frames come from (a capture card, a network stream, the simulated device).

    `stamped` is True for a source that stamps each frame with the time it was displayed, not the
    time it reached us (the in-process simulated device): such a source may hand frames over late
    without harm, so the recording waits for it instead of dropping frames, and at the end waits
    until it has delivered everything shown before the stop. A live source (a card, a stream)
    cannot wait: a full queue there drops the frame and counts it as the rig's own loss.
    """

    uri: str
    stamped: bool = False
    # True for a live source whose stamps come from the stream's own timestamps (a network stream
    # from an HDMI-to-IP encoder): a frame shown before the stop may reach us seconds later when
    # the chain runs behind, so the stop waits up to `late_s` for it; what is still missing then
    # is the rig's loss. A card stamps on arrival: nothing is owed at the stop.
    source_clock: bool = False
    late_s: float = 5.0

    @abstractmethod
    def start(self, on_frame: VideoCallback) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

    def losses(self) -> list[tuple[float, int, str]]:
        """Frames this source knows it lost before handing them over: (monotonic time, count, cause)."""
        return []

    def describe(self) -> dict[str, Any]:
        return {"uri": self.uri}


class AudioSource(ABC):
    uri: str
    samplerate: int
    channels: int
    stamped: bool = False  # as VideoSource.stamped

    @abstractmethod
    def start(self, on_audio: AudioCallback) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

    def losses(self) -> list[tuple[float, int, str]]:
        """Audio blocks this source knows it lost (input overflows): (monotonic time, count, cause)."""
        return []

    def describe(self) -> dict[str, Any]:
        return {"uri": self.uri, "samplerate": self.samplerate, "channels": self.channels}


class WavWriter:
    """PCM16 WAV that is valid on disk while it grows: the header is patched every `patch_every_s`."""

    def __init__(self, path: Path, samplerate: int, channels: int, patch_every_s: float = 1.0):
        self.path, self.rate, self.ch = path, samplerate, channels
        self.f = open(path, "wb")
        self.frames = 0
        self._since_patch = 0
        self._patch_every = int(samplerate * patch_every_s)
        self._write_header()

    def _write_header(self) -> None:
        data = self.frames * self.ch * 2
        self.f.seek(0)
        self.f.write(
            b"RIFF"
            + struct.pack("<I", 36 + data)
            + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, self.ch, self.rate, self.rate * self.ch * 2, self.ch * 2, 16)
            + b"data"
            + struct.pack("<I", data)
        )
        self.f.seek(0, 2)

    def write(self, samples: np.ndarray) -> None:
        x = np.clip(samples.reshape(-1, self.ch), -1.0, 1.0)
        self.f.write((x * 32767.0).round().astype("<i2").tobytes())
        self.frames += len(x)
        self._since_patch += len(x)
        if self._since_patch >= self._patch_every:
            self._write_header()
            self.f.flush()
            self._since_patch = 0

    def close(self) -> None:
        if not self.f.closed:
            try:
                self._write_header()
            finally:
                self.f.close()


@dataclass
class Capture:
    """A recorded bundle on disk."""

    path: Path
    meta: dict[str, Any]

    @classmethod
    def load(cls, path: str | Path) -> Capture:
        """A bundle from disk; CaptureError naming the file when meta.json is missing or garbage."""
        p = Path(path)
        try:
            return cls(p, read_bundle_meta(p))
        except MediaError as e:
            raise CaptureError(str(e)) from None

    @property
    def video_path(self) -> Path:
        return self.path / self.meta["files"]["video"]

    @property
    def audio_path(self) -> Path | None:
        a = self.meta["files"].get("audio")
        return self.path / a if a else None

    @property
    def duration_s(self) -> float:
        return float(self.meta.get("duration_s") or 0.0)

    def markers(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Key presses and status notes. A line cut short by a crash is skipped; anything else that
        is not a JSON object with a numeric capture_s is a CaptureError naming the line."""
        p = self.path / "markers.jsonl"
        if not p.exists():
            return []
        lines = p.read_bytes().split(b"\n")
        out = []
        for i, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                m = json.loads(line)
            except ValueError:
                if i == len(lines):  # the last line, written when the recording was cut off
                    continue
                raise CaptureError(f"{p}: line {i} is not JSON") from None
            if (
                not isinstance(m, dict)
                or isinstance(m.get("capture_s"), bool)
                or not isinstance(m.get("capture_s"), int | float)
            ):
                raise CaptureError(f"{p}: line {i} is not a marker (a JSON object with a numeric capture_s)")
            out.append(m)
        return [m for m in out if kind is None or m.get("kind") == kind]

    def frame_times(self) -> np.ndarray:
        """Capture time of every recorded frame, from frames.csv (index,capture_s,monotonic_s).
        A row cut short by a crash ends the list; a malformed row elsewhere is a CaptureError."""
        p = self.path / "frames.csv"
        try:
            rows = p.read_bytes().decode("ascii").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise CaptureError(f"{p}: cannot be read as frames.csv ({e})") from None
        if not rows or rows[0].split(",")[:2] != ["index", "capture_s"]:
            raise CaptureError(f"{p}: not a frames.csv (its header must start with index,capture_s)")
        times: list[float] = []
        for i, row in enumerate(rows[1:], 2):
            if not row:
                continue
            cells = row.split(",")
            try:
                t = float(cells[1])
                ok = len(cells) == 3 and np.isfinite(t)
            except (IndexError, ValueError):
                ok = False
            if not ok:
                if i == len(rows):
                    break
                raise CaptureError(f"{p}: row {i} is malformed: {row[:60]!r}")
            times.append(t)
        return np.array(times)


class Recording:
    """A capture in progress; frames and audio go to disk on a writer thread as they arrive."""

    def __init__(self, rig: CaptureRig, bundle: Path, meta: dict[str, Any]):
        self.rig = rig
        self.bundle = bundle
        bundle.mkdir(parents=True, exist_ok=True)
        self.t0 = time.monotonic()
        self.meta = dict(meta)
        self._vq: queue.Queue[tuple[np.ndarray, float] | None] = queue.Queue(maxsize=256)
        self._markers = open(bundle / "markers.jsonl", "a", buffering=1)
        self._frames_csv = open(bundle / "frames.csv", "w", buffering=1)
        self._frames_csv.write("index,capture_s,monotonic_s\n")
        self._lock = threading.Lock()
        self.frames = 0
        self.dropped = 0
        self._dropped_at: list[float] = []  # monotonic stamps of frames the recorder's queue refused
        self.audio: WavWriter | None = None
        self.audio_start_s: float | None = None
        self._audio_dev_ms = 0.0
        self._error: BaseException | None = None
        self._error_at_s = 0.0
        self._stop_at: float | None = None  # monotonic end of the recording, once stop() began
        self._last_video_t = -1.0  # stamp of the newest frame / audio block received
        self._last_audio_t = -1.0
        self._late_missing: tuple[float, int, float] | None = None  # (last stamp, frames, wait) at the stop
        spec = rig.spec
        self.meta.update(
            {
                "started_utc": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                "monotonic_t0": self.t0,
                "rig": {"video": rig.video.uri, "audio": rig.audio.uri if rig.audio else None},
                "encoder": {
                    "codec": spec.record_codec,
                    "crf": spec.record_crf,
                    "container": "matroska",
                    "pix_fmt": "yuv420p",
                    "time_base": "1/1000",
                },
                "files": {
                    "video": "video.mkv",
                    "audio": "audio.wav" if rig.audio else None,
                    "frames": "frames.csv",
                    "markers": "markers.jsonl",
                },
                "complete": False,
            }
        )
        self._write_meta()
        self._writer = threading.Thread(target=self._write_video, name="capture-video-writer", daemon=True)
        self._writer.start()
        try:
            if rig.audio:
                self.audio = WavWriter(bundle / "audio.wav", rig.audio.samplerate, rig.audio.channels)
                rig.audio.start(self._on_audio)
            rig.video.start(self._on_frame)
        except Exception as e:
            # a source that cannot start: keep the bundle (meta says why), release what started
            if rig.audio:
                rig.audio.stop()
            self._vq.put(None)
            self._writer.join(timeout=10)
            if self.audio:
                self.audio.close()
            self._markers.close()
            self._frames_csv.close()
            self.meta["error"] = str(e)
            self._write_meta()
            raise
        self.mark("recording_started")

    @property
    def now_s(self) -> float:
        return time.monotonic() - self.t0

    def _write_meta(self) -> None:
        tmp = self.bundle / "meta.json.tmp"
        tmp.write_text(json.dumps(self.meta, indent=2, default=str))
        tmp.replace(self.bundle / "meta.json")

    def _fail(self, e: BaseException) -> None:
        """The first write that failed (a full disk, a vanished folder) ends the recording."""
        if self._error is None:
            self._error = e
            self._error_at_s = self.now_s

    @property
    def failed(self) -> bool:
        return self._error is not None

    def _failure(self) -> str:
        e = self._error
        why = f"{e.strerror or e}" if isinstance(e, OSError) else str(e)
        hint = "; free space there or record elsewhere (--captures-dir)" if isinstance(e, OSError) else ""
        who = self.meta.get("device", "?")
        return f"{who}: recording to {self.bundle} failed at {self._error_at_s:.2f} s: {why}{hint}"

    def mark(self, label: str, **data: Any) -> None:
        """Note something on the capture clock (key presses, device status)."""
        rec = {"kind": label, "capture_s": round(self.now_s, 4), **data}
        try:
            self._markers.write(json.dumps(rec, default=str) + "\n")
        except (OSError, ValueError) as e:  # ValueError: written after the file was closed
            self._fail(e)

    def _on_frame(self, img: np.ndarray, t_mono: float) -> None:
        self._last_video_t = max(self._last_video_t, t_mono)
        if t_mono < self.t0 or (self._stop_at is not None and t_mono > self._stop_at):
            return
        if self.rig.video.stamped:  # the source waits for the writer; nothing is lost
            while self._writer.is_alive():
                try:
                    self._vq.put((img, t_mono), timeout=0.5)
                    return
                except queue.Full:
                    continue
            self.dropped += 1  # the writer failed; stop() reports why
            return
        try:
            self._vq.put_nowait((img, t_mono))
        except queue.Full:
            self.dropped += 1
            self._dropped_at.append(t_mono)

    def _on_audio(self, samples: np.ndarray, t_first: float) -> None:
        assert self.audio is not None
        self._last_audio_t = max(self._last_audio_t, t_first)
        if self._stop_at is not None and t_first > self._stop_at:
            return
        if self._error is not None:
            return
        with self._lock:
            # Each block implies where the first sample of the recording was: its own time minus the
            # samples before it. Callbacks arrive late, never early, so the earliest implication is
            # the best anchor; the spread of the others is the audio clock deviation.
            implied = t_first - self.t0 - self.audio.frames / self.audio.rate
            if self.audio_start_s is None or implied < self.audio_start_s:
                self.audio_start_s = implied
            self._audio_dev_ms = max(self._audio_dev_ms, (implied - self.audio_start_s) * 1000)
            try:
                self.audio.write(samples)
            except OSError as e:  # never into the source's thread: the recording ends instead
                self._fail(e)

    def _write_video(self) -> None:
        spec = self.rig.spec
        try:
            # short clusters, flushed per packet: a crash leaves a playable file up to the last second
            opts = {"cluster_time_limit": "1000", "flush_packets": "1"}
            with av.open(str(self.bundle / "video.mkv"), "w", format="matroska", options=opts) as c:
                s = None
                last_pts = -1
                while True:
                    item = self._vq.get()
                    if item is None:
                        break
                    img, t_mono = item
                    if s is None:
                        s = c.add_stream(spec.record_codec, rate=Fraction(1000, 1))
                        s.width, s.height = img.shape[1], img.shape[0]
                        s.pix_fmt = "yuv420p"
                        s.time_base = Fraction(1, 1000)
                        s.codec_context.time_base = Fraction(1, 1000)
                        if spec.record_codec == "libx264":
                            s.options = {"crf": str(spec.record_crf), "preset": "superfast", "bf": "0"}
                        self.meta["video_size"] = [img.shape[1], img.shape[0]]
                    pts = max(last_pts + 1, int(round((t_mono - self.t0) * 1000)))
                    frame = av.VideoFrame.from_ndarray(img, format="bgr24")
                    frame.pts = pts
                    frame.time_base = Fraction(1, 1000)
                    for p in s.encode(frame):
                        c.mux(p)
                    self._frames_csv.write(f"{self.frames},{pts / 1000:.3f},{t_mono:.6f}\n")
                    self.frames += 1
                    last_pts = pts
                if s is not None:
                    for p in s.encode():
                        c.mux(p)
        except BaseException as e:  # surfaced by stop(); the bundle keeps what was written
            self._fail(e)

    def wait(self, seconds: float) -> None:
        """Let the recording run; a recording that failed (disk full) ends the wait with its error."""
        end = time.monotonic() + max(0.0, seconds)
        while True:
            if self._error is not None:
                raise CaptureError(self._failure() + f" (what was recorded is in {self.bundle})")
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(0.1, left))

    def wait_until(self, capture_s: float) -> None:
        self.wait(capture_s - self.now_s)

    def _drain_stamped(self, timeout_s: float = 15.0) -> None:
        """Wait until stamped sources have delivered what they showed before the stop: a device
        whose player ran behind on a busy host still hands over every frame, only later."""
        assert self._stop_at is not None
        deadline = time.monotonic() + timeout_s
        waiting: list[tuple[VideoSource | AudioSource, str]] = [(self.rig.video, "_last_video_t")]
        if self.rig.audio is not None:
            waiting.append((self.rig.audio, "_last_audio_t"))
        for src, last in waiting:
            while src.stamped and getattr(self, last) < self._stop_at and time.monotonic() < deadline:
                time.sleep(0.01)
        video = self.rig.video
        if video.source_clock and self._last_video_t >= self.t0:
            # wait for the frame stamped after the stop: the chain delivered all shown before it
            late = time.monotonic() + video.late_s
            while self._last_video_t <= self._stop_at and time.monotonic() < late:
                if getattr(video, "error", None):
                    break
                time.sleep(0.01)
            fps = float(getattr(video, "format", {}).get("fps") or 0.0)
            short = self._stop_at - self._last_video_t
            if fps > 0 and self._last_video_t <= self._stop_at and short > 1.5 / fps:
                self._late_missing = (self._last_video_t, int(short * fps), video.late_s)

    def _rig_losses(self) -> list[RigLoss]:
        """What the capture chain lost during this recording: the recorder's own queue, and what
        the sources counted (gaps in a stream's timestamps, audio input overflows)."""
        assert self._stop_at is not None
        out: list[RigLoss] = []
        if self._dropped_at:
            out.append(
                RigLoss(
                    round(self._dropped_at[0] - self.t0, 3), len(self._dropped_at), "frames", "the recorder fell behind"
                )
            )
        if self._late_missing is not None:
            t, n, late_s = self._late_missing
            out.append(
                RigLoss(
                    round(t - self.t0, 3), n, "frames", f"the stream had not delivered them {late_s:g} s after the stop"
                )
            )
        for src, what in ((self.rig.video, "frames"), (self.rig.audio, "audio blocks")):
            if src is None:
                continue
            for t, n, cause in src.losses():
                if self.t0 <= t <= self._stop_at:
                    out.append(RigLoss(round(t - self.t0, 3), n, what, cause))
        return sorted(out, key=lambda x: x.capture_s)

    def stop(self) -> Capture:
        end = self.now_s
        self._stop_at = self.t0 + end
        problems: list[str] = []
        self._drain_stamped()
        try:
            self.rig.video.stop()
            if self.rig.audio:
                self.rig.audio.stop()
        finally:
            for src in (self.rig.video, self.rig.audio):
                err = getattr(src, "error", None)
                if err:
                    problems.append(err)
            if self.rig.audio is not None and self.audio is not None:
                got = (self.audio_start_s or 0.0) + self.audio.frames / self.audio.rate
                if not any("audio" in p for p in problems) and got < end - 1.0:
                    problems.append(
                        f"{self.meta.get('device', '?')}: audio capture: sound from {self.rig.audio.uri} "
                        f"stopped arriving at {got:.2f} s of {end:.2f} s (is the audio server running?)"
                    )
            while self._writer.is_alive():
                try:
                    self._vq.put(None, timeout=0.5)
                    break
                except queue.Full:  # a writer that is still busy, or died with a full queue
                    continue
            self._writer.join(timeout=60)
            self.mark("recording_stopped")
            for f in (self.audio, self._markers, self._frames_csv):
                try:
                    if f is not None:
                        f.close()
                except OSError as e:
                    self._fail(e)
            self.meta["rig"] = {
                "video": self.rig.video.describe(),
                "audio": self.rig.audio.describe() if self.rig.audio else None,
            }
            losses = self._rig_losses()
            self.meta.update(
                {
                    "duration_s": round(end, 4),
                    "frames": self.frames,
                    "frames_dropped_by_recorder": self.dropped,
                    "rig_losses": [loss.__dict__ for loss in losses],
                    "frames_lost_by_rig": sum(x.count for x in losses if x.what == "frames"),
                    "audio_start_s": round(self.audio_start_s or 0.0, 6),
                    "audio_samples": self.audio.frames if self.audio else 0,
                    "audio_clock_deviation_ms": round(self._audio_dev_ms, 3),
                    "complete": self._error is None,
                }
            )
            if self._error is not None:
                problems.insert(0, self._failure())
            if problems:
                self.meta["complete"] = False
                self.meta["error"] = "; ".join(problems)
            try:
                self._write_meta()
            except OSError as e:  # the start-up meta.json (complete: false) stays
                problems.append(f"meta.json could not be updated ({e.strerror or e})")
        if problems:
            raise CaptureError("; ".join(problems) + f" (what was recorded is in {self.bundle})")
        return Capture(self.bundle, self.meta)

    def abort(self, reason: str) -> Capture:
        """End the recording early (Ctrl-C, SIGTERM, a failed step): the bundle is closed and
        playable up to now, and meta.json says it is incomplete and why."""
        try:
            cap = self.stop()
        except CaptureError as e:
            cap = Capture(self.bundle, self.meta)
            reason = f"{reason}; {e}"
        self.meta["complete"] = False
        self.meta["error"] = reason
        try:
            self._write_meta()
        except OSError:
            pass  # the disk is full: meta.json from the start (complete: false) stays
        return cap

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if not self.meta.get("duration_s"):
            if exc_type is None:
                self.stop()
            else:
                self.abort(f"recording ended by {getattr(exc_type, '__name__', exc_type)}")


class CaptureRig:
    """The video and audio sources for one device, plus its calibration."""

    def __init__(self, spec: RigSpec, video: VideoSource, audio: AudioSource | None, calibration: dict[str, Any]):
        self.spec = spec
        self.video = video
        self.audio = audio
        self.calibration = calibration

    def start(self, bundle: str | Path, meta: dict[str, Any] | None = None) -> Recording:
        m = dict(meta or {})
        m["calibration"] = self.calibration
        return Recording(self, Path(bundle), m)

    def warm_up(self) -> None:
        """Start sources that need it (network streams, audio servers) before the first recording."""
        for src in (self.video, self.audio):
            warm = getattr(src, "warm_up", None)
            if warm is not None:
                warm()

    def close(self) -> None:
        """Release the sources (capture cards keep streaming between recordings until then)."""
        for src in (self.video, self.audio):
            close = getattr(src, "close", None)
            if close is not None:
                close()

    def record(self, bundle: str | Path, seconds: float, meta: dict[str, Any] | None = None) -> Capture:
        rec = self.start(bundle, meta)
        rec.wait(seconds)
        return rec.stop()
