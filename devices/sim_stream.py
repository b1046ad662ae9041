"""The simulated device's streamed output: picture as live MPEG-TS over UDP (as an HDMI-to-IP
encoder sends it), sound into a PulseAudio sink (as an audio interface would hear it).

The rig then records through the real capture backends (cv2.VideoCapture, sounddevice).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from fractions import Fraction
from typing import Any

import av
import numpy as np

from devices.base import DeviceError


class UdpTsStreamer:
    """Encodes frames (H.264, zero-latency) into MPEG-TS and sends them to a UDP address."""

    def __init__(self, url: str, device: str, fps: float = 25.0, crf: int = 18):
        self.url, self.device, self.fps, self.crf = url, device, fps, crf
        self._q: queue.Queue[tuple[np.ndarray, float] | None] = queue.Queue(maxsize=50)
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.dropped = 0
        self.error: str | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sim-udp-ts", daemon=True)
        self._thread.start()

    def push(self, img: np.ndarray, t: float) -> None:
        try:
            self._q.put_nowait((img, t))
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        target = self.url + ("&" if "?" in self.url else "?") + "pkt_size=1316"
        try:
            with av.open(target, "w", format="mpegts") as c:
                s = None
                t0 = None
                last = -1
                while True:
                    item = self._q.get()
                    if item is None:
                        break
                    img, t = item
                    if s is None:
                        s = c.add_stream("libx264", rate=Fraction(self.fps).limit_denominator(1001))
                        s.width, s.height, s.pix_fmt = img.shape[1], img.shape[0], "yuv420p"
                        s.time_base = Fraction(1, 90000)
                        s.codec_context.time_base = Fraction(1, 90000)
                        s.options = {
                            "preset": "ultrafast",
                            "tune": "zerolatency",
                            "crf": str(self.crf),
                            "g": str(int(self.fps)),
                        }
                        t0 = t
                    assert t0 is not None
                    pts = max(last + 1, int(round((t - t0) * 90000)))
                    f = av.VideoFrame.from_ndarray(img, format="bgr24")
                    f.pts, f.time_base = pts, Fraction(1, 90000)
                    for p in s.encode(f):
                        c.mux(p)
                    last = pts
                    self.sent += 1
        except Exception as e:
            self.error = f"{self.device}: UDP stream to {self.url} failed: {e}"

    def stop(self) -> None:
        if self._thread is not None:
            self._q.put(None)
            self._thread.join(timeout=5)
            self._thread = None


class PulsePlayer:
    """Plays the device's sound into a PulseAudio sink through sounddevice."""

    def __init__(self, sink: str, device: str, samplerate: int = 48000, max_latency_s: float = 0.08):
        self.sink, self.device, self.rate = sink, device, samplerate
        self.max_latency_s = max_latency_s
        self.discarded = 0
        self._buf: queue.Queue[np.ndarray] = queue.Queue(maxsize=200)
        self._pending = np.zeros((0, 2), np.float32)
        self._stream: Any = None
        self.underruns = 0

    def start(self) -> None:
        try:
            import sounddevice as sd
        except OSError as e:
            raise DeviceError(
                f"{self.device}: audio output: PortAudio missing ({e}); apt-get install libportaudio2"
            ) from None
        os.environ["PULSE_SINK"] = self.sink

        max_queued = int(self.rate * self.max_latency_s)

        def cb(out: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            # a TV's audio output is clocked, not a growing buffer: keep at most max_latency_s queued
            while self._buf.qsize() * 1920 + len(self._pending) > max_queued + frames:
                try:
                    self._pending = self._buf.get_nowait()
                    self.discarded += 1
                except queue.Empty:
                    break
            while len(self._pending) < frames:
                try:
                    self._pending = np.concatenate([self._pending, self._buf.get_nowait()])
                except queue.Empty:
                    self.underruns += 1
                    break
            n = min(frames, len(self._pending))
            out[:n] = self._pending[:n]
            out[n:] = 0
            self._pending = self._pending[n:]

        try:
            self._stream = sd.OutputStream(
                device="pulse",
                samplerate=self.rate,
                channels=2,
                dtype="float32",
                blocksize=self.rate // 50,
                latency="low",
                callback=cb,
            )
            self._stream.start()
        except Exception as e:
            raise DeviceError(
                f"{self.device}: audio output: cannot play into PulseAudio sink {self.sink!r} ({e}); "
                "is PulseAudio running with that null sink loaded?"
            ) from None

    def push(self, samples: np.ndarray, t: float) -> None:
        try:
            self._buf.put_nowait(samples)
        except queue.Full:
            pass

    def stop(self) -> None:
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            except Exception:
                pass
            self._stream = None


def wait_until(pred: Any, timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return False
