"""Control transports: how key presses and app launches reach a real device.

One module per transport (`itach`, `lirc`, `serial_rs232`, `adb`, `roku_ecp`, `cec`), each mapping
the one key vocabulary of `devices.base.KEYS` onto its wire protocol. A transport is chosen by the
scheme of the inventory's control URI; modules are imported only when their scheme is used, so a
lab without `adb` or `pyserial` on a host still loads the inventory.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from typing import Any, ClassVar
from urllib.parse import SplitResult, parse_qs, urlsplit

from devices.base import KEYS, DeviceError, PlayerStatus
from harness.config import DeviceSpec

# scheme -> module that defines (and registers) its transport
TRANSPORT_MODULES: dict[str, str] = {
    "itach": "devices.itach",
    "lirc": "devices.lirc",
    "serial": "devices.serial_rs232",
    "serial+socket": "devices.serial_rs232",
    "serial+rfc2217": "devices.serial_rs232",
    "adb": "devices.adb",
    "ecp": "devices.roku_ecp",
    "cec": "devices.cec",
}

REGISTRY: dict[str, type[ControlTransport]] = {}


class ControlTransport(ABC):
    """Sends keys (and launches apps, and reads player state where the platform can) to one device.

    Subclasses set `label` (a human name used in errors) and implement `open`, `close`, `send_key`.
    Every failure is raised as one `DeviceError` built by `error()`, which names the device, the
    part ("control"), the address and what to check.
    """

    label: ClassVar[str] = "control transport"
    schemes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, spec: DeviceSpec):
        self.spec = spec
        self.uri: SplitResult = urlsplit(spec.control)
        self.params: dict[str, str] = {k: v[-1] for k, v in parse_qs(self.uri.query).items()}

    @property
    def address(self) -> str:
        """Where the device is reached, for messages (host:port, socket path, serial port, ...)."""
        return self.spec.control.split("?", 1)[0]

    def error(self, what: str, check: str | None = None) -> DeviceError:
        """One clear message: device, part, transport, address, what happened, what to check."""
        msg = f"{self.spec.name}: control ({self.label} at {self.address}): {what}"
        return DeviceError(msg + (f"; check {check}" if check else ""))

    def check_key(self, key: str, mapping: dict[str, Any], where: str) -> Any:
        """The transport's code for `key`, or a DeviceError saying which map lacks it."""
        if key not in KEYS:
            raise self.error(f"unknown key {key!r}", f"the key is one of: {', '.join(sorted(KEYS))}")
        if key not in mapping:
            raise self.error(f"key {key!r} has no code in {where}", f"{where} (it maps: {', '.join(sorted(mapping))})")
        return mapping[key]

    @abstractmethod
    def open(self) -> None:
        """Connect (or check the tool/port is there); raise DeviceError naming what to check."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection; safe to call twice."""

    @abstractmethod
    def send_key(self, key: str) -> None:
        """Send one key of `devices.base.KEYS`; return once the device (or its blaster) acknowledged it."""

    def launch(self, target: str) -> None:
        """Start an app or open a deep link; transports without one say so."""
        raise self.error(f"launching {target!r} is not supported by {self.label}", "navigate with keys instead")

    def status(self) -> PlayerStatus | None:
        """The player's state where the platform reports it; None where it cannot (IR, CEC, serial)."""
        return None

    def describe(self) -> dict[str, Any]:
        """What this transport is and where it points, for capture metadata and `vqa devices`."""
        return {"transport": self.label, "address": self.address, "params": dict(self.params)}

    def __enter__(self) -> ControlTransport:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def register(cls: type[ControlTransport]) -> type[ControlTransport]:
    """Class decorator: make a transport available under each of its `schemes`."""
    for scheme in cls.schemes:
        REGISTRY[scheme] = cls
    return cls


def available_schemes() -> list[str]:
    """Every control-URI scheme with an adapter, the simulated device's included."""
    return sorted({"sim", *TRANSPORT_MODULES, *REGISTRY})


def open_transport(spec: DeviceSpec) -> ControlTransport:
    """Create (not yet open) the transport for a device's control URI, chosen by its scheme."""
    scheme = spec.control_scheme
    if scheme not in REGISTRY and scheme in TRANSPORT_MODULES:
        importlib.import_module(TRANSPORT_MODULES[scheme])
    cls = REGISTRY.get(scheme)
    if cls is None:
        raise DeviceError(
            f"{spec.name}: control scheme {scheme!r} in {spec.control!r} has no adapter "
            f"(available: {', '.join(available_schemes())})"
        )
    return cls(spec)
