"""Real H.264 bitstream damage: encode the window, corrupt or drop packets, decode with concealment.

This is the corruption a viewer sees on a bad link: FFmpeg's H.264 decoder meets broken slices,
logs errors ("error while decoding MB ..."), conceals with guessed motion vectors and deblocking,
and the damage spreads through predicted frames until the next keyframe (here: the window's end).
The window is encoded as one GOP (keyframe first, no B-frames, 4 slices a frame so a broken slice
takes out a band, not a frame); the first frame is the keyframe and is never damaged.

`damage_frames` is that core on a list of frames (the in-process simulated TV's block_corruption
fault uses it); `GilbertElliott` is the burst-loss channel through which the streamed simulated
TV loses TS packets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import av
import av.logging
import numpy as np

from harness.impairments.common import Truth, VideoClip, check_severity, index_window, interpolate, rng_for, truth


def _encode(frames: list[np.ndarray], crf: int, fps: float = 25.0) -> list[bytes]:
    h, w = frames[0].shape[:2]
    rate = Fraction(fps).limit_denominator(1001)
    enc = av.CodecContext.create("libx264", "w")
    enc.width, enc.height, enc.pix_fmt = w - w % 2, h - h % 2, "yuv420p"
    enc.time_base, enc.framerate = 1 / rate, rate
    enc.gop_size = len(frames) + 1
    enc.options = {"crf": str(crf), "preset": "veryfast", "x264-params": "bframes=0:scenecut=0:slices=4:threads=1"}
    packets: list[bytes] = []
    for i, f in enumerate(frames):
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f[: enc.height, : enc.width]), format="bgr24")
        vf.pts = i
        packets += [bytes(p) for p in enc.encode(vf)]
    packets += [bytes(p) for p in enc.encode(None)]
    return packets


def _decode(packets: list[bytes | None], n: int, shape: tuple[int, ...]) -> tuple[list[np.ndarray], list[int]]:
    """Decode with error concealment, one packet at a time; a slot whose packet is missing or yields
    no picture holds the previous picture (what a player shows). Returns frames and errors per slot."""
    dec = av.CodecContext.create("h264", "r")
    dec.thread_type = "NONE"
    dec.options = {"err_detect": "ignore_err", "ec": "guess_mvs+deblock+favor_inter"}
    by_pts: dict[int, np.ndarray] = {}
    errors = [0] * n
    old_level = av.logging.get_level()
    av.logging.set_level(av.logging.ERROR)
    try:
        with av.logging.Capture(local=False) as logs:
            for i, data in enumerate(packets):
                if data is None:
                    continue
                before = len(logs)
                pkt = av.Packet(data)
                pkt.pts = pkt.dts = i
                try:
                    for fr in dec.decode(pkt):
                        by_pts[int(fr.pts) if fr.pts is not None else i] = fr.to_ndarray(format="bgr24")
                except av.error.FFmpegError:
                    errors[i] += 1
                errors[i] += sum(1 for lv, name, _ in logs[before:] if lv <= av.logging.ERROR)
            for fr in dec.decode(None):
                by_pts[int(fr.pts) if fr.pts is not None else n - 1] = fr.to_ndarray(format="bgr24")
    finally:
        av.logging.set_level(old_level)
    out: list[np.ndarray] = []
    last = np.zeros(shape, np.uint8)
    for i in range(n):
        last = by_pts.get(i, last)
        out.append(last)
    return out, errors


def _corrupt(data: bytes, n_bytes: int, rng: np.random.Generator) -> bytes:
    """Overwrite n_bytes in the back three quarters of a packet (slice data, past the headers).

    Only bytes that are not 0x00/0x01/0x03 are touched and new values are >= 4, so no start code or
    emulation-prevention byte is created or destroyed: the NAL framing survives, the slices do not.
    """
    b = bytearray(data)
    candidates = [j for j in range(len(b) // 4, len(b)) if b[j] not in (0, 1, 3)]
    for j in rng.choice(candidates, size=min(n_bytes, len(candidates)), replace=False):
        new = int(rng.integers(4, 256))
        b[int(j)] = new if new != b[int(j)] else (new % 251) + 4
    return bytes(b)


@dataclass
class Damage:
    """What `damage_frames` did to a window's bitstream (slot i is the window's frame i)."""

    damaged_packets: list[int] = field(default_factory=list)  # slots whose bytes were overwritten
    dropped_packets: list[int] = field(default_factory=list)  # slots whose packet never reached the decoder
    decoder_errors: int = 0  # errors the decoder logged or raised
    frames_with_errors: int = 0
    concealed: list[int] = field(default_factory=list)  # slots that differ from the clean decode


def damage_frames(
    frames: list[np.ndarray], severity: float = 1.0, seed: int = 0, fps: float = 25.0, crf: int = 16
) -> tuple[list[np.ndarray], Damage]:
    """What a real H.264 decoder shows of `frames` (BGR, one GOP, >= 2 frames) after their
    bitstream was damaged: encode, corrupt or drop packets by severity (see `bitstream_corruption`),
    decode with concealment. Returns frames of the input's shape (a slot whose packet gave no
    picture holds the previous one: the same array) and what was done."""
    s = check_severity(severity)
    if len(frames) < 2:
        raise ValueError("bitstream damage needs a window of at least two frames")
    rng = rng_for(seed, "bitstream_corruption")
    shape = (frames[0].shape[0] - frames[0].shape[0] % 2, frames[0].shape[1] - frames[0].shape[1] % 2, 3)
    packets = _encode(frames, crf, fps)
    clean, _ = _decode(list(packets), len(frames), shape)
    p_damage = interpolate(s, 0.10, 0.50)
    hit = [i for i in range(1, len(packets)) if rng.random() < p_damage]
    if not hit:
        hit = [int(rng.integers(1, len(packets)))]
    damaged: list[bytes | None] = list(packets)
    info = Damage()
    for i in hit:
        if rng.random() < 0.3 * s:
            damaged[i] = None
            info.dropped_packets.append(i)
        else:
            damaged[i] = _corrupt(packets[i], 1 + int(round(7 * s)), rng)
            info.damaged_packets.append(i)
    broken, errors = _decode(damaged, len(frames), shape)
    info.concealed = [i for i in range(len(frames)) if not np.array_equal(broken[i], clean[i])]
    info.decoder_errors = int(sum(errors))
    info.frames_with_errors = int(sum(1 for e in errors if e))
    out: list[np.ndarray] = []
    for src, f in zip(frames, broken, strict=True):
        if f.shape != src.shape:  # odd sizes: keep the last row/column of the source
            g = src.copy()
            g[: f.shape[0], : f.shape[1]] = f
            f = g
        out.append(f)
    return out, info


def bitstream_corruption(
    clip: VideoClip,
    at_s: float,
    duration_s: float,
    severity: float = 1.0,
    seed: int = 0,
    crf: int = 16,
) -> tuple[VideoClip, Truth]:
    """Damage the window's H.264 bitstream and replace the window by what the decoder made of it.

    Each predicted frame's packet is damaged with probability interpolate(severity, 10 %, 50 %)
    (at least one is); a damaged packet is dropped with probability 0.3 * severity, otherwise
    1 + round(7 * severity) of its bytes are overwritten. 0.33 -> ~23 % of frames, 3 bytes, 10 %
    of those dropped; 0.66 -> ~36 %, 6 bytes, 20 %; 1.0 -> 50 %, 8 bytes, 30 %. Frames in the window
    are re-encoded at `crf` even where undamaged (near-transparent at 16).

    Truth params: `damaged_packets`, `dropped_packets` (slot indices in the window), `decoder_errors`
    (errors the decoder logged or raised), `frames_with_errors`, `concealed_frames` (window frames
    that differ from the clean decode of the same encode: damage plus its propagation).
    """
    s = check_severity(severity)
    a, b = index_window(at_s, duration_s, clip.fps, len(clip.frames))
    if b - a < 2:
        raise ValueError("bitstream corruption needs a window of at least two frames")
    broken, info = damage_frames(list(clip.frames[a:b]), s, seed, crf=crf)
    out = list(clip.frames)
    out[a:b] = broken
    return VideoClip(out, clip.fps), truth(
        "block_corruption",
        "bitstream_corruption",
        a,
        b,
        clip.fps,
        s,
        crf=crf,
        damaged_packets=info.damaged_packets,
        dropped_packets=info.dropped_packets,
        decoder_errors=info.decoder_errors,
        frames_with_errors=info.frames_with_errors,
        concealed_frames=len(info.concealed),
        concealed=info.concealed,
    )


@dataclass
class GilbertElliott:
    """Burst loss on a packet link: a good state that loses nothing and a bad state that loses
    each packet with probability `loss_bad`; each packet moves good -> bad with `p_enter_bad`
    and bad -> good with `p_leave_bad` (mean burst 1 / p_leave_bad packets). Real links lose
    packets in bursts, which is what breaks whole runs of macroblocks rather than specks."""

    p_enter_bad: float
    p_leave_bad: float
    loss_bad: float
    rng: np.random.Generator
    bad: bool = False

    @classmethod
    def for_severity(cls, severity: float, seed: int = 0) -> GilbertElliott:
        """p_enter_bad interpolate(severity, 0.2 %, 2 %), mean burst 4 packets, loss_bad 50 % .. 100 %:
        about 0.4 % of packets lost at 0, 2 % at 0.33, 4.5 % at 0.66, 7.4 % at 1.0 (in bursts)."""
        s = check_severity(severity)
        return cls(interpolate(s, 0.002, 0.02), 0.25, interpolate(s, 0.5, 1.0), rng_for(seed, "ts_packet_loss"))

    def lose(self) -> bool:
        """Advance one packet; True when this packet is lost."""
        self.bad = self.rng.random() >= self.p_leave_bad if self.bad else self.rng.random() < self.p_enter_bad
        return self.bad and self.rng.random() < self.loss_bad
