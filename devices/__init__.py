"""Device adapters, chosen by the control URI's scheme in the lab inventory."""

from __future__ import annotations

from devices.base import KEYS, Device, DeviceError, PlayerStatus
from harness.config import DeviceSpec


def open_device(spec: DeviceSpec) -> Device:
    """Create (not yet open) the adapter for a device from its inventory entry."""
    scheme = spec.control_scheme
    if scheme == "sim":
        from devices.simulated import SimulatedDevice

        return SimulatedDevice(spec)
    from devices.remote import RemoteDevice

    return RemoteDevice(spec)  # open_transport raises DeviceError listing the schemes for an unknown one


__all__ = ["KEYS", "Device", "DeviceError", "PlayerStatus", "open_device"]
