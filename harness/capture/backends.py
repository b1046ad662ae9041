"""Real capture backends behind the rig interface: OpenCV video (V4L2 cards, network streams from
HDMI-to-IP encoders) and sounddevice audio (an audio interface, or a PulseAudio source).

Every frame and audio block is stamped on `time.monotonic()`, the clock the recording, the key
presses and the device status share. Failures name the device, the part and the address.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from harness.capture.rig import AudioCallback, AudioSource, CaptureError, CaptureRig, VideoCallback, VideoSource
from harness.config import DeviceSpec

NETWORK_SCHEMES = ("udp", "rtp", "rtsp", "srt", "http", "https", "tcp")


def _query(uri: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(uri).query).items()}


class OpenCVVideoSource(VideoSource):
    """Frames from `cv2.VideoCapture` on a reader thread.

    `v4l2:///dev/video0?fourcc=MJPG&width=1920&height=1080&fps=30` opens a capture card with V4L2,
    sets the format and reads it back: a card that silently falls back to another format is
    refused, because a recording at the wrong size or rate is worse than none. A network URL
    (`udp://127.0.0.1:5000`, `rtsp://...`, `srt://...`) is opened with FFmpeg.
    """

    def __init__(self, uri: str, device: str, open_timeout_s: float = 10.0, read_timeout_s: float = 2.0):
        self.uri, self.device = uri, device
        self.open_timeout_s, self.read_timeout_s = open_timeout_s, read_timeout_s
        self._cap: Any = None
        self._cb: VideoCallback | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.frames = 0
        self.dropped = 0
        self._losses: deque[tuple[float, int, str]] = deque(maxlen=10000)
        self.error: str | None = None
        self.format: dict[str, Any] = {}

    def _open(self) -> Any:
        import cv2

        scheme = urlsplit(self.uri).scheme
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            int(self.open_timeout_s * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            int(self.read_timeout_s * 1000),
        ]
        if scheme == "v4l2":
            path = urlsplit(self.uri).path
            if not os.path.exists(path):
                raise CaptureError(
                    f"{self.device}: video capture: {path} does not exist "
                    "(is the capture card plugged in? `v4l2-ctl --list-devices` lists cards)"
                )
            cap = cv2.VideoCapture(path, cv2.CAP_V4L2)
            q = _query(self.uri)
            want: dict[str, Any] = {}
            if "fourcc" in q:
                cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*q["fourcc"][:4]))
                want["fourcc"] = q["fourcc"][:4]
            for key, prop in (
                ("width", cv2.CAP_PROP_FRAME_WIDTH),
                ("height", cv2.CAP_PROP_FRAME_HEIGHT),
                ("fps", cv2.CAP_PROP_FPS),
            ):
                if key in q:
                    cap.set(prop, float(q[key]))
                    want[key] = float(q[key])
            got = self._format(cap)
            bad = [
                f"{k} {got.get(k)} (wanted {v})"
                for k, v in want.items()
                if (got.get(k) != v if k == "fourcc" else abs(float(got.get(k) or 0) - v) > 0.5)
            ]
            if bad:
                cap.release()
                raise CaptureError(
                    f"{self.device}: video capture {self.uri}: card refused the format: {', '.join(bad)}"
                )
        elif scheme in NETWORK_SCHEMES or scheme == "":
            self.source_clock = True  # frames are stamped from the stream's own timestamps (see _read)
            os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "overrun_nonfatal;1|fifo_size;5000000")
            # joining a live stream mid-GOP makes FFmpeg log errors until the next key frame: expected
            os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
            cap = cv2.VideoCapture(self.uri, cv2.CAP_FFMPEG, params)
        else:
            raise CaptureError(
                f"{self.device}: video capture: unsupported source {self.uri!r} "
                f"(use v4l2:///dev/videoN or one of {', '.join(s + '://' for s in NETWORK_SCHEMES)})"
            )
        if not cap.isOpened():
            raise CaptureError(
                f"{self.device}: video capture: no signal from {self.uri} within "
                f"{self.open_timeout_s:g} s (check the source is streaming to this address)"
            )
        self.format = self._format(cap)
        return cap

    @staticmethod
    def _format(cap: Any) -> dict[str, Any]:
        import cv2

        code = int(cap.get(cv2.CAP_PROP_FOURCC))
        fourcc = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4)) if code else None
        return {
            "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            "fps": round(float(cap.get(cv2.CAP_PROP_FPS)), 3),
            "fourcc": fourcc,
        }

    def start(self, on_frame: VideoCallback) -> None:
        """Deliver frames to `on_frame` from now on. The source keeps reading between recordings
        (as a capture card keeps receiving), so a recording never starts with a stale burst."""
        self.error = None
        if self._thread is None or not self._thread.is_alive():
            self._release()
            self._cap = self._open()
            self._stop.clear()
            self._thread = threading.Thread(target=self._read, name="opencv-capture", daemon=True)
            self._thread.start()
        self._cb = on_frame

    def _read(self) -> None:
        import cv2

        last_pos = None
        period = 1000.0 / self.format["fps"] if self.format.get("fps") else None
        network = urlsplit(self.uri).scheme != "v4l2"
        offset: float | None = None  # arrival minus stream time, smallest seen
        while not self._stop.is_set():
            ok, img = self._cap.read()
            t = time.monotonic()
            if not ok:
                if not self._stop.is_set():
                    self.error = (
                        f"{self.device}: video capture: the stream from {self.uri} stopped "
                        f"(no frame for {self.read_timeout_s:g} s) after {self.frames} frames"
                    )
                break
            pos = self._cap.get(cv2.CAP_PROP_POS_MSEC)
            if period and last_pos is not None and pos - last_pos > 1.5 * period:
                # the source's own clock skipped: frames lost on the way (network, card, a reader
                # that fell behind), counted against the rig, never the device
                n = int(round((pos - last_pos) / period)) - 1
                self.dropped += n
                self._losses.append((t, n, "a gap in the capture's timestamps"))
            if network and pos > 0:
                # A network stream carries the encoder's own timestamps. Arrival times add network,
                # buffering and decoder delays that vary frame to frame (and a backlog after the
                # opening burst); the smallest arrival-minus-stream-time seen is the true latency,
                # so each frame is stamped at its stream time plus that latency.
                if last_pos is not None and pos < last_pos:
                    offset = None  # the stream restarted
                implied = t - pos / 1000.0
                offset = implied if offset is None else min(offset, implied)
                t = pos / 1000.0 + offset
            last_pos = pos
            self.frames += 1
            cb = self._cb
            if cb is not None:
                cb(img, t)

    def stop(self) -> None:
        self._cb = None

    def losses(self) -> list[tuple[float, int, str]]:
        return list(self._losses)

    def warm_up(self, timeout_s: float = 10.0) -> None:
        """Open the source and wait for the first frame, so a recording starts on a live picture."""
        if self._thread is None or not self._thread.is_alive():
            self.start(lambda img, t: None)
            self._cb = None
        end = time.monotonic() + timeout_s
        start_frames = self.frames
        while self.frames == start_frames and time.monotonic() < end:
            if self._thread is None or not self._thread.is_alive():
                break
            time.sleep(0.02)
        if self.frames == start_frames:
            raise CaptureError(
                self.error
                or f"{self.device}: video capture: no frame from {self.uri} within {timeout_s:g} s of opening it"
            )

    def _release(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def close(self) -> None:
        self._cb = None
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.read_timeout_s + 2)
            self._thread = None
        self._release()

    def describe(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "backend": "opencv",
            "format": self.format,
            "frames_dropped": self.dropped,
            "error": self.error,
        }


class SoundDeviceAudioSource(AudioSource):
    """Audio from `sounddevice.InputStream` (imported only when used).

    `pulse:SOURCE` records a PulseAudio source (e.g. a null sink's `.monitor`); `sd:NAME_OR_INDEX`
    an audio interface. `?rate=48000&channels=2` override the defaults. The first sample's time is
    the callback's monotonic time minus the block and the stream's input latency; later blocks
    follow by sample count (the recording measures how far that drifts from their arrival).
    """

    def __init__(self, uri: str, device: str):
        self.uri, self.device = uri, device
        q = _query(uri)
        self.samplerate = int(q.get("rate", 48000))
        self.channels = int(q.get("channels", 2))
        scheme, _, rest = uri.partition(":")
        self.kind = scheme
        self.target = rest.split("?", 1)[0].lstrip("/")
        self._stream: Any = None
        self._cb: AudioCallback | None = None
        self._last_cb = 0.0
        self.overflows = 0
        self._losses: deque[tuple[float, int, str]] = deque(maxlen=10000)
        self.error: str | None = None

    def start(self, on_audio: AudioCallback) -> None:
        """Deliver audio to `on_audio` from now on; the input stream stays open between recordings."""
        self.error = None
        if self._stream is not None and time.monotonic() - self._last_cb > 1.0:
            self.close()  # the server went away since the last recording: open afresh
        if self._stream is None:
            self._open()
        self._cb = on_audio

    def _open(self) -> None:
        try:
            import sounddevice as sd
        except OSError as e:  # PortAudio missing
            raise CaptureError(
                f"{self.device}: audio capture: PortAudio is not installed ({e}); Debian: apt-get install libportaudio2"
            ) from None
        dev: Any
        if self.kind == "pulse":
            os.environ["PULSE_SOURCE"] = self.target
            dev = "pulse"
        else:
            dev = int(self.target) if self.target.isdigit() else self.target
        block = self.samplerate // 50

        def cb(indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            now = time.monotonic()
            if status.input_overflow:
                self.overflows += 1
                self._losses.append((now, 1, "audio input overflow"))
            self._last_cb = now
            latency = self._stream.latency if self._stream is not None else 0.0
            sink = self._cb
            if sink is not None:
                sink(indata.copy(), now - frames / self.samplerate - float(latency))

        try:
            self._stream = sd.InputStream(
                device=dev,
                samplerate=self.samplerate,
                channels=self.channels,
                dtype="float32",
                blocksize=block,
                latency="low",
                callback=cb,
            )
            self._last_cb = time.monotonic()
            self._stream.start()
        except Exception as e:
            self._stream = None
            where = f"PulseAudio source {self.target!r}" if self.kind == "pulse" else f"audio device {self.target!r}"
            raise CaptureError(
                f"{self.device}: audio capture: cannot record from {where} ({e}); "
                + (
                    "is PulseAudio running and does `pactl list short sources` list it?"
                    if self.kind == "pulse"
                    else "`python -m sounddevice` lists devices"
                )
            ) from None

    def stop(self) -> None:
        self._cb = None

    def losses(self) -> list[tuple[float, int, str]]:
        return list(self._losses)

    def warm_up(self, timeout_s: float = 8.0) -> None:
        """Open the input stream, wait for its first audio, then let it run for a second:
        PulseAudio and PortAudio can take a moment to start and deliver silence while their
        buffers fill, which a recording must not mistake for a dropout."""
        if self._stream is None:
            self._open()
        opened = time.monotonic()
        while self._last_cb <= opened and time.monotonic() - opened < timeout_s:
            time.sleep(0.02)
        if self._last_cb <= opened:
            raise CaptureError(
                f"{self.device}: audio capture: no audio from {self.uri} within {timeout_s:g} s of opening it"
            )
        time.sleep(1.0)

    def close(self) -> None:
        self._cb = None
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            except Exception as e:  # a server that vanished mid-recording
                self.error = f"{self.device}: audio capture from {self.uri} failed while stopping: {e}"
            self._stream = None

    def describe(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "backend": "sounddevice",
            "samplerate": self.samplerate,
            "channels": self.channels,
            "overflows": self.overflows,
            "error": self.error,
        }


def video_source(uri: str, device: str) -> VideoSource:
    return OpenCVVideoSource(uri, device)


def audio_source(uri: str, device: str) -> AudioSource:
    scheme = uri.split(":", 1)[0]
    if scheme not in ("pulse", "sd"):
        raise CaptureError(f"{device}: audio capture: unsupported source {uri!r} (use pulse:SOURCE or sd:DEVICE)")
    return SoundDeviceAudioSource(uri, device)


def open_rig(spec: DeviceSpec) -> CaptureRig:
    """The capture rig for a device whose picture and sound come from real capture hardware."""
    if spec.rig.video.startswith("sim://"):
        raise CaptureError(f"{spec.name}: rig video sim:// only exists inside the simulated device")
    audio = audio_source(spec.rig.audio, spec.name) if spec.rig.audio else None
    return CaptureRig(spec.rig, video_source(spec.rig.video, spec.name), audio, spec.calibration.model_dump())
