"""Transmission damage as a set-top box meets it: H.264 in MPEG-TS, TS packets lost in bursts or hit
by bit noise on the way, decoded with one of several error-concealment settings.

The stream is encoded as a service would send it (x264 with slices, a GOP of 1-2 s, optional
B-frames, in MPEG-TS); loss follows a Gilbert-Elliott model (a good state with rare loss, a bad
state with heavy loss, and the chance of moving between them), which is how loss on IP and RF links
comes: in bursts, not one packet at a time. Only the video PID is touched: PAT, PMT and audio pass.
Decoding keeps each picture's timestamp, so damaged and clean decodes are paired by time, not by
index (a lost packet can take a whole picture with it and shift every index after it).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

import av
import av.logging
import numpy as np

TS_PACKET = 188
SYNC = 0x47
# FFmpeg's decoder concealment settings a box might use; "none" leaves lost macroblocks as the
# decoder found them (often grey or green), the others guess from neighbours in space or time.
EC_VARIANTS = ("guess_mvs+deblock", "deblock", "favor_inter+guess_mvs+deblock", "none")


@dataclass(frozen=True)
class LossModel:
    """Gilbert-Elliott packet loss plus bit noise, on video TS packets.

    p_enter: chance per packet of going from the good state to the bad one; p_leave: of coming back;
    loss_bad / loss_good: loss probability in each state; noise: chance per packet that one to four
    payload bytes are overwritten (a packet that arrives, damaged).
    """

    p_enter: float = 0.002
    p_leave: float = 0.2
    loss_bad: float = 0.7
    loss_good: float = 0.0
    noise: float = 0.0

    @classmethod
    def for_severity(cls, severity: float, rng: np.random.Generator, video_packets: int) -> LossModel:
        """A loss model for a stream of `video_packets` video packets, drawn around severity 0-1:
        1-2 bursts at 0 up to 3-6 at 1 over the stream, bursts of ~3 packets at 0 up to ~25 at 1,
        and bit noise (0.2-3 % of packets) on two streams in three."""
        s = float(np.clip(severity, 0.0, 1.0))
        bursts = float(rng.uniform(1.0, 2.0) + s * rng.uniform(2.0, 4.0))
        length = float(rng.uniform(0.7, 1.3) * (3 + 22 * s))
        return cls(
            p_enter=bursts / max(1, video_packets),
            p_leave=1.0 / length,
            loss_bad=float(rng.uniform(0.5, 0.95)),
            loss_good=0.0,
            # bit noise (as `-bsf:v noise`) on a third of streams at a low rate, on a third at a
            # higher one: packets that arrive with a few wrong bytes, the decoder's sparkles and ghosts
            noise=float(rng.choice([0.0, rng.uniform(0.002, 0.01), rng.uniform(0.01, 0.03)])),
        )


def gilbert_elliott(n: int, model: LossModel, rng: np.random.Generator) -> np.ndarray:
    """A loss flag per packet for n packets."""
    lost = np.zeros(n, bool)
    bad = False
    u = rng.random((n, 2))
    for i in range(n):
        bad = (u[i, 0] >= model.p_leave) if bad else (u[i, 0] < model.p_enter)
        lost[i] = u[i, 1] < (model.loss_bad if bad else model.loss_good)
    return lost


def encode_ts(
    frames: list[np.ndarray],
    fps: float,
    crf: int = 23,
    gop_s: float = 1.0,
    slices: int = 4,
    bframes: int = 0,
    preset: str = "veryfast",
) -> bytes:
    """BGR frames -> H.264 (yuv420p) in MPEG-TS bytes, encoded by the ffmpeg command line."""
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise RuntimeError("ffmpeg is not on PATH (Debian: apt-get install ffmpeg)")
    h, w = frames[0].shape[:2]
    h, w = h - h % 2, w - w % 2
    keyint = max(1, int(round(gop_s * fps)))
    cmd = [
        exe, "-hide_banner", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "bgr24",
        "-s", f"{w}x{h}", "-r", f"{fps}", "-i", "-", "-c:v", "libx264", "-preset", preset,
        "-crf", str(crf), "-pix_fmt", "yuv420p",
        # one thread and no MB-tree: x264's output is then the same bytes on every run and machine
        "-x264-params",
        f"keyint={keyint}:min-keyint={keyint}:scenecut=0:slices={slices}:bframes={bframes}:threads=1:mbtree=0",
        "-f", "mpegts", "-",
    ]  # fmt: skip
    raw = b"".join(np.ascontiguousarray(f[:h, :w]).tobytes() for f in frames)
    r = subprocess.run(cmd, input=raw, capture_output=True, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"ffmpeg could not encode the TS stream: {r.stderr.decode(errors='replace').strip()}")
    return r.stdout


def _pid(pkt: bytes | bytearray) -> int:
    return ((pkt[1] & 0x1F) << 8) | pkt[2]


def video_pid(ts: bytes) -> int:
    """The PID that carries the most payload (the video elementary stream in our streams)."""
    counts: dict[int, int] = {}
    for off in range(0, len(ts) - TS_PACKET + 1, TS_PACKET):
        if ts[off] == SYNC:
            p = _pid(ts[off : off + 4])
            counts[p] = counts.get(p, 0) + 1
    counts.pop(0, None)
    counts.pop(0x1FFF, None)
    if not counts:
        raise ValueError("no MPEG-TS packets found")
    return max(counts, key=lambda p: counts[p])


def video_packets(ts: bytes) -> int:
    """How many TS packets carry the video PID."""
    pid = video_pid(ts)
    return sum(1 for o in range(0, len(ts) - TS_PACKET + 1, TS_PACKET) if ts[o] == SYNC and _pid(ts[o : o + 4]) == pid)


def damage_ts(
    ts: bytes, model: LossModel, rng: np.random.Generator, skip_s_packets: int = 0
) -> tuple[bytes, dict[str, int]]:
    """Drop and corrupt video packets of a TS stream. Returns the damaged bytes and counts.

    The first `skip_s_packets` video packets pass untouched (the first keyframe, so every damaged
    stream starts from a picture). Corrupted bytes are in the payload, past the 4-byte header, so
    the packet keeps its PID and continuity counter: the demuxer delivers it, the decoder meets it.
    """
    pid = video_pid(ts)
    pkts = [ts[o : o + TS_PACKET] for o in range(0, len(ts) - TS_PACKET + 1, TS_PACKET)]
    vid = [i for i, p in enumerate(pkts) if p[0] == SYNC and _pid(p) == pid]
    lost = gilbert_elliott(len(vid), model, rng)
    lost[:skip_s_packets] = False
    noisy = rng.random(len(vid)) < model.noise
    noisy[:skip_s_packets] = False
    drop = {vid[i] for i in np.flatnonzero(lost)}
    out = bytearray()
    n_noise = 0
    for j, i in enumerate(vid):
        if noisy[j] and not lost[j]:
            b = bytearray(pkts[i])
            for k in rng.integers(4, TS_PACKET, int(rng.integers(1, 5))):
                b[int(k)] = int(rng.integers(0, 256))
            pkts[i] = bytes(b)
            n_noise += 1
    for i, p in enumerate(pkts):
        if i not in drop:
            out += p
    return bytes(out), {"video_packets": len(vid), "lost": int(lost.sum()), "noisy": n_noise}


def decode_ts(ts: bytes, ec: str = "guess_mvs+deblock", gray: bool = True) -> dict[int, np.ndarray]:
    """Decode a (possibly damaged) TS stream: picture by presentation timestamp (90 kHz ticks).

    `ec` is FFmpeg's error-concealment flags ("none" for no concealment). Decoder errors are
    expected and silenced; pictures the decoder gives up on are simply absent.
    """
    import io

    out: dict[int, np.ndarray] = {}
    old = av.logging.get_level()
    av.logging.set_level(av.logging.PANIC)
    try:
        with av.open(io.BytesIO(ts), format="mpegts") as c:
            st = c.streams.video[0]
            st.codec_context.options = {"err_detect": "ignore_err", "ec": "0" if ec == "none" else ec}
            st.thread_type = "NONE"
            for pkt in c.demux(st):
                try:
                    for fr in pkt.decode():
                        if fr.pts is not None:
                            out[int(fr.pts)] = fr.to_ndarray(format="gray" if gray else "bgr24")
                except av.error.FFmpegError:
                    continue
    finally:
        av.logging.set_level(old)
    return out
