"""The simulated device's streamed output: picture as live MPEG-TS over UDP (as an HDMI-to-IP
encoder sends it), sound into a PulseAudio sink (as an audio interface would hear it).

The rig then records through the real capture backends (cv2.VideoCapture, sounddevice).
"""

from __future__ import annotations

import os
import queue
import struct
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from devices.base import DeviceError


class UdpTsStreamer:
    """Encodes frames (H.264, zero-latency) into MPEG-TS and sends them to a UDP address.

    Each frame leaves `hold_s` after its display time, as from a hardware encoder's fixed
    pipeline; sent as soon as encoded, its departure would wander with the encoding time of the
    picture and the player thread's lateness (tens of ms), and so would the latency the capture
    side learns from the earliest arrivals.
    """

    def __init__(self, url: str, device: str, fps: float = 25.0, crf: int = 18, hold_s: float = 0.08):
        self.url, self.device, self.fps, self.crf, self.hold_s = url, device, fps, crf, hold_s
        self._q: queue.Queue[tuple[np.ndarray, float] | None] = queue.Queue(maxsize=50)
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.dropped = 0
        self._lose = 0
        self.error: str | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sim-udp-ts", daemon=True)
        self._thread.start()

    def lose(self, n: int) -> None:
        """The next `n` frames never leave the encoder (the capture_loss fault): the stream's
        timestamps jump over them, as after packets lost on a network."""
        self._lose += n

    def push(self, img: np.ndarray, t: float) -> None:
        if self._lose > 0:
            self._lose -= 1
            return
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
                    packets = s.encode(f)
                    wait = t + self.hold_s - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    for p in packets:
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

    Each block arrives with the time the device presents it; the sound reaches the output a
    constant `delay_s` (220 ms) after its picture, session after session, like a TV's fixed audio
    pipeline (a queue whose level depended on how the stream happened to start would make the A/V
    offset vary from run to run). PortAudio's own report of when each buffer reaches the output
    times it. Drift of more than `tolerance_s` between the schedule and the queue is corrected by
    skipping or padding.

    The output stream runs in a child process of its own. In this process the capture, the
    encoder and the analysis hold the interpreter lock for tens of milliseconds at a time; an
    output callback kept waiting that long under-runs, the ALSA PulseAudio plug-in can take a
    second to recover, and the capture would rightly hear a dropout the simulated TV never meant.
    """

    def __init__(
        self, sink: str, device: str, samplerate: int = 48000, delay_s: float = 0.22, tolerance_s: float = 0.01
    ):
        self.sink, self.device, self.rate = sink, device, samplerate
        self.delay_s, self.tolerance_s = delay_s, tolerance_s
        self._proc: subprocess.Popen[bytes] | None = None
        self.underruns = 0
        self.corrections = 0
        self.error: str | None = None

    def start(self, timeout_s: float = 20.0) -> None:
        root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        args = [self.sink, self.device, str(self.rate), str(self.delay_s), str(self.tolerance_s)]
        self._proc = p = subprocess.Popen(
            [sys.executable, "-m", "devices.sim_stream", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        out = p.stdout
        assert out is not None
        ready: list[str] = []
        reader = threading.Thread(target=lambda: ready.append(out.readline().decode()), daemon=True)
        reader.start()
        reader.join(timeout_s)
        line = ready[0].strip() if ready else ""
        if line != "ok":
            self.stop()
            raise DeviceError(
                line.partition(" ")[2] or f"{self.device}: audio output: the player process did not start"
            )

    def push(self, samples: np.ndarray, t: float) -> None:
        if self._proc is None or self._proc.stdin is None or self.error is not None:
            return
        x = np.ascontiguousarray(samples, np.float32)
        try:
            self._proc.stdin.write(_HEAD.pack(t, len(x)) + x.tobytes())
            self._proc.stdin.flush()
        except (OSError, ValueError) as e:  # the player process is gone (its server was killed)
            self.error = f"{self.device}: audio output stopped: {e}"

    def stop(self) -> None:
        p, self._proc = self._proc, None
        if p is None:
            return
        try:
            out, _ = p.communicate(timeout=5)  # closes its input: the player stops and reports
            for line in out.decode().splitlines():
                if line.startswith("stats "):
                    self.underruns, self.corrections = map(int, line.split()[1:3])
        except (subprocess.TimeoutExpired, OSError, ValueError):
            p.kill()
            p.wait(timeout=5)


_HEAD = struct.Struct("<dI")  # presentation time, sample frames (then frames x 2 float32)


class _Schedule:
    """The player's queue: samples with the presentation time of the first one."""

    def __init__(self, rate: int, delay_s: float, tolerance_s: float):
        self.rate, self.delay_s, self.tolerance_s = rate, delay_s, tolerance_s
        self.lock = threading.Lock()
        self.chunks: list[np.ndarray] = []
        self.head_t: float | None = None
        self.queued = 0
        self.underruns = 0
        self.corrections = 0

    def take(self, n: int) -> np.ndarray:
        """Up to n samples from the head of the queue (caller holds the lock)."""
        out: list[np.ndarray] = []
        got = 0
        while got < n and self.chunks:
            c = self.chunks[0]
            k = min(n - got, len(c))
            out.append(c[:k])
            if k == len(c):
                self.chunks.pop(0)
            else:
                self.chunks[0] = c[k:]
            got += k
        self.queued -= got
        if self.head_t is not None:
            self.head_t += got / self.rate
        return np.concatenate(out) if out else np.zeros((0, 2), np.float32)

    def fill(self, out: np.ndarray, heard_at: float) -> None:
        """Fill an output buffer whose first sample is heard at monotonic time `heard_at`."""
        due = heard_at - self.delay_s  # presentation time of the sample heard then
        frames = len(out)
        out[:] = 0
        with self.lock:
            if self.head_t is None:
                return
            lag = due - self.head_t
            if lag > self.tolerance_s:  # queue behind schedule: skip what is already late
                self.take(int(lag * self.rate))
                self.corrections += 1
            pos = 0
            if self.head_t is not None and self.head_t - due > self.tolerance_s:
                pos = min(frames, int((self.head_t - due) * self.rate))  # early: pad silence
                self.corrections += 1
            x = self.take(frames - pos)
            out[pos : pos + len(x)] = x
            if pos + len(x) < frames:
                self.underruns += 1

    def push(self, samples: np.ndarray, t: float) -> None:
        with self.lock:
            if self.head_t is None or self.queued == 0:
                self.head_t = t
            elif self.queued > self.rate * 2:  # never hold more than 2 s
                return
            self.chunks.append(samples)
            self.queued += len(samples)


def _play(sink: str, device: str, rate: int, delay_s: float, tolerance_s: float) -> int:
    """The player process: open the output, then queue what the device sends on standard input
    until it closes; says `ok` (or `error MESSAGE`) once, and `stats UNDERRUNS CORRECTIONS` at the end."""
    os.environ["PULSE_SINK"] = sink

    def say(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    try:
        import sounddevice as sd
    except OSError as e:
        say(f"error {device}: audio output: PortAudio missing ({e}); apt-get install libportaudio2")
        return 1
    sched = _Schedule(rate, delay_s, tolerance_s)

    def cb(out: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        # PortAudio says when this buffer's first sample reaches the output (on its own clock):
        # callbacks that come in a burst after a stall still get consecutive samples
        ahead = max(0.0, float(time_info.outputBufferDacTime - time_info.currentTime))
        sched.fill(out, time.monotonic() + ahead)

    try:
        stream = sd.OutputStream(
            device="pulse",
            samplerate=rate,
            channels=2,
            dtype="float32",
            blocksize=rate // 100,
            latency="low",
            callback=cb,
        )
        stream.start()
    except Exception as e:
        say(
            f"error {device}: audio output: cannot play into PulseAudio sink {sink!r} ({e}); "
            "is PulseAudio running with that null sink loaded?"
        )
        return 1
    say("ok")
    inp = sys.stdin.buffer
    try:
        while True:
            head = inp.read(_HEAD.size)
            if len(head) < _HEAD.size:
                break
            t, n = _HEAD.unpack(head)
            body = inp.read(n * 8)
            if len(body) < n * 8:
                break
            sched.push(np.frombuffer(body, np.float32).reshape(n, 2), t)
    finally:
        try:
            stream.stop()
            stream.close()
        except Exception:
            pass  # a server that was killed under us
        say(f"stats {sched.underruns} {sched.corrections}")
    return 0


def wait_until(pred: Any, timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return False


if __name__ == "__main__":  # the simulated TV's audio output process (PulsePlayer starts it)
    sink_, device_, rate_, delay_, tol_ = sys.argv[1:6]
    sys.exit(_play(sink_, device_, int(rate_), float(delay_), float(tol_)))
