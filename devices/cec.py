"""HDMI-CEC through libcec's `cec-client`, one short single-command run per action.

URI: `cec:///dev/cec0?logical=0` (a Linux CEC device) or `cec://RPI?logical=0` (an adapter name
as `cec-client -l` lists it); `logical` is the target's CEC logical address (0 = TV, 4 = playback
device 1, ...). A key is `tx 1L:44:<UI command>` (User Control Pressed) then `tx 1L:45` (Released),
written to `cec-client -s -d 1 PORT` on stdin; `-s` exits after stdin ends, `-d 1` logs errors
only, so any `ERROR` line means the command did not go out. Argument lists only, no shell.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any, ClassVar

from devices.control import ControlTransport, register
from harness.config import DeviceSpec

CEC_TIMEOUT_S = 15.0  # cec-client opens the adapter for every run; a Pulse-Eight takes a few seconds
OUR_ADDRESS = 1  # cec-client registers as a recording device, logical address 1

# CEC 1.4 table 27, "User Control Codes".
UI_COMMANDS: dict[str, int] = {
    "select": 0x00,
    "up": 0x01,
    "down": 0x02,
    "left": 0x03,
    "right": 0x04,
    "home": 0x09,  # Root Menu
    "menu": 0x0A,  # Setup Menu
    "back": 0x0D,  # Exit
    **{str(d): 0x20 + d for d in range(10)},
    "info": 0x35,  # Display Information
    "power": 0x40,
    "volume_up": 0x41,
    "volume_down": 0x42,
    "mute": 0x43,
    "play": 0x44,
    "stop": 0x45,
    "pause": 0x46,
    "rewind": 0x48,
    "fast_forward": 0x49,
    "play_pause": 0x61,  # Pause-Play Function
}


@register
class CecTransport(ControlTransport):
    """Keys as CEC User Control messages; power on/standby and active source as cec-client commands."""

    label: ClassVar[str] = "HDMI-CEC"
    schemes: ClassVar[tuple[str, ...]] = ("cec",)

    def __init__(self, spec: DeviceSpec):
        super().__init__(spec)
        self.port = self.uri.netloc + self.uri.path
        try:
            self.logical = int(self.params.get("logical", "0"))
        except ValueError:
            self.logical = -1
        if not 0 <= self.logical <= 14:
            raise self.error("logical address must be 0-14", "?logical= in the control URI (0 = TV)")
        self.timeout_s = float(self.params.get("timeout", CEC_TIMEOUT_S))

    @property
    def address(self) -> str:
        return f"{self.port or 'default adapter'} logical {self.logical}"

    def run(self, commands: list[str], what: str) -> str:
        """Feed `commands` (one per line) to one `cec-client -s -d 1 [PORT]` run; its output on success."""
        exe = shutil.which("cec-client")
        if exe is None:
            raise self.error("cec-client is not on PATH", "libcec's tools are installed (apt install cec-utils)")
        argv = [exe, "-s", "-d", "1"] + ([self.port] if self.port else [])
        try:
            r = subprocess.run(
                argv,
                input="".join(c + "\n" for c in commands),
                capture_output=True,
                text=True,
                errors="replace",  # a cable or adapter fault can put any bytes on its output
                timeout=self.timeout_s,
            )
        except subprocess.TimeoutExpired:
            raise self.error(
                f"cec-client did not finish {what} within {self.timeout_s:g} s", "the CEC adapter"
            ) from None
        out = r.stdout + r.stderr
        errors = [ln.strip() for ln in out.splitlines() if "ERROR" in ln]
        if r.returncode != 0 or errors:
            why = errors[0] if errors else (out.strip().splitlines() or [f"exit status {r.returncode}"])[-1]
            raise self.error(
                f"cec-client failed {what}: {why}", "the HDMI cable, that CEC is enabled on the device, and the port"
            )
        return out

    def open(self) -> None:
        if shutil.which("cec-client") is None:
            raise self.error("cec-client is not on PATH", "libcec's tools are installed (apt install cec-utils)")

    def close(self) -> None:
        """Nothing held: every action is its own cec-client run."""

    def send_key(self, key: str) -> None:
        code = self.check_key(key, UI_COMMANDS, "the CEC user-control map")
        header = f"{OUR_ADDRESS:x}{self.logical:x}"
        self.run([f"tx {header}:44:{code:02x}", f"tx {header}:45"], f"sending {key!r}")

    def power_on(self) -> None:
        self.run([f"on {self.logical}"], "power on")

    def standby(self) -> None:
        self.run([f"standby {self.logical}"], "standby")

    def make_active_source(self) -> None:
        """Tell the TV to switch its input to this adapter's HDMI port."""
        self.run(["as"], "active source")

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "port": self.port, "logical": self.logical}
