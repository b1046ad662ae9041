"""HDMI-CEC transport against a stand-in `cec-client` on PATH: argv, stdin commands, errors, hangs."""

from __future__ import annotations

import pytest
from peers import fake_tools, spec

from devices import DeviceError, open_device
from devices.cec import CecTransport
from devices.control import open_transport


@pytest.fixture
def log(monkeypatch, tmp_path):
    return fake_tools.install(monkeypatch, tmp_path)


def test_key_is_pressed_then_released(log):
    with open_device(spec("cec:///dev/cec0?logical=0")) as dev:
        dev.press("select")
        dev.press("fast_forward")
    calls = fake_tools.calls(log)
    assert [c["argv"] for c in calls] == [["-s", "-d", "1", "/dev/cec0"]] * 2
    assert [c["stdin"] for c in calls] == ["tx 10:44:00\ntx 10:45\n", "tx 10:44:49\ntx 10:45\n"]


def test_power_and_active_source_to_playback_device(log):
    t = open_transport(spec("cec://RPI?logical=4"))
    assert isinstance(t, CecTransport)
    t.power_on()
    t.standby()
    t.make_active_source()
    t.send_key("7")
    calls = fake_tools.calls(log)
    assert calls[0]["argv"] == ["-s", "-d", "1", "RPI"]
    assert [c["stdin"] for c in calls] == ["on 4\n", "standby 4\n", "as\n", "tx 14:44:27\ntx 14:45\n"]
    with pytest.raises(DeviceError, match="not supported by HDMI-CEC"):
        t.launch("netflix")


def test_cec_client_error_and_hang(log, monkeypatch):
    monkeypatch.setenv("FAKE_CEC_MODE", "error")
    with pytest.raises(DeviceError) as e:
        open_device(spec("cec:///dev/cec0")).press("home")
    assert str(e.value).startswith("lab-tv01: control (HDMI-CEC at /dev/cec0 logical 0): cec-client failed sending")
    assert "could not open a connection" in str(e.value) and "check the HDMI cable" in str(e.value)
    monkeypatch.setenv("FAKE_CEC_MODE", "hang")
    with pytest.raises(DeviceError, match=r"did not finish sending 'home' within 0.5 s"):
        open_device(spec("cec:///dev/cec0?timeout=0.5")).press("home")


def test_missing_tool_and_bad_address(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DeviceError, match=r"cec-client is not on PATH; check libcec's tools"):
        open_device(spec("cec:///dev/cec0")).open()
    with pytest.raises(DeviceError, match="logical address must be 0-14"):
        open_device(spec("cec:///dev/cec0?logical=15"))
