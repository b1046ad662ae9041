"""The simulated device through the real rig interface, and capture bundles on disk."""

from __future__ import annotations

import json
import shutil
import threading
import time
import wave

import cv2
import numpy as np
import pytest

from devices import DeviceError, open_device
from harness.analysis import analyze
from harness.capture.rig import WavWriter
from harness.config import DeviceSpec, FaultSpec, RigSpec, SimulatorSpec
from harness.media import MediaReader
from harness.reference.titles import ensure_titles

TITLE = "bbb-720p25"


@pytest.fixture(scope="module")
def titles():
    return ensure_titles()


def sim(name="t", faults=(), **kw):
    return DeviceSpec(
        name=name,
        kind="tv",
        control=f"sim://{name}",
        rig=RigSpec(video="sim://", audio="sim://"),
        simulator=SimulatorSpec(faults=list(faults), **kw),
    )


@pytest.fixture
def device(titles, request):
    faults = getattr(request, "param", ())
    d = open_device(sim(faults=faults, startup_delay_s=0.3))
    d._titles = titles
    d.open()
    yield d
    d.close()


def test_wav_is_valid_while_growing(tmp_path):
    w = WavWriter(tmp_path / "a.wav", 48000, 2, patch_every_s=0.5)
    for _ in range(10):
        w.write(np.full((4800, 2), 0.25, np.float32))
    # not closed: a reader sees the header as last patched (every 0.5 s)
    with wave.open(str(tmp_path / "a.wav")) as r:
        assert r.getnchannels() == 2 and r.getframerate() == 48000
        assert r.getnframes() == 48000
    w.close()


def test_keys_drive_the_player(device):
    assert device.status().state == "home"
    device.press("right")
    device.press("left")
    device.launch(TITLE)
    assert device.status().state == "loading"
    st = device.wait_for_state("playing", 5)
    assert st.title_id == TITLE
    time.sleep(0.5)
    device.press("pause")
    p1 = device.status().position_s
    time.sleep(0.3)
    assert device.status().state == "paused" and device.status().position_s == p1
    device.press("play_pause")
    device.press("fast_forward")
    assert device.status().state == "seeking"
    assert device.status().position_s == pytest.approx(p1 + 10, abs=0.1)
    device.wait_for_state("playing", 2)
    device.press("pause")  # rewinding a held picture: the position is exact whatever the host's load
    p2 = device.status().position_s
    assert p2 >= p1 + 10
    device.press("rewind")
    assert device.status().state == "seeking"
    assert device.status().position_s == pytest.approx(p2 - 10, abs=1e-6)
    device.press("home")
    assert device.status().state == "home"
    with pytest.raises(DeviceError, match="unknown key 'warp'"):
        device.press("warp")
    with pytest.raises(DeviceError, match="known: bbb-720p25"):
        device.launch("no-such-title")


def test_a_player_running_behind_shows_a_key_only_from_the_press_on(device):
    """Frames carry their display time; when the player loop runs late (a loaded host), the frames
    it catches up with must still show what was on screen before a key, not the key's effect."""
    from harness.measure import framecode

    device.launch(TITLE)
    device.wait_for_state("playing", 5)
    seen: list[tuple[float, int | None]] = []

    def on_frame(img, t):
        seen.append((t, framecode.read(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))))

    keys: list[float] = []
    device.add_key_listener(lambda key, t: keys.append(t))
    with device.output.lock:
        device.output.video_subs.append(on_frame)
    time.sleep(0.3)

    def stall():  # hold the player loop for 0.35 s, as a busy host would
        with device._lock:
            time.sleep(0.35)

    staller = threading.Thread(target=stall)
    staller.start()
    time.sleep(0.2)
    device.press("pause")  # pressed while the player is about 0.2 s behind
    staller.join()
    time.sleep(0.4)
    with device.output.lock:
        device.output.video_subs.remove(on_frame)
    (pressed,) = keys
    before = [c for t, c in seen if t < pressed]
    after = [c for t, c in seen if t >= pressed]
    assert None not in before + after and len(before) >= 10 and len(after) >= 5
    # playing until the press: every frame a new title frame; from the press on: the last one held
    assert np.all(np.diff(before) == 1), before
    assert set(after) == {before[-1]}, (before[-5:], after)
    assert np.allclose(np.diff([t for t, _ in seen]), 0.04, atol=1e-6)  # no gap, no overlap


def test_a_stuck_player_is_one_clear_error_and_the_key_is_dropped(device, monkeypatch):
    monkeypatch.setattr(device, "KEY_TIMEOUT_S", 0.3)
    focus = device.focus
    with device._lock:  # the player loop cannot run
        with pytest.raises(DeviceError) as e:
            device.press("right")
    assert str(e.value).startswith("t: the simulated player did not take a key within 0.3 s (player thread at ")
    assert "simulated.py" in str(e.value) and "_run" in str(e.value)
    device.press("left")  # the loop runs again; the abandoned "right" never acts
    assert device.focus == (focus - 1) % len(device.titles)


def test_recording_writes_a_complete_bundle(device, tmp_path):
    device.launch(TITLE)
    device.wait_for_state("playing", 5)
    cap = device.rig.record(tmp_path / "b", 3.0, {"device": device.name, "title": TITLE})
    meta = json.loads((cap.path / "meta.json").read_text())
    assert meta["complete"] is True and meta["device"] == device.name
    assert meta["encoder"]["codec"] == "libx264" and meta["encoder"]["crf"] == 12
    assert 70 <= meta["frames"] <= 77  # 3 s at 25 fps, give or take the edges
    assert meta["audio_samples"] == pytest.approx(3 * 48000, abs=4000)
    t = cap.frame_times()
    assert len(t) == meta["frames"] and np.all(np.diff(t) > 0)
    assert np.median(np.diff(t)) == pytest.approx(0.04, abs=0.002)
    r = MediaReader(cap.path)
    assert r.info.video["width"] == 1280 and r.info.audio["channels"] == 2
    assert analyze(cap.path).events == []


def test_interrupted_recording_keeps_what_it_got(device, tmp_path):
    device.launch(TITLE)
    device.wait_for_state("playing", 5)
    rec = device.rig.start(tmp_path / "live", {"device": device.name})
    rec.wait(2.5)
    # what a crash at this moment would leave on disk
    snap = tmp_path / "snapshot"
    shutil.copytree(tmp_path / "live", snap)
    rec.stop()
    meta = json.loads((snap / "meta.json").read_text())
    assert meta["complete"] is False
    meta["duration_s"] = 2.5
    (snap / "meta.json").write_text(json.dumps(meta))
    reader = MediaReader(snap)
    frames = sum(1 for _ in reader.frames())
    assert frames >= 25  # at least a second of video decodes from the unfinished file
    with wave.open(str(snap / "audio.wav")) as w:
        assert w.getnframes() >= 48000


def test_analysis_failure_leaves_the_recording(device, tmp_path):
    device.launch(TITLE)
    device.wait_for_state("playing", 5)
    cap = device.rig.record(tmp_path / "c", 1.0, {})
    with pytest.raises(Exception):
        analyze(cap.path, params={"black_frames": {"black_ratio": 5}})
    assert (cap.path / "video.mkv").stat().st_size > 0 and analyze(cap.path).events == []


def _measured_offset_ms(cap, title) -> float:
    """Where the title's sound shows up in the capture vs where its picture does (positive = audio late)."""
    status = next(m for m in cap.markers("status") if m["state"] == "playing")
    ref = np.fromfile(title.audio_path, np.float32).reshape(-1, 2)[:, 0]
    with wave.open(str(cap.audio_path)) as w:
        got = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)[:, 0].astype(np.float32) / 32767
    # the title second starting 1.5 s after the status sample
    pos = status["position_s"] + 1.5
    seg = ref[int(pos * 48000) : int((pos + 1.0) * 48000)]
    video_capture_s = status["capture_s"] + 1.5
    a0 = int((video_capture_s - cap.meta["audio_start_s"] - 0.6) * 48000)
    win = got[a0 : a0 + int(2.2 * 48000)]
    corr = np.correlate(win, seg, mode="valid")
    lag = int(np.argmax(corr))
    audio_capture_s = cap.meta["audio_start_s"] + (a0 + lag) / 48000
    return (audio_capture_s - video_capture_s) * 1000


@pytest.mark.parametrize("offset_ms", [0.0, 200.0, -120.0])
def test_av_offset_fault_shifts_the_sound(titles, tmp_path, offset_ms):
    faults = [FaultSpec(type="av_offset", offset_ms=offset_ms)] if offset_ms else []
    d = open_device(sim(faults=faults, startup_delay_s=0.2))
    d._titles = titles
    d.open()
    try:
        with d.rig.start(tmp_path / "av", {}) as rec:
            d.launch(TITLE)
            d.wait_for_state("playing", 5)
            st = d.status()
            rec.mark("status", state=st.state, position_s=st.position_s)
            rec.wait(4.0)
            cap = rec.stop()
    finally:
        d.close()
    title = next(t for t in titles if t.id == TITLE)
    # video times come from a status sample (one frame of uncertainty)
    assert _measured_offset_ms(cap, title) == pytest.approx(offset_ms, abs=45)


@pytest.mark.parametrize(
    "device",
    [
        [
            FaultSpec(type="black_frames", at_s=1.0, duration_s=0.5),
            FaultSpec(type="audio_dropout", at_s=2.0, duration_s=0.3),
        ]
    ],
    indirect=True,
)
def test_faults_appear_in_the_capture_where_injected(device, tmp_path):
    device.launch(TITLE)
    st = device.wait_for_state("playing", 5)
    cap = device.rig.record(tmp_path / "f", 3.0, {})
    ev = {e.type: e for e in analyze(cap.path).events}
    assert set(ev) == {"black_frames", "audio_dropout"}
    # capture time ~ title position minus where playback was when recording began
    assert ev["black_frames"].start_s + st.position_s == pytest.approx(1.0, abs=0.1)
    assert ev["black_frames"].duration_s == pytest.approx(0.5, abs=0.05)
    assert ev["audio_dropout"].start_s + st.position_s == pytest.approx(2.0, abs=0.1)


def test_unsupported_control_scheme_is_clear():
    spec = DeviceSpec(name="box", kind="stb", control="telnet://127.0.0.1:23", rig=RigSpec(video="v4l2:///dev/video9"))
    with pytest.raises(DeviceError, match="box: control scheme 'telnet'.*itach"):
        open_device(spec)


def _stall_player(device, seconds: float) -> threading.Thread:
    """Hold the in-process player's lock, as a host too busy to run its thread would."""

    def stall():
        with device._lock:
            time.sleep(seconds)

    th = threading.Thread(target=stall)
    th.start()
    return th


def _cadence(cap) -> dict[str, float]:
    m = analyze(cap.path, reference=TITLE).measurements
    return {k: m[k] for k in ("frames_dropped", "frames_repeated", "frames_out_of_order")}


def test_a_player_stalled_for_seconds_shows_no_defect(device, tmp_path):
    """The player thread stops for 3 s in the middle of a recording: every frame still reaches the
    recording afterwards, stamped with its display time, so the capture shows no dropped, repeated
    or out-of-order title frame, no detector event, and an even frame clock."""
    device.launch(TITLE)
    device.wait_for_state("playing", 5)
    with device.rig.start(tmp_path / "stall", {}) as rec:
        rec.wait(1.0)
        _stall_player(device, 3.0).join()
        rec.wait(1.5)
        cap = rec.stop()
    assert _cadence(cap) == {"frames_dropped": 0, "frames_repeated": 0, "frames_out_of_order": 0}
    assert analyze(cap.path).events == []
    assert cap.meta["frames_dropped_by_recorder"] == 0
    times = cap.frame_times()
    assert times[-1] - times[0] > 5.0
    assert np.allclose(np.diff(times), 0.04, atol=0.0015)


def test_a_recording_stopped_while_the_player_is_stalled_gets_every_frame(device, tmp_path):
    """Stopping while the player is 2 s behind waits for the frames it still owes the recording."""
    device.launch(TITLE)
    device.wait_for_state("playing", 5)
    with device.rig.start(tmp_path / "stall-end", {}) as rec:
        rec.wait(1.0)
        staller = _stall_player(device, 2.0)
        rec.wait(1.5)  # stop 1.5 s into the stall
        cap = rec.stop()
        staller.join()
    times = cap.frame_times()
    assert times[-1] == pytest.approx(cap.meta["duration_s"], abs=0.05)
    assert np.allclose(np.diff(times), 0.04, atol=0.0015)
    assert _cadence(cap)["frames_dropped"] == 0


@pytest.mark.parametrize("device", [[FaultSpec(type="late_player_skips", at_s=1.0, duration_s=0.6)]], indirect=True)
def test_late_player_skips_fault_freezes_then_jumps(device, tmp_path):
    """The injectable version of a player that cannot keep up: it stalls 0.6 s, holds its last picture
    for the slots it missed (as HDMI keeps showing the last frame), then jumps to the frame due."""
    device.launch(TITLE)
    device.wait_for_state("playing", 5)
    cap = device.rig.record(tmp_path / "late", 3.0, {})
    m = _cadence(cap)
    assert 12 <= m["frames_dropped"] <= 16, m  # 0.6 s at 25 fps
    assert abs(m["frames_dropped"] - m["frames_repeated"]) <= 1, m  # each missed slot showed the last frame
    assert np.allclose(np.diff(cap.frame_times()), 0.04, atol=0.0015)  # the output never stopped
