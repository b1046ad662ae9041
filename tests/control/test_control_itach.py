"""iTach IR transport against a loopback iTach peer: exact sendir bytes, busyIR, ERR_, silence, garbage."""

from __future__ import annotations

import pytest
import yaml
from peers import spec
from peers.itach import ItachPeer
from peers.line_server import free_port

from devices import DeviceError, open_device
from devices import itach as itach_mod
from devices.control import open_transport
from devices.ir_codes import CODESET_DIR, pronto_to_signal
from devices.remote import RemoteDevice


@pytest.fixture
def peer():
    p = ItachPeer()
    yield p
    p.close()


def _device(peer: ItachPeer, extra: str = "") -> RemoteDevice:
    dev = open_device(spec(f"itach://{peer.address}/1:2?codeset=example-nec-tv{extra}"))
    assert isinstance(dev, RemoteDevice)
    return dev


def _codeset() -> dict:
    return yaml.safe_load((CODESET_DIR / "example-nec-tv.yaml").read_text())


def test_pronto_conversion_frequency_and_offset():
    sig = pronto_to_signal("0000 006D 0002 0001 0156 00AB 0015 0040 0156 0056")
    assert sig.frequency_hz == round(1_000_000 / (0x6D * 0.241246)) == 38029
    assert sig.timings == (342, 171, 21, 64, 342, 86)
    assert sig.repeat_offset == 5  # the repeat pair starts after 2 once-pairs
    assert pronto_to_signal("0000 0068 0001 0000 0010 0020").frequency_hz == 39857
    with pytest.raises(ValueError, match="announces"):
        pronto_to_signal("0000 006D 0003 0000 0010 0020")


def test_press_sends_exact_sendir_from_pronto(peer):
    words = [int(w, 16) for w in _codeset()["keys"]["power"]["pronto"].split()]
    with _device(peer) as dev:
        dev.press("power")
        dev.press("home")
    timings = ",".join(str(w) for w in words[4:])
    assert peer.received[0] == f"sendir,1:2,1,38029,1,69,{timings}\r".encode()
    assert peer.received[1].startswith(b"sendir,1:2,2,38029,1,69,342,171,21,")
    assert peer.connections == 1  # one connection kept for all keys


def test_raw_timing_key_passes_through(peer):
    raw = _codeset()["keys"]["mute"]["raw"]
    with _device(peer) as dev:
        dev.press("mute")
    expected = f"sendir,1:2,1,38000,1,{raw['repeat_offset']},{','.join(map(str, raw['timings']))}\r"
    assert peer.received == [expected.encode()]


def test_busy_ir_is_retried_with_new_ids(peer, monkeypatch):
    monkeypatch.setattr(itach_mod, "BUSY_BACKOFF_S", 0.01)
    peer.script = ["busy", "busy"]
    with _device(peer) as dev:
        dev.press("select")
    ids = [line.split(b",")[2] for line in peer.received]
    assert ids == [b"1", b"2", b"3"]


def test_busy_forever_fails_clearly(peer, monkeypatch):
    monkeypatch.setattr(itach_mod, "BUSY_BACKOFF_S", 0.001)
    peer.script = ["busy"] * 10
    with _device(peer) as dev, pytest.raises(DeviceError, match=r"still busy \(busyIR\) after 5 retries"):
        dev.press("up")
    assert len(peer.received) == 6


def test_err_reply_names_device_address_and_meaning(peer):
    peer.script = ["err"]
    with _device(peer) as dev, pytest.raises(DeviceError) as e:
        dev.press("up")
    msg = str(e.value)
    assert msg.startswith("lab-tv01: control (iTach IR at 127.0.0.1:")
    assert f"{peer.address} connector 1:2" in msg
    assert "ERR 014 (blaster command sent to non-blaster connector)" in msg
    assert "; check " in msg


def test_no_answer_times_out(peer):
    peer.script = ["silent"]
    with _device(peer, "&timeout=0.3") as dev, pytest.raises(DeviceError, match=r"no answer within 0.3 s to 'down'"):
        dev.press("down")


def test_malformed_reply(peer):
    peer.script = ["garbage"]
    with _device(peer) as dev, pytest.raises(DeviceError, match="malformed reply 'HTTP/1.1 400 Bad Request'"):
        dev.press("down")


def test_connection_refused():
    port = free_port()
    dev = open_device(spec(f"itach://127.0.0.1:{port}/1:1?codeset=example-nec-tv"))
    with pytest.raises(DeviceError, match=rf"lab-tv01: control \(iTach IR at 127.0.0.1:{port} .*cannot connect"):
        dev.open()


def test_unknown_codeset_and_launch_unsupported(peer):
    t = open_transport(spec(f"itach://{peer.address}/1:1?codeset=nope"))
    with pytest.raises(DeviceError, match=r"no IR code set 'nope'.*available: example-nec-tv"):
        t.open()
    t = open_transport(spec(f"itach://{peer.address}/3?codeset=example-nec-tv"))
    assert t.describe()["connector"] == "1:3"
    with pytest.raises(DeviceError, match="not supported by iTach IR"):
        t.launch("netflix")
    assert t.status() is None
