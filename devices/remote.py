"""A real device: a control transport (IR, serial, ADB, ECP, CEC ...) plus a capture rig.

The rig is opened lazily through `harness.capture.backends.open_rig`, so pressing keys (`vqa press`) needs
no capture hardware and no capture backend import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devices.base import Device, PlayerStatus
from devices.control import ControlTransport, open_transport
from harness.config import DeviceSpec

if TYPE_CHECKING:
    from harness.capture.rig import CaptureRig


class RemoteDevice(Device):
    """Keys, launches and player state go to the transport; picture and sound come from the rig."""

    def __init__(self, spec: DeviceSpec, transport: ControlTransport | None = None):
        super().__init__(spec)
        self.transport = transport if transport is not None else open_transport(spec)
        self._rig: CaptureRig | None = None

    @property
    def rig(self) -> CaptureRig:
        if self._rig is None:
            from harness.capture.backends import open_rig

            self._rig = open_rig(self.spec)
        return self._rig

    def open(self) -> None:
        self.transport.open()

    def close(self) -> None:
        try:
            self.transport.close()
        finally:
            if self._rig is not None:
                self._rig.close()
                self._rig = None

    def _send_key(self, key: str) -> None:
        self.transport.send_key(key)

    def launch(self, title_id: str) -> None:
        self.transport.launch(title_id)

    def status(self) -> PlayerStatus | None:
        return self.transport.status()

    def describe(self) -> dict[str, Any]:
        return self.transport.describe()
