"""Loopback peers that speak the real wire protocols of the control transports (127.0.0.1 only)."""

from __future__ import annotations

from harness.config import DeviceSpec


def spec(control: str, name: str = "lab-tv01") -> DeviceSpec:
    """An inventory entry for a device controlled through `control` (the rig is never opened here)."""
    return DeviceSpec(name=name, kind="tv", control=control, rig={"video": "v4l2:///dev/video0"})
