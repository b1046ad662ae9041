"""What every device adapter offers, whatever its control transport."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from harness.capture.rig import CaptureRig
from harness.config import DeviceSpec

# One key vocabulary for every transport (IR, serial, ADB, ECP, CEC, simulated).
KEYS = frozenset(
    [
        "home",
        "back",
        "up",
        "down",
        "left",
        "right",
        "select",
        "play_pause",
        "play",
        "pause",
        "stop",
        "fast_forward",
        "rewind",
        "power",
        "volume_up",
        "volume_down",
        "mute",
        "info",
        "menu",
        "captions",  # closed captions / subtitles on or off (CC, SUBTITLE)
    ]
    + [str(d) for d in range(10)]
)

KeyListener = Callable[[str, float], None]  # key, monotonic time of the press


class DeviceError(Exception):
    """Controlling the device failed; the message names the device, the part and the address."""


class StateTimeout(DeviceError):
    """The device answered, but its player never reached the state asked for (a title that never
    starts): a defect of the device under test, where other DeviceErrors are the lab's."""


@dataclass
class PlayerStatus:
    """What the device's player reports about itself (where the platform can tell)."""

    state: str  # home | loading | playing | paused | seeking
    title_id: str | None
    position_s: float


class Device(ABC):
    def __init__(self, spec: DeviceSpec):
        self.spec = spec
        self._listeners: list[KeyListener] = []
        self._captions_on = False  # what this harness last set: devices tagged `captions` start off

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    @abstractmethod
    def rig(self) -> CaptureRig: ...

    def open(self) -> None:
        """Connect to the device; raise DeviceError naming what to check."""

    def close(self) -> None:
        """Release connections and threads."""

    def add_key_listener(self, cb: KeyListener) -> None:
        self._listeners.append(cb)

    def remove_key_listener(self, cb: KeyListener) -> None:
        if cb in self._listeners:
            self._listeners.remove(cb)

    def press(self, key: str) -> None:
        if key not in KEYS:
            raise DeviceError(f"{self.name}: unknown key {key!r}; known keys: {', '.join(sorted(KEYS))}")
        t = time.monotonic()
        self._send_key(key)
        for cb in list(self._listeners):
            cb(key, t)

    @abstractmethod
    def _send_key(self, key: str) -> None: ...

    @abstractmethod
    def launch(self, title_id: str) -> None:
        """Start playing a title (deep link where the platform has one, else navigation)."""

    def set_captions(self, on: bool) -> None:
        """Turn captions on or off. The `captions` key toggles them, so it is pressed only when the
        state this harness last set differs (devices tagged `captions` start with them off); a
        device that can report its caption state overrides `captions_state`."""
        state = self.captions_state()
        if state is None:
            state = self._captions_on
        if state != on:
            self.press("captions")
        self._captions_on = on

    def captions_state(self) -> bool | None:
        """Whether captions are on, where the platform can tell; None where it cannot."""
        return None

    def status(self) -> PlayerStatus | None:
        """The player's own state, or None where the platform cannot report it."""
        return None

    def wait_for_state(self, state: str, timeout_s: float = 10.0) -> PlayerStatus:
        deadline = time.monotonic() + timeout_s
        st = self.status()
        while time.monotonic() < deadline:
            st = self.status()
            if st is not None and st.state == state:
                return st
            time.sleep(0.02)
        raise StateTimeout(f"{self.name}: player did not reach state {state!r} within {timeout_s} s (last: {st})")

    def __enter__(self) -> Device:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
