"""The simulated device's streamed output: picture as live MPEG-TS over UDP (as an HDMI-to-IP
encoder sends it), sound into a PulseAudio sink (as an audio interface would hear it).

The rig then records through the real capture backends (cv2.VideoCapture, sounddevice).
"""

from __future__ import annotations

import os
import queue
import re
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import av
import numpy as np
from av.video.frame import PictureType

from devices.base import DeviceError
from harness.impairments.bitstream import GilbertElliott

TS_PACKET = 188
TS_PER_DATAGRAM = 7  # 1316 bytes, as FFmpeg's udp:// sends with pkt_size=1316
SLICES = 8  # H.264 slices a frame: a lost packet breaks the rest of its slice, a band of the picture


@dataclass
class LossyLink:
    """The way one frame's TS packets travel in a block_corruption window: a burst-loss channel,
    and the picture rows (the frame code box) whose slices it never touches."""

    channel: GilbertElliott
    spare_rows: tuple[int, int]


def _payload(pkt: bytes) -> tuple[int, bool, int] | None:
    """(PID, starts a PES, payload offset) of a TS packet, or None when it carries no payload."""
    afc = (pkt[3] >> 4) & 3
    if not afc & 1:  # adaptation field only (PCR, stuffing)
        return None
    return ((pkt[1] & 0x1F) << 8) | pkt[2], bool(pkt[1] & 0x40), 5 + pkt[4] if afc & 2 else 4


def _first_mb(nal: bytes | bytearray) -> int:
    """first_mb_in_slice, the slice header's first field (ue(v)), after the one-byte NAL header."""
    bits = int.from_bytes(nal[1:5].ljust(4, b"\x00"), "big")
    zeros = 32 - bits.bit_length()
    return (bits >> (31 - 2 * zeros)) - 1 if zeros < 16 else 0


class TsSender:
    """Where the TS muxer writes: forwards 188-byte TS packets to a UDP address, 7 a datagram.

    While a frame travels a `LossyLink` (the block_corruption fault), its video packets pass
    through a Gilbert-Elliott channel and those it loses never reach the socket: real TS packets
    lost on the way, which the capture side's demuxer and H.264 decoder meet as a real receiver
    would. Untouched: PAT, PMT and every other PID; each packet that starts a PES (losing it loses
    the whole frame in the demuxer, the stream's timestamps jump, and the capture would rightly
    count that as its own loss, not as damage in the device's picture); and the packets of the
    slices that cover the frame code box (concealment copies the box from earlier frames, the
    reader then sees codes repeat or vanish, and the reference tracker reported dropped and
    repeated frames the device never made: 6 and 1 in a 1.5 s window at severity 1).
    """

    def __init__(self, url: str):
        u = urlsplit(url)
        if u.hostname is None or u.port is None:
            raise ValueError(f"not a udp://host:port address: {url!r}")
        self.addr = (u.hostname, u.port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.link: LossyLink | None = None
        self.video_pids: set[int] = set()
        self.lossy_packets = 0  # video packets that went through a channel
        self.lost_packets = 0
        self._rest = b""
        self._held: list[bytes] = []  # the current frame's packets, while it travels a link

    def write(self, data: bytes) -> int:
        buf = self._rest + bytes(data)
        n = len(buf) - len(buf) % TS_PACKET
        self._rest = buf[n:]
        packets = [buf[i : i + TS_PACKET] for i in range(0, n, TS_PACKET)]
        if self.link is not None:
            self._held += packets
        else:
            self._send(packets)
        return len(data)

    def end_frame(self, width: int) -> None:
        """The muxer has written the frame (flush_packets): send it, less what its link lost."""
        held, self._held = self._held, []
        if self.link is None or not held:
            self._send(held)
            return
        spared = self._spared(held, width, self.link.spare_rows)
        out = []
        for pkt, spare in zip(held, spared, strict=True):
            pl = _payload(pkt)
            if spare or pl is None or pl[1] or pl[0] not in self.video_pids:
                out.append(pkt)
                continue
            self.lossy_packets += 1
            if self.link.channel.lose():
                self.lost_packets += 1
            else:
                out.append(pkt)
        self._send(out)

    def _spared(self, packets: list[bytes], width: int, rows: tuple[int, int]) -> list[bool]:
        """Per packet: does it carry bytes of a slice whose macroblocks reach into `rows`?"""
        stream = bytearray()
        spans: list[tuple[int, int] | None] = []  # each packet's bytes in the frame's video payload
        for pkt in packets:
            pl = _payload(pkt)
            if pl is not None and pl[1] and pkt[pl[2] : pl[2] + 3] == b"\x00\x00\x01" and pkt[pl[2] + 3] >> 4 == 0xE:
                self.video_pids.add(pl[0])  # a video PES starts here
            if pl is None or pl[0] not in self.video_pids:
                spans.append(None)
                continue
            spans.append((len(stream), len(stream) + TS_PACKET - pl[2]))
            stream += pkt[pl[2] :]
        starts = [m.start() + 3 for m in re.finditer(b"\x00\x00\x01", stream)]
        slices = [  # (first macroblock, first byte, end byte) of each coded slice
            (_first_mb(stream[a:b]), a, b)
            for a, b in zip(starts, [*(x - 3 for x in starts[1:]), len(stream)], strict=True)
            if stream[a] & 0x1F in (1, 5)
        ]
        cols = (width + 15) // 16
        lo, hi = rows[0] // 16 * cols, (rows[1] + 15) // 16 * cols
        keep = [
            (a, b)
            for (mb, a, b), nxt in zip(slices, [*(x[0] for x in slices[1:]), 1 << 30], strict=True)
            if mb < hi and nxt > lo
        ]
        return [sp is not None and any(a < sp[1] and sp[0] < b for a, b in keep) for sp in spans]

    def _send(self, packets: list[bytes]) -> None:
        for i in range(0, len(packets), TS_PER_DATAGRAM):
            self.sock.sendto(b"".join(packets[i : i + TS_PER_DATAGRAM]), self.addr)

    def close(self) -> None:
        self.sock.close()


class UdpTsStreamer:
    """Encodes frames (H.264, zero-latency) into MPEG-TS and sends them to a UDP address.

    Each frame leaves `hold_s` after its display time, as from a hardware encoder's fixed
    pipeline; sent as soon as encoded, its departure would wander with the encoding time of the
    picture and the player thread's lateness (tens of ms), and so would the latency the capture
    side learns from the earliest arrivals. The muxer writes into a `TsSender` (flushed after
    every frame), which can lose the video's TS packets while a block_corruption window plays.
    """

    def __init__(self, url: str, device: str, fps: float = 25.0, crf: int = 18, hold_s: float = 0.08):
        self.url, self.device, self.fps, self.crf, self.hold_s = url, device, fps, crf, hold_s
        self._q: queue.Queue[tuple[np.ndarray, float, LossyLink | None, bool] | None] = queue.Queue(maxsize=50)
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.dropped = 0
        self._lose = 0
        self._damage_left = 0
        self._link: LossyLink | None = None
        self._key_next = False
        self.sender: TsSender | None = None
        self.error: str | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sim-udp-ts", daemon=True)
        self._thread.start()

    def lose(self, n: int) -> None:
        """The next `n` frames never leave the encoder (the capture_loss fault): the stream's
        timestamps jump over them, as after packets lost on a network."""
        self._lose += n

    def damage(self, frames: int, severity: float, seed: int, spare_rows: tuple[int, int]) -> None:
        """The next `frames` frames travel a link that loses some of their TS packets in bursts
        (the block_corruption fault), never those of the slices covering `spare_rows` (see
        `TsSender`); the frame after them is a keyframe, so the capture side's decoder is clean
        again from the first frame after the window (the GOP is 1 s besides)."""
        self._damage_left = frames
        self._link = LossyLink(GilbertElliott.for_severity(severity, seed), spare_rows)

    @property
    def lost_packets(self) -> int:
        return self.sender.lost_packets if self.sender is not None else 0

    def push(self, img: np.ndarray, t: float) -> None:
        link = None
        if self._damage_left > 0:
            link = self._link
            self._damage_left -= 1
            self._key_next = self._damage_left == 0
        if self._lose > 0:
            self._lose -= 1
            return
        key = self._key_next and link is None
        try:
            self._q.put_nowait((img, t, link, key))
            self._key_next = self._key_next and not key
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        try:
            self.sender = sender = TsSender(self.url)
            # flush_packets: every frame leaves in full as soon as it is muxed (as udp:// does)
            with av.open(sender, "w", format="mpegts", container_options={"flush_packets": "1"}) as c:
                s = None
                t0 = None
                last = -1
                while True:
                    item = self._q.get()
                    if item is None:
                        break
                    img, t, link, key = item
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
                            "x264-params": f"slices={SLICES}",
                        }
                        t0 = t
                    assert t0 is not None
                    pts = max(last + 1, int(round((t - t0) * 90000)))
                    f = av.VideoFrame.from_ndarray(img, format="bgr24")
                    f.pts, f.time_base = pts, Fraction(1, 90000)
                    if key:
                        f.pict_type = PictureType.I
                    packets = s.encode(f)
                    wait = t + self.hold_s - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    sender.link = link
                    for p in packets:
                        c.mux(p)
                    sender.end_frame(img.shape[1])
                    sender.link = None
                    last = pts
                    self.sent += 1
        except Exception as e:
            self.error = f"{self.device}: UDP stream to {self.url} failed: {e}"
        finally:
            if self.sender is not None:
                self.sender.close()

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
