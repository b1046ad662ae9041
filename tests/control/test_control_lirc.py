"""LIRC transport against a lircd peer on a UNIX socket: SEND_ONCE lines, SUCCESS/ERROR blocks, silence."""

from __future__ import annotations

import pytest
from peers import spec
from peers.lircd import LircdPeer

from devices import DeviceError, open_device


@pytest.fixture
def sock(tmp_path):
    return str(tmp_path / "lircd")


def test_send_once_lines_and_success(sock):
    peer = LircdPeer(sock, sighup=True)
    try:
        with open_device(spec(f"lirc://{sock}?remote=tv&key.select=KEY_ENTER")) as dev:
            dev.press("home")
            dev.press("select")
            dev.press("5")
        assert peer.received == [b"SEND_ONCE tv KEY_HOME\n", b"SEND_ONCE tv KEY_ENTER\n", b"SEND_ONCE tv KEY_5\n"]
    finally:
        peer.close()


def test_lircd_error_is_reported_with_its_reason(sock):
    peer = LircdPeer(sock, keys={"KEY_HOME"})
    try:
        with open_device(spec(f"lirc://{sock}?remote=tv")) as dev, pytest.raises(DeviceError) as e:
            dev.press("menu")
        assert str(e.value).startswith(f"lab-tv01: control (LIRC at {sock}): lircd refused 'SEND_ONCE tv KEY_MENU'")
        assert 'invalid code: "KEY_MENU"' in str(e.value)
    finally:
        peer.close()


def test_silence_and_garbage(sock):
    peer = LircdPeer(sock, mode="silent")
    try:
        with (
            open_device(spec(f"lirc://{sock}?remote=tv&timeout=0.3")) as dev,
            pytest.raises(DeviceError, match=r"no answer from lircd within 0.3 s to 'up'"),
        ):
            dev.press("up")
        peer.mode = "garbage"
        with (
            open_device(spec(f"lirc://{sock}?remote=tv&timeout=0.3")) as dev,
            pytest.raises(DeviceError, match="malformed lircd reply"),
        ):
            dev.press("up")
    finally:
        peer.close()


def test_no_lircd_and_no_remote(tmp_path):
    with pytest.raises(DeviceError, match=r"cannot connect to lircd: .*check lircd is running"):
        open_device(spec(f"lirc://{tmp_path}/missing?remote=tv")).open()
    with pytest.raises(DeviceError, match=r"no remote given"):
        open_device(spec(f"lirc://{tmp_path}/lircd"))
