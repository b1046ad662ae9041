"""Losses in the capture chain are the rig's, never the device's: counted where they happen, and a
failure seen through them ends the scenario as broken (infrastructure), not failed."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from devices import open_device
from harness.capture.rig import CaptureRig, RigLossError, VideoSource
from harness.config import DeviceSpec, RigSpec, SimulatorSpec
from harness.reference.titles import ensure_titles
from harness.suite.scenario import Scenario
from harness.suite.verdict import Policy

TITLE = "bbb-720p25"


class BurstyCard(VideoSource):
    """A live source (as a capture card is) that hands over `n` frames at once when started."""

    uri = "test://bursty"

    def __init__(self, n: int):
        self.n = n

    def start(self, on_frame):
        img = np.full((720, 1280, 3), 90, np.uint8)
        t0 = time.monotonic()

        def burst():
            for i in range(self.n):
                on_frame(img, t0 + i * 0.001)

        threading.Thread(target=burst, daemon=True).start()

    def stop(self):
        pass


def test_a_burst_beyond_the_recorders_queue_is_counted_as_the_rigs_loss(tmp_path):
    rig = CaptureRig(RigSpec(video="test://bursty"), BurstyCard(600), None, {})
    rec = rig.start(tmp_path / "b", {"device": "card"})
    rec.wait(1.5)
    cap = rec.stop()
    lost = cap.meta["frames_lost_by_rig"]
    assert lost > 0 and cap.meta["frames"] + lost == 600
    (loss,) = cap.meta["rig_losses"]
    assert loss["cause"] == "the recorder fell behind" and loss["count"] == lost and loss["what"] == "frames"
    assert 0 <= loss["capture_s"] < 1.0
    assert json.loads((cap.path / "meta.json").read_text())["rig_losses"] == cap.meta["rig_losses"]


class LaggingStream(VideoSource):
    """A live network stream whose chain runs `lag_s` behind: each frame is stamped with its
    stream time (as `OpenCVVideoSource` stamps a network stream) but handed over `lag_s` later.
    `stall_after` frames: the stream stops delivering (a chain that never catches up)."""

    uri = "test://lagging"
    source_clock = True
    late_s = 3.0

    def __init__(self, lag_s: float, stall_after: int | None = None):
        self.lag_s, self.stall_after = lag_s, stall_after
        self.format = {"fps": 25.0}
        self._stop = threading.Event()

    def start(self, on_frame):
        img = np.full((72, 128, 3), 90, np.uint8)
        t0 = time.monotonic()

        def run():
            i = 0
            while not self._stop.is_set() and (self.stall_after is None or i < self.stall_after):
                stamp = t0 + i / 25.0
                time.sleep(max(0.0, stamp + self.lag_s - time.monotonic()))
                on_frame(img, stamp)
                i += 1

        threading.Thread(target=run, daemon=True).start()

    def stop(self):
        self._stop.set()


def test_frames_a_lagging_stream_owes_at_the_stop_are_waited_for(tmp_path):
    """A chain 1.5 s behind (an encoder on a busy host) still delivers the whole recording."""
    rig = CaptureRig(RigSpec(video="test://lagging"), LaggingStream(1.5), None, {})
    rec = rig.start(tmp_path / "b", {"device": "stream"})
    rec.wait(2.0)
    cap = rec.stop()
    times = np.loadtxt(cap.path / "frames.csv", delimiter=",", skiprows=1, usecols=1, ndmin=1)
    assert cap.meta["rig_losses"] == [] and abs(len(times) - 50) <= 1, (len(times), cap.meta["rig_losses"])
    assert times[-1] > 1.9


def test_frames_a_stream_never_delivers_are_the_rigs_loss(tmp_path):
    rig = CaptureRig(RigSpec(video="test://lagging"), LaggingStream(0.0, stall_after=25), None, {})
    rec = rig.start(tmp_path / "b", {"device": "stream"})
    rec.wait(2.0)
    cap = rec.stop()
    (loss,) = cap.meta["rig_losses"]
    assert loss["what"] == "frames" and 20 <= loss["count"] <= 26, loss
    assert loss["cause"] == "the stream had not delivered them 3 s after the stop"
    assert 0.9 <= loss["capture_s"] <= 1.0, loss


@pytest.fixture(scope="module")
def device():
    spec = DeviceSpec(
        name="t", kind="tv", control="sim://t", rig=RigSpec(video="sim://", audio="sim://"), simulator=SimulatorSpec()
    )
    d = open_device(spec)
    d._titles = ensure_titles([TITLE])
    d.open()
    d.launch(TITLE)
    d.wait_for_state("playing", 10)
    yield d
    d.close()


def _recorded(device, tmp_path):
    title = next(t for t in device.titles if t.id == TITLE)
    sc = Scenario(device, title, tmp_path / "scenario", Policy(), attach=False)
    with sc.record("steady") as rec:
        rec.wait(2.0)
    return sc, sc.capture


def test_a_failure_seen_through_a_rig_loss_is_broken_with_the_reason(device, tmp_path):
    sc, cap = _recorded(device, tmp_path)
    # as a reader thread that fell behind would have left it
    cap.meta["rig_losses"] = [{"capture_s": 1.2, "count": 9, "what": "frames", "cause": "the recorder fell behind"}]
    result = sc.analyze(cap)
    with pytest.raises(RigLossError) as e:
        sc.judge(cap, result, measurements={"frames_dropped": 9.0})
    msg = str(e.value)
    assert msg.startswith(
        "the capture rig lost 9 frames at 1.20 s (the recorder fell behind); this is not a device defect"
    )
    assert "rerun or relieve the host" in msg and "frames_dropped = 9.000 exceeds the limit" in msg
    assert str(cap.path) in msg


def test_a_clean_verdict_over_a_rig_loss_still_passes(device, tmp_path):
    sc, cap = _recorded(device, tmp_path)
    cap.meta["rig_losses"] = [{"capture_s": 0.5, "count": 1, "what": "frames", "cause": "the recorder fell behind"}]
    outcome = sc.judge(cap, sc.analyze(cap))
    assert outcome.verdict.passed


BROKEN = """
from harness.capture.rig import RigLossError

def test_rig_lost_frames():
    raise RigLossError("the capture rig lost 9 frames at 7.90 s (the recorder fell behind)")
"""


def test_allure_reports_a_rig_loss_as_broken(pytester):
    pytester.makepyfile(BROKEN)
    results = pytester.path / "results"
    r = pytester.runpytest_subprocess(f"--alluredir={results}", "-p", "no:cacheprovider")
    assert r.ret == pytest.ExitCode.TESTS_FAILED
    (res,) = [json.loads(p.read_text()) for p in results.glob("*-result.json")]
    assert res["status"] == "broken"
    assert "the capture rig lost 9 frames" in res["statusDetails"]["message"]


def test_a_gap_in_a_network_streams_timestamps_is_the_rigs_loss(tmp_path):
    """An HDMI-to-IP encoder's stream that lost 8 frames on the way (its timestamps jump 320 ms):
    the OpenCV backend counts them against the rig, at the capture time they went missing."""
    import subprocess

    from peers.line_server import free_port

    from harness.capture.backends import OpenCVVideoSource

    port = free_port()
    ff = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=14",
         "-vf", "select='not(between(n,150,157))'", "-fps_mode", "passthrough", "-c:v", "libx264",
         "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-f", "mpegts",
         f"udp://127.0.0.1:{port}?pkt_size=1316"],
    )  # fmt: skip
    try:
        src = OpenCVVideoSource(f"udp://127.0.0.1:{port}", "enc", open_timeout_s=10.0)
        rig = CaptureRig(RigSpec(video=src.uri), src, None, {})
        rig.warm_up()
        start = src.frames
        cap = rig.record(tmp_path / "b", 9.0, {"device": "enc"})
        assert start < 150 < src.frames, (start, src.frames)  # the recording spans the gap
    finally:
        ff.kill()
        ff.wait()
        src.close()
    (loss,) = cap.meta["rig_losses"]
    assert loss["cause"] == "a gap in the capture's timestamps" and loss["what"] == "frames"
    assert loss["count"] == 8
    assert cap.meta["frames_lost_by_rig"] == 8
    gap_at = float(cap.frame_times()[150 - start - 1])  # the last frame before the gap
    assert abs(loss["capture_s"] - gap_at) < 0.5
