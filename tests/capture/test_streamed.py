"""The streamed simulated device: picture as MPEG-TS over UDP read by cv2.VideoCapture, sound
through a PulseAudio null sink recorded by sounddevice. These are the real capture backends; the
tests start PulseAudio themselves and fail (never skip) in CI when it cannot run."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import wave

import numpy as np
import pytest

from devices import open_device
from harness.analysis import analyze
from harness.capture import pulse
from harness.capture.rig import CaptureError
from harness.config import DeviceSpec, RigSpec, SimulatorSpec, StreamSpec
from harness.media import MediaReader
from harness.reference.titles import ensure_titles

TITLE = "bbb-720p25"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def streamed_spec(name: str, port: int, sink: str) -> DeviceSpec:
    return DeviceSpec(
        name=name,
        kind="tv",
        control=f"sim://{name}",
        rig=RigSpec(video=f"udp://127.0.0.1:{port}", audio=f"pulse:{sink}.monitor"),
        simulator=SimulatorSpec(
            startup_delay_s=0.3, stream=StreamSpec(video_url=f"udp://127.0.0.1:{port}", audio_sink=sink)
        ),
    )


@pytest.fixture
def streamed(pulse_server):
    d = open_device(streamed_spec("sim-stream-t", free_udp_port(), "vqa_test"))
    d._titles = ensure_titles()
    d.open()
    d.rig.warm_up()
    yield d
    d.close()
    pulse.start_server()


def _play(d):
    d.launch(TITLE)
    d.wait_for_state("playing", 5)
    time.sleep(0.4)


def test_records_through_opencv_and_sounddevice(streamed, tmp_path):
    _play(streamed)
    cap = streamed.rig.record(tmp_path / "b", 4.0, {"device": streamed.name})
    rig = cap.meta["rig"]
    assert rig["video"]["backend"] == "opencv" and rig["video"]["format"]["width"] == 1280
    assert rig["audio"]["backend"] == "sounddevice" and rig["audio"]["uri"] == "pulse:vqa_test.monitor"
    assert 90 <= cap.meta["frames"] <= 105  # ~25 fps for 4 s
    assert cap.meta["audio_samples"] == pytest.approx(4 * 48000, rel=0.05)
    res = analyze(cap.path)
    assert res.events == [], [e.describe() for e in res.events]


def test_a_busy_harness_does_not_put_gaps_in_the_device_sound(streamed, tmp_path):
    """The simulated TV is a device of its own: pure-Python work in the harness process (which
    holds the interpreter lock) must not under-run the TV's audio output into silent gaps that
    the capture would then, rightly, report as dropouts."""
    _play(streamed)
    rec = streamed.rig.start(tmp_path / "busy", {"device": streamed.name})
    for _ in range(6):  # 120 ms stretches of interpreter-bound work, 0.3 s apart
        end = time.monotonic() + 0.12
        while time.monotonic() < end:
            pass
        time.sleep(0.3)
    rec.wait(0.5)
    cap = rec.stop()
    with wave.open(str(cap.audio_path)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)
    silent = np.r_[0, (np.abs(x).max(axis=1) == 0).astype(np.int8), 0]
    edges = np.flatnonzero(np.diff(silent))
    runs = zip(edges[::2], edges[1::2], strict=True)
    # one 10 ms block of padding is the player's drift correction on a loaded host; an under-run
    # leaves 30-60 ms (and the ALSA plug-in can take far longer to recover)
    gaps = [(round(a / 48000, 3), round((b - a) / 48000, 3)) for a, b in runs if b - a >= 1200]  # >= 25 ms
    assert len(x) > 2.5 * 48000 and gaps == [], f"digital silence (start s, length s): {gaps}"
    assert analyze(cap.path).events == []


def test_stream_stopping_is_one_clear_error_and_keeps_the_capture(streamed, tmp_path):
    _play(streamed)
    rec = streamed.rig.start(tmp_path / "cut", {"device": streamed.name})
    rec.wait(2.0)
    streamed._streamer.stop()  # the HDMI-to-IP encoder goes away
    rec.wait(3.0)
    with pytest.raises(CaptureError) as e:
        rec.stop()
    msg = str(e.value)
    assert "sim-stream-t: video capture" in msg and "udp://127.0.0.1:" in msg and "stopped" in msg
    meta = json.loads((tmp_path / "cut" / "meta.json").read_text())
    assert meta["complete"] is False and "video capture" in meta["error"]
    frames = sum(1 for _ in MediaReader(tmp_path / "cut").frames())
    assert frames >= 40  # what arrived before the cut is on disk and decodes


def test_pulseaudio_stopping_is_one_clear_error_and_keeps_the_capture(streamed, tmp_path):
    _play(streamed)
    rec = streamed.rig.start(tmp_path / "nosound", {"device": streamed.name})
    rec.wait(2.0)
    pulse.stop_server()
    rec.wait(2.5)
    with pytest.raises(CaptureError) as e:
        rec.stop()
    msg = str(e.value)
    assert "sim-stream-t: audio capture" in msg and "pulse:vqa_test.monitor" in msg
    meta = json.loads((tmp_path / "nosound" / "meta.json").read_text())
    assert meta["complete"] is False
    assert meta["audio_samples"] >= 48000  # the sound before the server died is kept
    assert meta["frames"] > 80  # and the picture went on being recorded


def test_no_stream_at_the_address_is_one_clear_error(pulse_server):
    port = free_udp_port()
    spec = DeviceSpec(
        name="box-x", kind="stb", control="sim://box-x", rig=RigSpec(video=f"udp://127.0.0.1:{port}", audio=None)
    )
    from harness.capture.backends import OpenCVVideoSource

    src = OpenCVVideoSource(spec.rig.video, spec.name, open_timeout_s=2.0)
    t = time.monotonic()
    with pytest.raises(CaptureError) as e:
        src.warm_up()
    assert time.monotonic() - t < 10
    assert f"box-x: video capture: no signal from udp://127.0.0.1:{port}" in str(e.value)


def test_missing_capture_card_is_one_clear_error():
    from harness.capture.backends import OpenCVVideoSource

    with pytest.raises(CaptureError, match=r"tv1: video capture: /dev/video77 does not exist"):
        OpenCVVideoSource("v4l2:///dev/video77", "tv1").warm_up()


@pytest.mark.e2e
def test_release_suites_pass_on_the_streamed_device(pulse_server, repo, tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "test_suites/",
        "--device=sim-tv03",
        "--titles=bbb-720p25",
        f"--alluredir={tmp_path / 'results'}",
        f"--captures-dir={tmp_path / 'captures'}",
        "-p",
        "no:cacheprovider",
        "-q",
    ]
    r = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "6 passed" in r.stdout  # 5 scenarios and captions
    metas = [json.loads(p.read_text()) for p in (tmp_path / "captures").rglob("meta.json")]
    assert metas and all(m["rig"]["video"]["backend"] == "opencv" for m in metas)


def test_av_offset_after_calibration_is_within_one_frame(pulse_server, tmp_path):
    """The streamed path has its own latencies (encoder, UDP, decoder vs PulseAudio); after
    `vqa calibrate` a clean run measures within one frame (40 ms at 25 fps) of zero."""
    from test_cli import vqa

    port = free_udp_port()
    inv = tmp_path / "lab.yaml"
    inv.write_text(
        "devices:\n  - name: sim-stream-cal\n    kind: tv\n    control: sim://sim-stream-cal\n"
        f"    rig: {{video: 'udp://127.0.0.1:{port}', audio: 'pulse:vqa_cal.monitor'}}\n"
        "    simulator:\n      startup_delay_s: 0.3\n"
        f"      stream: {{video_url: 'udp://127.0.0.1:{port}', audio_sink: vqa_cal}}\n"
    )
    r = vqa("calibrate", "--device", "sim-stream-cal", "--inventory", inv, "--title", TITLE, "--seconds", "12")
    assert r.returncode == 0, r.stdout + r.stderr
    out = tmp_path / "after"
    r = vqa(
        "capture", "--device", "sim-stream-cal", "--inventory", inv, "--title", TITLE, "--seconds", "12", "--out", out
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(vqa("analyze", out, "--json", "-").stdout)
    assert doc["measurements"]["sync_events_matched"] >= 3
    assert abs(doc["measurements"]["av_offset_ms"]) < 40.0, doc["reference"]["sync_events"]


def test_frames_lost_by_the_capture_chain_end_the_scenario_as_broken(pulse_server, repo, tmp_path):
    """The streamed TV shows every frame, but its stream loses 8 on the way (capture_loss): the
    steady-playback scenario ends broken, saying the rig lost them, never failed."""
    port = free_udp_port()
    inv = tmp_path / "lab.yaml"
    inv.write_text(
        "devices:\n  - name: sim-stream-loss\n    kind: tv\n    control: sim://sim-stream-loss\n"
        f"    rig: {{video: 'udp://127.0.0.1:{port}', audio: 'pulse:vqa_loss.monitor'}}\n"
        "    simulator:\n      startup_delay_s: 0.3\n"
        f"      stream: {{video_url: 'udp://127.0.0.1:{port}', audio_sink: vqa_loss}}\n"
        "      faults: [{type: capture_loss, at_s: 6.0, count: 8}]\n"
    )
    results = tmp_path / "results"
    cmd = [sys.executable, "-m", "pytest", "test_suites/test_steady_playback.py", f"--inventory={inv}"]
    cmd += ["--device=sim-stream-loss", "--titles=bbb-720p25", f"--alluredir={results}"]
    cmd += [f"--captures-dir={tmp_path / 'captures'}", "-p", "no:cacheprovider", "-q"]
    r = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-2000:]
    out = r.stdout
    assert "RigLossError: the capture rig lost 8 frames at" in out, out[-3000:]
    assert "(a gap in the capture's timestamps); this is not a device defect; rerun or relieve the host" in out
    assert "frames_dropped = 8.000" in out and "Traceback" not in out
    (res,) = [json.loads(p.read_text()) for p in results.glob("*-result.json")]
    assert res["status"] == "broken"
