"""Fuzzing the readers of everything that comes from outside: inventory and calibration files,
title manifests, capture bundles (meta.json, frames.csv, markers.jsonl) and the replies of every
control transport. Whatever the input, only the documented error type comes out, never another
exception. A bounded number of examples here; a long run: `pytest tests/test_fuzz.py
--hypothesis-profile=fuzz-long` (profiles in tests/conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from peers import spec
from peers.ecp import EcpPeer
from peers.line_server import LineServer

from devices import DeviceError, open_device
from devices.adb import parse_media_session
from devices.base import PlayerStatus
from devices.roku_ecp import parse_media_player
from harness.capture.rig import Capture, CaptureError
from harness.config import Inventory, InventoryError, load_inventory
from harness.media import MediaError, MediaReader
from harness.reference.titles import CONTENT_DIR, TitleError, load_manifest

REPO = Path(__file__).resolve().parent.parent
LAB = yaml.safe_load((REPO / "devices" / "lab.yaml").read_text())
MANIFEST = json.loads((CONTENT_DIR / "manifests" / "bbb-720p25.json").read_text())

# Values a hand-edited or damaged file may hold where another was expected.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)


@st.composite
def mutated(draw: Any, base: Any) -> Any:
    """`base` with a few of its values replaced by others, keys deleted or added."""
    doc = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, 3))):
        node = doc
        while isinstance(node, dict | list) and node and draw(st.booleans()):
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            k = draw(st.sampled_from(keys))
            if not isinstance(node[k], dict | list):
                break
            node = node[k]
        if isinstance(node, dict) and node:
            k = draw(st.sampled_from(list(node)))
            action = draw(st.sampled_from(["replace", "delete", "add"]))
            if action == "replace":
                node[k] = draw(values)
            elif action == "delete":
                del node[k]
            else:
                node[draw(st.text(max_size=10))] = draw(values)
        elif isinstance(node, list) and node:
            node[draw(st.integers(0, len(node) - 1))] = draw(values)
    return doc


def text_or_bytes(base_text: str) -> st.SearchStrategy[bytes]:
    """Raw bytes, text, or the valid text cut or spliced: the shapes a damaged file takes."""
    b = base_text.encode()
    return st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(str.encode),
        st.integers(0, len(b)).map(lambda n: b[:n]),
        st.tuples(st.integers(0, len(b)), st.binary(min_size=1, max_size=20)).map(
            lambda p: b[: p[0]] + p[1] + b[p[0] :]
        ),
    )


FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def examples(fraction: float) -> int:
    """A share of the active profile's examples, for the tests whose examples wait on a socket."""
    return max(10, int(settings().max_examples * fraction))


@pytest.fixture(scope="module")
def scratch():
    with tempfile.TemporaryDirectory(prefix="vqa-fuzz-") as d:
        yield Path(d)


# ---- inventory and calibration ------------------------------------------------------------------
def _inventory_outcome(path: Path) -> None:
    try:
        inv = load_inventory(path)
    except InventoryError as e:
        assert str(e) and "\n" not in str(e)
        return
    assert isinstance(inv, Inventory)


@FUZZ
@given(st.one_of(text_or_bytes(yaml.safe_dump(LAB)), mutated(LAB).map(lambda d: yaml.safe_dump(d).encode())))
def test_inventory_loader_raises_only_inventory_errors(scratch, data):
    (scratch / "lab.yaml").write_bytes(data)
    (scratch / "lab.calibration.yaml").unlink(missing_ok=True)
    _inventory_outcome(scratch / "lab.yaml")


@FUZZ
@given(
    st.one_of(
        text_or_bytes("sim-tv03:\n  av_offset_ms: -3.2\n"),
        values.map(lambda v: yaml.safe_dump(v).encode()),
        st.dictionaries(st.sampled_from(["sim-tv01", "sim-tv03"]), values).map(lambda v: yaml.safe_dump(v).encode()),
    )
)
def test_calibration_loader_raises_only_inventory_errors(scratch, data):
    (scratch / "lab.yaml").write_text(yaml.safe_dump(LAB))
    (scratch / "lab.calibration.yaml").write_bytes(data)
    _inventory_outcome(scratch / "lab.yaml")


# ---- title manifests ----------------------------------------------------------------------------
@FUZZ
@given(st.one_of(text_or_bytes(json.dumps(MANIFEST)), mutated(MANIFEST).map(lambda d: json.dumps(d).encode())))
def test_manifest_reader_raises_only_title_errors(scratch, data):
    p = scratch / "t.json"
    p.write_bytes(data)
    try:
        m = load_manifest(p)
    except TitleError as e:
        assert "\n" not in str(e)
        return
    assert float(m["fps"]) > 0 and all(int(e["frame"]) >= 0 for e in m["sync"]["events"])


# ---- capture bundles ----------------------------------------------------------------------------
META = {
    "device": "sim-tv01",
    "files": {"video": "video.mkv", "audio": "audio.wav", "frames": "frames.csv", "markers": "markers.jsonl"},
    "audio_start_s": 0.012,
    "duration_s": 2.0,
    "complete": True,
}


@pytest.fixture(scope="module")
def bundle(clips, tmp_path_factory) -> Path:
    """A real bundle: a short clip as video.mkv and audio.wav, with frames.csv and markers."""
    import av

    d = tmp_path_factory.mktemp("bundle")
    with av.open(str(clips["clean"])) as src:
        fps = float(src.streams.video[0].average_rate)
    for args in (["-an", "-c:v", "copy", "video.mkv"], ["-vn", "-c:a", "pcm_s16le", "audio.wav"]):
        cmd = ["ffmpeg", "-v", "error", "-y", "-i", str(clips["clean"]), "-t", "2", *args[:-1], str(d / args[-1])]
        subprocess.run(cmd, check=True)
    rows = "".join(f"{i},{i / fps:.3f},{100 + i / fps:.6f}\n" for i in range(int(2 * fps)))
    (d / "frames.csv").write_text("index,capture_s,monotonic_s\n" + rows)
    (d / "markers.jsonl").write_text('{"kind": "key", "capture_s": 0.5, "key": "pause"}\n')
    (d / "meta.json").write_text(json.dumps(META))
    return d


def _copy(bundle: Path, scratch: Path, replace: str, data: bytes) -> Path:
    """The bundle with one of its files replaced by `data` (the others linked)."""
    d = scratch / "b"
    if d.exists():
        shutil.rmtree(d)
    d.mkdir()
    for f in bundle.iterdir():
        (d / f.name).symlink_to(f)
    (d / replace).unlink()
    (d / replace).write_bytes(data)
    return d


@FUZZ
@given(st.one_of(text_or_bytes(json.dumps(META)), mutated(META).map(lambda d: json.dumps(d).encode())))
def test_bundle_meta_raises_only_media_and_capture_errors(bundle, scratch, data):
    d = _copy(bundle, scratch, "meta.json", data)
    try:
        MediaReader(d)
    except MediaError as e:
        assert "\n" not in str(e)
    try:
        Capture.load(d)
    except CaptureError as e:
        assert "\n" not in str(e)


@FUZZ
@given(text_or_bytes("index,capture_s,monotonic_s\n0,0.000,100.0\n1,0.040,100.04\n2,0.080,100.08\n"))
def test_frames_csv_raises_only_capture_errors(bundle, scratch, data):
    d = _copy(bundle, scratch, "frames.csv", data)
    try:
        times = Capture.load(d).frame_times()
    except CaptureError as e:
        assert "\n" not in str(e)
        return
    assert times.ndim == 1


@FUZZ
@given(text_or_bytes('{"kind": "key", "capture_s": 0.5, "key": "pause"}\n{"kind": "status", "capture_s": 1.0}\n'))
def test_markers_raise_only_capture_errors(bundle, scratch, data):
    d = _copy(bundle, scratch, "markers.jsonl", data)
    try:
        ms = Capture.load(d).markers()
    except CaptureError as e:
        assert "\n" not in str(e)
        return
    assert all(isinstance(m["capture_s"], int | float) for m in ms)


# ---- control transports' replies --------------------------------------------------------------
replies = st.one_of(
    st.binary(max_size=80),
    st.sampled_from([b"completeir,1:2,", b"busyIR,1:2,", b"ERR_1:2,", b"BEGIN\n", b"SUCCESS\n", b"END\n"]).flatmap(
        lambda head: st.binary(max_size=20).map(lambda tail: head + tail)
    ),
    st.lists(
        st.sampled_from(["BEGIN", "SEND_ONCE tv KEY_OK", "SUCCESS", "ERROR", "DATA", "1", "x", "END"]), max_size=7
    ).map(lambda lines: "".join(x + "\n" for x in lines).encode()),
)


@pytest.fixture(scope="module")
def scripted(scratch):
    """A loopback peer that answers every command line with the current `reply`."""
    state = {"reply": b""}
    tcp = LineServer(lambda line: state["reply"] or None, sep=b"\r")
    unix = LineServer(lambda line: state["reply"] or None, sep=b"\n", unix_path=str(scratch / "lircd"))
    yield state, tcp, unix
    tcp.close()
    unix.close()


def _press(control: str) -> None:
    try:
        with open_device(spec(control)) as dev:
            dev.press("select")
    except DeviceError as e:
        assert str(e)


@settings(FUZZ, max_examples=examples(0.4))
@given(replies)
def test_itach_replies_raise_only_device_errors(scripted, reply):
    state, tcp, _ = scripted
    state["reply"] = reply
    _press(f"itach://{tcp.address}/1:2?codeset=example-nec-tv&timeout=0.1")


@settings(FUZZ, max_examples=examples(0.4))
@given(replies)
def test_lircd_replies_raise_only_device_errors(scripted, reply):
    state, _, unix = scripted
    state["reply"] = reply
    _press(f"lirc://{unix.address}?remote=tv&timeout=0.1")


@pytest.fixture(scope="module")
def ecp():
    p = EcpPeer()
    yield p
    p.close()


XML = (
    '<?xml version="1.0"?><player error="false" state="play">'
    '<plugin id="12" name="App"/><position>1234 ms</position></player>'
)


@FUZZ
@given(text_or_bytes(XML))
def test_ecp_media_player_replies_raise_only_device_errors(ecp, data):
    ecp.media_xml = data.decode("utf-8", "replace")
    try:
        with open_device(spec(f"ecp://127.0.0.1:{ecp.port}")) as dev:
            st_ = dev.status()
    except DeviceError as e:
        assert str(e)
        return
    assert st_ is None or isinstance(st_, PlayerStatus)


@FUZZ
@given(text_or_bytes(XML).map(lambda b: b.decode("utf-8", "replace")))
def test_ecp_parser_raises_only_value_errors(text):
    try:
        st_ = parse_media_player(text)
    except ValueError as e:
        assert str(e)
        return
    assert isinstance(st_, PlayerStatus) and isinstance(st_.position_s, float)


DUMPSYS = """MEDIA SESSION SERVICE (dumpsys media_session)
  Sessions Stack - have 1 sessions:
    ExoPlayer com.example.player/ExoPlayer (userId=0)
      package=com.example.player
      active=true
      state=PlaybackState {state=3, position=12345, buffered position=20000, speed=1.0, updated=5093}
"""


@FUZZ
@given(text_or_bytes(DUMPSYS).map(lambda b: b.decode("utf-8", "replace")))
def test_adb_dumpsys_parser_never_raises(text):
    st_ = parse_media_session(text)
    assert st_ is None or (isinstance(st_, PlayerStatus) and st_.position_s >= 0)


CEC_CLIENT = """#!{python}
import os, sys
sys.stdin.read()
d = os.environ["FAKE_CEC_DIR"]
sys.stdout.buffer.write(open(os.path.join(d, "out"), "rb").read())
sys.exit(int(open(os.path.join(d, "rc")).read()))
"""


@pytest.fixture(scope="module")
def cec_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cec")
    exe = d / "cec-client"
    exe.write_text(CEC_CLIENT.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    old = os.environ.get("PATH", ""), os.environ.get("FAKE_CEC_DIR")
    os.environ["PATH"] = f"{d}{os.pathsep}{old[0]}"
    os.environ["FAKE_CEC_DIR"] = str(d)
    yield d
    os.environ["PATH"] = old[0]
    if old[1] is None:
        os.environ.pop("FAKE_CEC_DIR", None)


@settings(FUZZ, max_examples=examples(0.25))
@given(
    text_or_bytes("opening a connection to the CEC adapter...\nERROR: could not open a connection\n"),
    st.integers(0, 255),
)
def test_cec_client_output_raises_only_device_errors(cec_dir, out, rc):
    (cec_dir / "out").write_bytes(out)
    (cec_dir / "rc").write_text(str(rc))
    _press("cec:///dev/cec0?logical=0")
