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
    """Plays the device's sound into a PulseAudio sink through sounddevice, on a fixed schedule.

    Each block arrives with the time the device presents it. The output callback plays the sample
    due at `now - delay_s`, so the sound leaves the device a constant `delay_s` after its picture,
    session after session, like a TV's fixed audio pipeline; a queue whose level depended on how
    the stream happened to start would make the A/V offset vary from run to run. Drift of more
    than `tolerance_s` between the schedule and the queue is corrected by skipping or padding.
    """

    def __init__(
        self, sink: str, device: str, samplerate: int = 48000, delay_s: float = 0.1, tolerance_s: float = 0.01
    ):
        self.sink, self.device, self.rate = sink, device, samplerate
        self.delay_s, self.tolerance_s = delay_s, tolerance_s
        self._lock = threading.Lock()
        self._chunks: list[np.ndarray] = []
        self._head_t: float | None = None  # presentation time of the first queued sample
        self._queued = 0
        self._stream: Any = None
        self.underruns = 0
        self.corrections = 0

    def _take(self, n: int) -> np.ndarray:
        """Up to n samples from the head of the queue (caller holds the lock)."""
        out: list[np.ndarray] = []
        got = 0
        while got < n and self._chunks:
            c = self._chunks[0]
            k = min(n - got, len(c))
            out.append(c[:k])
            if k == len(c):
                self._chunks.pop(0)
            else:
                self._chunks[0] = c[k:]
            got += k
        self._queued -= got
        if self._head_t is not None:
            self._head_t += got / self.rate
        return np.concatenate(out) if out else np.zeros((0, 2), np.float32)

    def start(self) -> None:
        try:
            import sounddevice as sd
        except OSError as e:
            raise DeviceError(
                f"{self.device}: audio output: PortAudio missing ({e}); apt-get install libportaudio2"
            ) from None
        os.environ["PULSE_SINK"] = self.sink

        def cb(out: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            due = time.monotonic() - self.delay_s  # presentation time of the sample to play now
            out[:] = 0
            with self._lock:
                if self._head_t is None:
                    return
                lag = due - self._head_t
                if lag > self.tolerance_s:  # queue behind schedule: skip what is already late
                    self._take(int(lag * self.rate))
                    self.corrections += 1
                pos = 0
                if self._head_t is not None and self._head_t - due > self.tolerance_s:
                    pos = min(frames, int((self._head_t - due) * self.rate))  # early: pad silence
                    self.corrections += 1
                x = self._take(frames - pos)
                out[pos : pos + len(x)] = x
                if pos + len(x) < frames:
                    self.underruns += 1

        try:
            self._stream = sd.OutputStream(
                device="pulse",
                samplerate=self.rate,
                channels=2,
                dtype="float32",
                blocksize=self.rate // 100,
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
        with self._lock:
            if self._head_t is None or self._queued == 0:
                self._head_t = t
            elif self._queued > self.rate * 2:  # never hold more than 2 s
                return
            self._chunks.append(samples)
            self._queued += len(samples)

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
