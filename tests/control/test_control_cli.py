"""`vqa press` end to end: a temporary inventory pointing at loopback peers, and the simulated TV."""

from __future__ import annotations

import pytest
import yaml
from peers.ecp import EcpPeer
from peers.itach import ItachPeer
from peers.line_server import LineServer

from devices import DeviceError, open_device
from devices.control import available_schemes
from harness.cli.app import main
from harness.config import load_inventory


def _inventory(tmp_path, **controls: str):
    devices = [
        {"name": name, "kind": "tv", "control": control, "rig": {"video": "v4l2:///dev/video0"}}
        for name, control in controls.items()
    ]
    path = tmp_path / "lab-test.yaml"
    path.write_text(yaml.safe_dump({"devices": devices}))
    return path


@pytest.fixture
def peers():
    itach, ecp = ItachPeer(), EcpPeer()
    serial = LineServer(lambda line: f"c 01 OK{line.decode().split()[-1]}x\r".encode())
    yield itach, serial, ecp
    for p in (itach, serial, ecp):
        p.close()


def test_press_over_itach_serial_and_ecp(tmp_path, peers, capsys):
    itach, serial, ecp = peers
    inv = _inventory(
        tmp_path,
        **{
            "ir-tv": f"itach://{itach.address}/1:1?codeset=example-nec-tv",
            "lg-tv": f"serial+socket://{serial.address}?map=example-lg-tv",
            "roku": f"ecp://127.0.0.1:{ecp.port}?app=12",
        },
    )
    assert main(["press", "--device", "ir-tv", "--inventory", str(inv), "home", "select", "--delay-ms", "0"]) == 0
    out = capsys.readouterr().out
    assert "ir-tv: pressed home\nir-tv: pressed select\n" in out
    assert "status: not reported by itach:// control" in out
    assert [line.split(b",")[:3] for line in itach.received] == [[b"sendir", b"1:1", b"1"], [b"sendir", b"1:1", b"2"]]

    assert main(["press", "--device", "lg-tv", "--inventory", str(inv), "volume_up", "0"]) == 0
    assert serial.received == [b"mc 01 02\r", b"mc 01 10\r"]

    ecp.state, ecp.position_ms = "play", 4000
    assert main(["press", "--device", "roku", "--inventory", str(inv), "rewind"]) == 0
    assert "status: playing 12 at 4.00 s" in capsys.readouterr().out
    assert ("POST", "/keypress/Rev") in ecp.requests


def test_press_errors_are_one_line_exit_2(tmp_path, peers, capsys):
    itach, _, _ = peers
    itach.script = ["err"]
    inv = _inventory(tmp_path, **{"ir-tv": f"itach://{itach.address}/1:1?codeset=example-nec-tv"})
    assert main(["press", "--device", "ir-tv", "--inventory", str(inv), "up"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vqa: error: ir-tv: control (iTach IR at 127.0.0.1:") and "\n" not in err
    assert main(["press", "--device", "ir-tv", "--inventory", str(inv), "warp"]) == 2
    assert "unknown key(s) warp; known keys:" in capsys.readouterr().err
    assert main(["press", "--device", "nope", "--inventory", str(inv), "up"]) == 2
    assert "unknown device 'nope'" in capsys.readouterr().err


def test_unknown_scheme_lists_available(tmp_path):
    inv = load_inventory(_inventory(tmp_path, box="telnet://127.0.0.1:23"))
    with pytest.raises(DeviceError, match=r"control scheme 'telnet' .* has no adapter \(available: adb, cec, ecp"):
        open_device(inv.get("box"))
    assert {"sim", "itach", "lirc", "serial", "serial+socket", "adb", "ecp", "cec"} <= set(available_schemes())


def test_press_on_simulated_tv(capsys):
    assert main(["press", "--device", "sim-tv01", "select", "--delay-ms", "0"]) == 0
    out = capsys.readouterr().out
    assert "sim-tv01: pressed select" in out
    assert "status: loading" in out or "status: playing" in out
