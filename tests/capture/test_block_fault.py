"""The block_corruption fault of the simulated TVs, recorded through the real rig: sim-tv05 shows
what an H.264 decoder makes of a damaged bitstream, sim-tv06 loses video TS packets on the way
to the capture. Inside the window the picture breaks into blocks; outside it nothing changes,
and the frame codes read back everywhere (no dropped or repeated frame is invented).

The devices come from devices/lab.yaml with the window moved to 2 s, so each capture is short."""

from __future__ import annotations

import socket
import time

import av
import numpy as np
import pytest

from devices import open_device
from devices.sim_stream import LossyLink, TsSender
from harness.analysis import analyze
from harness.config import DEFAULT_INVENTORY, DeviceSpec, InventoryError, load_inventory
from harness.impairments.bitstream import GilbertElliott
from harness.measure import framecode
from harness.media import MediaReader, luma_of
from harness.reference.titles import Title, ensure_titles

TITLE = "bbb-720p25"
AT_S, DURATION_S = 2.0, 1.5  # the window: title frames 50-87 at 25 fps
BLOCK_DIFF = 12.0  # a 16x16 block is damaged when its mean abs luma difference exceeds this


@pytest.fixture(scope="module")
def title() -> Title:
    return next(t for t in ensure_titles() if t.id == TITLE)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_device(name: str) -> DeviceSpec:
    """The shipped device, its fault window moved to AT_S and its start-up shortened."""
    spec = load_inventory(DEFAULT_INVENTORY).get(name).model_copy(deep=True)
    sim = spec.simulator
    assert sim is not None
    assert [(f.type, f.at_s, f.duration_s, f.severity) for f in sim.faults] == [("block_corruption", 12.0, 1.5, 1.0)], (
        "the shipped device's only fault"
    )
    sim.faults = [f.model_copy(update={"at_s": AT_S}) for f in sim.faults]
    sim.startup_delay_s = 0.3
    return spec


def record(spec: DeviceSpec, title: Title, tmp_path, seconds: float = 4.6, from_launcher: bool = False):
    d = open_device(spec)
    d._titles = [title]
    d.open()
    try:
        d.rig.warm_up()
        if from_launcher:  # selected on the home screen: the pictures are computed off the player thread
            d.press("select")
        else:
            d.launch(TITLE)
        d.wait_for_state("playing", 5)
        time.sleep(0.4)
        cap = d.rig.record(tmp_path / "cap", seconds, {"device": d.name, "title": TITLE})
        streamer = d._streamer
        lost = (streamer.sender.lost_packets, streamer.sender.lossy_packets) if streamer is not None else None
    finally:
        d.close()
    return cap, lost


def compare(cap_path, title: Title) -> list[tuple[int, float, float]]:
    """Per captured frame: (title frame its code says, mean abs luma difference to that title
    frame, share of 16x16 blocks whose mean difference exceeds BLOCK_DIFF)."""
    frames = [(framecode.read(f.luma), f.luma.copy()) for f in MediaReader(cap_path).frames()]
    assert all(code is not None for code, _ in frames), "every captured frame carries a readable frame code"
    last = max(code for code, _ in frames if code is not None)
    ref: list[np.ndarray] = []
    with av.open(str(title.path)) as c:
        for fr in c.decode(video=0):
            ref.append(luma_of(fr).copy())
            if len(ref) > last:
                break
    out = []
    for code, y in frames:
        assert code is not None
        d = np.abs(y.astype(np.int16) - ref[code]).astype(np.float32)
        h, w = d.shape[0] // 16 * 16, d.shape[1] // 16 * 16
        blocks = d[:h, :w].reshape(h // 16, 16, w // 16, 16).mean(axis=(1, 3))
        out.append((code, float(d.mean()), float((blocks > BLOCK_DIFF).mean())))
    return out


def check_capture(
    cap, title: Title, outside_max_mean: float, at_s: float = AT_S, duration_s: float = DURATION_S
) -> dict[str, float]:
    """The assertions both devices share; returns the numbers measured."""
    res = analyze(cap.path, detectors=["black_frames", "frozen_video"])
    m = res.measurements
    assert (m["frames_dropped"], m["frames_repeated"], m["frames_out_of_order"], m["frames_undecodable"]) == (
        0,
        0,
        0,
        0,
    ), res.reference.where() if res.reference else m
    assert res.events == [], [e.describe() for e in res.events]  # block damage is neither black nor a freeze
    assert not cap.meta.get("rig_losses"), cap.meta.get("rig_losses")
    a, b = round(at_s * title.fps), round((at_s + duration_s) * title.fps)
    rows = compare(cap.path, title)
    codes = [c for c, _, _ in rows]
    assert codes[0] < a - 10 and codes[-1] >= b + 10, "the capture covers the window with clean frames either side"
    inside = [r for r in rows if a <= r[0] < b]
    outside = [r for r in rows if not a <= r[0] < b]
    assert [r[0] for r in inside] == list(range(a, b)), "every window frame shown once, in order"
    shares = np.array([s for _, _, s in inside])
    # inside: whole bands of broken macroblocks, in most frames of the window
    assert shares.mean() > 0.05 and np.mean(shares > 0.02) >= 0.5 and shares.max() > 0.15, np.round(shares, 3)
    assert np.mean([d for _, d, _ in inside]) > 4.0
    # outside: the clean title, to the recording's own precision
    assert max(s for _, _, s in outside) == 0.0, [r for r in outside if r[2] > 0]
    assert max(d for _, d, _ in outside) < outside_max_mean
    return {
        "window_mean_block_share": float(shares.mean()),
        "window_frames_over_2pct": float(np.mean(shares > 0.02)),
        "window_max_block_share": float(shares.max()),
        "window_mean_abs_diff": float(np.mean([d for _, d, _ in inside])),
        "outside_max_mean_abs_diff": float(max(d for _, d, _ in outside)),
        "outside_frames": float(len(outside)),
    }


FAULTY = """
devices:
  - name: tv9
    kind: tv
    control: sim://tv9
    rig: {{video: sim://, audio: sim://}}
    simulator:
      faults:
        - {{type: block_corruption, at_s: 2.0, {fields}}}
"""


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("duration_s: 1.5, severity: 1.5", "faults.0.severity: Input should be less than or equal to 1"),
        ("duration_s: 1.5, severity: -0.1", "faults.0.severity: Input should be greater than or equal to 0"),
        ("duration_s: 1.5, seed: -1", "faults.0.seed: Input should be greater than or equal to 0"),
        ("severity: 0.5", "block_corruption needs duration_s in (0, 5] s (the damaged window), got 0"),
        ("duration_s: 8", "block_corruption needs duration_s in (0, 5] s (the damaged window), got 8"),
    ],
)
def test_bad_block_corruption_fault_is_one_clear_line(tmp_path, fields, message):
    p = tmp_path / "lab.yaml"
    p.write_text(FAULTY.format(fields=fields))
    with pytest.raises(InventoryError) as e:
        load_inventory(p)
    msg = str(e.value)
    assert "\n" not in msg and message in msg, msg
    assert msg.startswith(f"inventory file {p} is invalid at devices.0.simulator.faults.0")


def test_block_corruption_defaults():
    p_spec = load_inventory(DEFAULT_INVENTORY).get("sim-tv05").simulator
    assert p_spec is not None
    f = p_spec.faults[0].model_copy(update={"at_s": 0.0})
    assert (f.severity, f.seed) == (1.0, 0) and f.active(0.0) and f.active(1.49) and not f.active(1.5)


def test_in_process_device_shows_decoded_bitstream_damage_in_the_window_only(title, tmp_path):
    """sim-tv05: the window's pictures are what FFmpeg's decoder made of the damaged H.264."""
    cap, _ = record(lab_device("sim-tv05"), title, tmp_path)
    got = check_capture(cap, title, outside_max_mean=2.5)
    print("sim-tv05", {k: round(v, 3) for k, v in got.items()})


def test_title_selected_on_the_launcher_gets_its_damage_too(title, tmp_path):
    """Selected with a key rather than launched, the title's pictures are computed in a thread of
    their own; a window 1.2 s into the title is reached (or waited for) without losing a frame."""
    spec = lab_device("sim-tv05")
    assert spec.simulator is not None
    spec.simulator.faults = [f.model_copy(update={"at_s": 1.2, "duration_s": 0.8}) for f in spec.simulator.faults]
    cap, _ = record(spec, title, tmp_path, seconds=3.2, from_launcher=True)
    got = check_capture(cap, title, outside_max_mean=2.5, at_s=1.2, duration_s=0.8)
    print("sim-tv05 from the launcher", {k: round(v, 3) for k, v in got.items()})


def test_streamed_device_loses_ts_packets_in_the_window_only(title, tmp_path, pulse_server):
    """sim-tv06: video TS packets lost on the way; the capture side's decoder conceals, and is
    clean again from the keyframe after the window. No frame is lost whole (no rig loss)."""
    spec = lab_device("sim-tv06")
    port, sink = free_udp_port(), "vqa_test_block"
    assert spec.simulator is not None and spec.simulator.stream is not None
    spec.rig = spec.rig.model_copy(update={"video": f"udp://127.0.0.1:{port}", "audio": f"pulse:{sink}.monitor"})
    spec.simulator.stream = spec.simulator.stream.model_copy(
        update={"video_url": f"udp://127.0.0.1:{port}", "audio_sink": sink}
    )
    cap, lost = record(spec, title, tmp_path)
    assert lost is not None and lost[0] > 0.02 * lost[1], lost
    got = check_capture(cap, title, outside_max_mean=4.0)
    print("sim-tv06", {k: round(v, 3) for k, v in got.items()}, "TS packets lost / exposed", lost)


def test_ts_sender_loses_only_video_payload_packets(tmp_path):
    """The sender between the real TS muxer and a real UDP socket: with a link set, only video
    packets that neither start a PES nor carry the spared rows' slices go missing."""
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(2.0)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sender = TsSender(f"udp://127.0.0.1:{rx.getsockname()[1]}")
    written: list[tuple[bool, bytes]] = []  # what the muxer wrote, and whether a link was set
    spy = sender.write

    def write(data: bytes) -> int:
        written.append((sender.link is not None, bytes(data)))
        return spy(data)

    sender.write = write  # type: ignore[method-assign]
    rng = np.random.default_rng(1)
    with av.open(sender, "w", format="mpegts", container_options={"flush_packets": "1"}) as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 320, 192, "yuv420p"
        s.options = {"preset": "ultrafast", "tune": "zerolatency", "x264-params": "slices=4"}
        for i in range(20):
            img = rng.integers(0, 255, (192, 320, 3), np.uint8)
            sender.link = LossyLink(GilbertElliott.for_severity(1.0, 2), (160, 176)) if i >= 5 else None
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                c.mux(p)
            sender.end_frame(320)
            sender.link = None
    sent = b"".join(data for _, data in written)
    got = b""
    try:
        while True:
            got += rx.recv(65536)
    except TimeoutError:
        pass
    rx.close()

    def packets(ts: bytes) -> list[bytes]:
        return [ts[i : i + 188] for i in range(0, len(ts), 188)]

    before, after = packets(sent), packets(got)
    assert all(p[0] == 0x47 for p in after)
    pid = lambda p: ((p[1] & 0x1F) << 8) | p[2]  # noqa: E731
    video = sender.video_pids
    assert len(video) == 1
    for kind in (lambda p: pid(p) not in video, lambda p: bool(p[1] & 0x40)):  # other PIDs; PES starts
        assert [p for p in before if kind(p)] == [p for p in after if kind(p)]
    lost = len(before) - len(after)
    assert lost == sender.lost_packets > 0 and sender.lossy_packets > lost
    assert set(after) <= set(before)
    exposed = [p for p in packets(b"".join(d for lossy, d in written if lossy)) if pid(p) in video]
    exposed = [p for p in exposed if not p[1] & 0x40 and (p[3] >> 4) & 1]
    assert 0 < sender.lossy_packets < len(exposed), "the slices over the spared rows never meet the channel"
