"""RS-232 transport through `socket://` against a loopback serial peer: bytes, ack, nak, retries, timeout."""

from __future__ import annotations

import pytest
from peers import spec
from peers.line_server import LineServer, free_port

from devices import DeviceError, open_device
from devices.serial_rs232 import SerialMap, load_serial_map


class LgPeer(LineServer):
    """Answers LG-style `mc 01 XX` with `c 01 OKXXx`; `script` entries: ok, ng, silent, garbage."""

    def __init__(self, script: list[str] | None = None):
        self.script = list(script or [])
        super().__init__(self._answer, sep=b"\r")

    def _answer(self, line: bytes) -> bytes | None:
        mode = self.script.pop(0) if self.script else "ok"
        code = line.decode().split()[-1]
        if mode == "silent":
            return None
        if mode == "garbage":
            return b"\x00\xffzz\r"
        if mode == "echo_ok":
            return line + b"\r" + f"c 01 OK{code}x\r".encode()
        return f"c 01 {'NG' if mode == 'ng' else 'OK'}{code}x\r".encode()


@pytest.fixture
def peer():
    p = LgPeer()
    yield p
    p.close()


def _dev(peer: LgPeer):
    return open_device(spec(f"serial+socket://{peer.address}?map=example-lg-tv"))


def test_keys_send_exact_bytes_and_wait_for_ack(peer):
    with _dev(peer) as dev:
        dev.press("select")
        dev.press("7")
        dev.press("power")
    assert peer.received == [b"mc 01 44\r", b"mc 01 17\r", b"ka 01 00\r"]
    assert peer.connections == 1


def test_echo_is_skipped(peer):
    peer.script = ["echo_ok"]
    with _dev(peer) as dev:
        dev.press("home")
    assert peer.received == [b"mc 01 7C\r"]


def test_nak_is_a_refusal_without_retry(peer):
    peer.script = ["ng"]
    with _dev(peer) as dev, pytest.raises(DeviceError) as e:
        dev.press("up")
    assert str(e.value).startswith(f"lab-tv01: control (RS-232 at socket://{peer.address}): device refused 'up'")
    assert "c 01 NG40x" in str(e.value)
    assert peer.received == [b"mc 01 40\r"]


def test_silence_is_retried_then_times_out(peer):
    peer.script = ["silent", "silent", "silent"]
    with (
        _dev(peer) as dev,
        pytest.raises(DeviceError, match=r"no answer to 'down' within 1 s \(3 tries\); check the cable"),
    ):
        dev.press("down")
    assert peer.received == [b"mc 01 41\r"] * 3


def test_one_silence_then_ack_succeeds(peer):
    peer.script = ["silent", "ok"]
    with _dev(peer) as dev:
        dev.press("down")
    assert len(peer.received) == 2


def test_malformed_reply_after_retries(peer):
    peer.script = ["garbage"] * 3
    with _dev(peer) as dev, pytest.raises(DeviceError, match=r"malformed reply .* after 3 tries"):
        dev.press("left")


def test_connection_refused_and_unknown_map():
    port = free_port()
    dev = open_device(spec(f"serial+socket://127.0.0.1:{port}?map=example-lg-tv"))
    with pytest.raises(DeviceError, match=rf"RS-232 at socket://127.0.0.1:{port}\): cannot open the port"):
        dev.open()
    dev = open_device(spec(f"serial+socket://127.0.0.1:{port}?map=nope"))
    with pytest.raises(DeviceError, match=r"no serial map 'nope'.*available: example-lg-tv"):
        dev.open()


def test_key_missing_from_map_names_the_map(peer):
    with (
        _dev(peer) as dev,
        pytest.raises(DeviceError, match="key 'play_pause' has no code in serial map 'example-lg-tv'"),
    ):
        dev.press("play_pause")
    assert peer.received == []


def test_map_hex_commands_and_validation():
    m = SerialMap(name="x", ack="^OK$", line_ending="\\r\\n", keys={"home": "hex:08 22 00", "up": "UP\\x01"})
    assert m.command("home") == b"\x08\x22\x00"
    assert m.command("up") == b"UP\x01\r\n"
    with pytest.raises(ValueError, match="bad regex"):
        SerialMap(name="x", ack="([", keys={})
    assert load_serial_map("example-lg-tv").baud == 9600
