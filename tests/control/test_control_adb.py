"""ADB transport against a stand-in `adb` on PATH: exact argv lists, deep links, media_session, failures."""

from __future__ import annotations

import pytest
from peers import fake_tools, spec

from devices import DeviceError, open_device
from devices.adb import parse_media_session
from devices.base import PlayerStatus


@pytest.fixture
def log(monkeypatch, tmp_path):
    return fake_tools.install(monkeypatch, tmp_path)


def _argvs(log):
    return [c["argv"] for c in fake_tools.calls(log)]


def test_network_device_connects_then_sends_keyevents(log):
    with open_device(spec("adb://127.0.0.1:5555")) as dev:
        dev.press("select")
        dev.press("play_pause")
        dev.press("9")
    assert _argvs(log) == [
        ["connect", "127.0.0.1:5555"],
        ["-s", "127.0.0.1:5555", "get-state"],
        ["-s", "127.0.0.1:5555", "shell", "input", "keyevent", "KEYCODE_DPAD_CENTER"],
        ["-s", "127.0.0.1:5555", "shell", "input", "keyevent", "KEYCODE_MEDIA_PLAY_PAUSE"],
        ["-s", "127.0.0.1:5555", "shell", "input", "keyevent", "KEYCODE_9"],
    ]


def test_deep_link_is_one_quoted_argument(log):
    url = "https://example.com/watch?v=1&t=2;reboot"
    with open_device(spec("adb://SER123?package=com.example.player")) as dev:
        dev.launch(url)
        dev.launch("com.example.player")
    argvs = _argvs(log)
    assert argvs[0] == ["-s", "SER123", "get-state"]  # USB serial: no adb connect
    assert argvs[1] == [
        "-s", "SER123", "shell", "am", "start", "-W", "-a", "android.intent.action.VIEW",
        "-d", "'https://example.com/watch?v=1&t=2;reboot'", "com.example.player",
    ]  # fmt: skip
    assert argvs[2][3:] == ["monkey", "-p", "com.example.player", "-c", "android.intent.category.LAUNCHER", "1"]


def test_status_from_media_session(log):
    with open_device(spec("adb://SER123")) as dev:
        assert dev.status() == PlayerStatus("playing", "com.example.player", 12.345)
    assert _argvs(log)[-1] == ["-s", "SER123", "shell", "dumpsys", "media_session"]


def test_failures(log, monkeypatch):
    monkeypatch.setenv("FAKE_ADB_MODE", "offline")
    with pytest.raises(DeviceError) as e:
        open_device(spec("adb://SER123")).open()
    assert str(e.value) == (
        "lab-tv01: control (ADB at SER123): adb failed to reach the device: error: device 'SER123' not found; "
        "check USB debugging is authorised"
    )
    monkeypatch.setenv("FAKE_ADB_MODE", "refused_connect")
    with pytest.raises(DeviceError, match="adb connect failed: failed to connect to '127.0.0.1:5555'"):
        open_device(spec("adb://127.0.0.1:5555")).open()
    monkeypatch.setenv("FAKE_ADB_MODE", "launch_error")
    with pytest.raises(DeviceError, match="launching 'app://x' failed: Error: Activity not started"):
        open_device(spec("adb://SER123")).launch("app://x")
    monkeypatch.setenv("FAKE_ADB_MODE", "garbage")
    assert open_device(spec("adb://SER123")).status() == PlayerStatus("home", None, 0.0)
    monkeypatch.setenv("FAKE_ADB_MODE", "hang")
    with pytest.raises(DeviceError, match=r"adb did not finish to send 'home' within 0.5 s"):
        open_device(spec("adb://SER123?timeout=0.5")).press("home")


def test_bad_serial_and_missing_adb(monkeypatch, tmp_path):
    with pytest.raises(DeviceError, match="no valid device serial"):
        open_device(spec("adb://-oops"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DeviceError, match="the adb executable is not on PATH"):
        open_device(spec("adb://SER123")).open()


def test_parse_media_session_picks_active_session():
    text = "    A a/A (userId=0)\n      active=false\n      state=PlaybackState {state=2, position=5000, x}\n"
    assert parse_media_session(text) == PlayerStatus("paused", None, 5.0)
    assert parse_media_session("nothing here") is None
