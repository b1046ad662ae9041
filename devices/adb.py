"""Android TV / Fire TV through the `adb` executable: key events, deep links, media-session state.

URI: `adb://SERIAL` (USB) or `adb://host:5555` (network; `adb connect` first). Every call is an
argument list, never a host shell string; the one value that the device's own shell parses (the
deep-link URL after `adb shell`) is quoted with `shlex.quote`, so `&` or `;` in a URL stay text.
Playback state comes from `dumpsys media_session` (PlaybackState: 3 playing, 2 paused, ...).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from typing import Any, ClassVar

from devices.base import PlayerStatus
from devices.control import ControlTransport, register
from harness.config import DeviceSpec

ADB_TIMEOUT_S = 10.0

KEYCODES: dict[str, str] = {
    "home": "KEYCODE_HOME",
    "back": "KEYCODE_BACK",
    "up": "KEYCODE_DPAD_UP",
    "down": "KEYCODE_DPAD_DOWN",
    "left": "KEYCODE_DPAD_LEFT",
    "right": "KEYCODE_DPAD_RIGHT",
    "select": "KEYCODE_DPAD_CENTER",
    "play_pause": "KEYCODE_MEDIA_PLAY_PAUSE",
    "play": "KEYCODE_MEDIA_PLAY",
    "pause": "KEYCODE_MEDIA_PAUSE",
    "stop": "KEYCODE_MEDIA_STOP",
    "fast_forward": "KEYCODE_MEDIA_FAST_FORWARD",
    "rewind": "KEYCODE_MEDIA_REWIND",
    "power": "KEYCODE_POWER",
    "volume_up": "KEYCODE_VOLUME_UP",
    "volume_down": "KEYCODE_VOLUME_DOWN",
    "mute": "KEYCODE_VOLUME_MUTE",
    "info": "KEYCODE_INFO",
    "captions": "KEYCODE_CAPTIONS",
    "menu": "KEYCODE_MENU",
    **{str(d): f"KEYCODE_{d}" for d in range(10)},
}

# android.media.session.PlaybackState.STATE_* -> PlayerStatus.state
PLAYBACK_STATES: dict[int, str] = {
    0: "home",  # none
    1: "home",  # stopped
    2: "paused",
    3: "playing",
    4: "seeking",  # fast forwarding
    5: "seeking",  # rewinding
    6: "loading",  # buffering
    7: "home",  # error
    8: "loading",  # connecting
    9: "seeking",  # skipping to previous
    10: "seeking",  # skipping to next
    11: "seeking",  # skipping to queue item
}

_STATE = re.compile(r"state=PlaybackState \{state=(\d+), position=(-?\d+)")
_PACKAGE = re.compile(r"^\s*package=(\S+)", re.M)
_SERIAL = re.compile(r"^[A-Za-z0-9._:\-]+$")


def parse_media_session(text: str) -> PlayerStatus | None:
    """The first active session's state from `dumpsys media_session`; None if there is no session.

    Sessions are listed most recent first; an inactive one is skipped when an active one follows.
    """
    best: tuple[int, int, str | None] | None = None
    for block in re.split(r"\n(?=\s{4}\S.*\(userId=\d+\)\s*$)", text, flags=re.M):
        m = _STATE.search(block)
        if m is None:
            continue
        pkg = _PACKAGE.search(block)
        entry = (int(m.group(1)), int(m.group(2)), pkg.group(1) if pkg else None)
        if "active=true" in block:
            best = entry
            break
        if best is None:
            best = entry
    if best is None:
        return None
    state, position_ms, package = best
    return PlayerStatus(PLAYBACK_STATES.get(state, "loading"), package, max(position_ms, 0) / 1000.0)


@register
class AdbTransport(ControlTransport):
    """Keys and deep links through `adb -s SERIAL shell ...`."""

    label: ClassVar[str] = "ADB"
    schemes: ClassVar[tuple[str, ...]] = ("adb",)

    def __init__(self, spec: DeviceSpec):
        super().__init__(spec)
        self.serial = self.uri.netloc
        if not self.serial or self.serial.startswith("-") or not _SERIAL.match(self.serial):
            raise self.error("control URI names no valid device serial", "the form adb://SERIAL or adb://host:5555")
        self.network = ":" in self.serial
        self.timeout_s = float(self.params.get("timeout", ADB_TIMEOUT_S))
        self.package = self.params.get("package")

    @property
    def address(self) -> str:
        return self.serial

    def _run(self, args: list[str], what: str, check: str) -> str:
        """Run `adb ARGS` (a list, no shell); return stdout, or raise naming adb's own complaint."""
        exe = shutil.which("adb")
        if exe is None:
            raise self.error("the adb executable is not on PATH", "Android platform-tools are installed")
        try:
            r = subprocess.run([exe, *args], capture_output=True, text=True, errors="replace", timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            raise self.error(f"adb did not finish {what} within {self.timeout_s:g} s", check) from None
        if r.returncode != 0:
            why = (r.stderr.strip() or r.stdout.strip() or f"exit status {r.returncode}").splitlines()[-1]
            raise self.error(f"adb failed {what}: {why}", check)
        return r.stdout

    def _shell(self, args: list[str], what: str) -> str:
        return self._run(["-s", self.serial, "shell", *args], what, "the device is online (adb devices)")

    def open(self) -> None:
        if self.network:
            out = self._run(["connect", self.serial], "to connect", "network debugging is on and the address")
            if "connected to" not in out:
                raise self.error(f"adb connect failed: {out.strip()[:120]}", "network debugging is on and the address")
        state = self._run(["-s", self.serial, "get-state"], "to reach the device", "USB debugging is authorised")
        if state.strip() != "device":
            raise self.error(f"device state is {state.strip()!r}, not 'device'", "USB debugging is authorised")

    def close(self) -> None:
        """Nothing held: each command is its own adb call (a network device stays connected for others)."""

    def send_key(self, key: str) -> None:
        code = self.check_key(key, KEYCODES, "the ADB keycode map")
        self._shell(["input", "keyevent", code], f"to send {key!r}")

    def launch(self, target: str) -> None:
        """`scheme://...` opens a deep link (VIEW intent); `pkg/.Activity` starts that activity;
        a bare package name starts its launcher activity."""
        if "://" in target:
            args = ["am", "start", "-W", "-a", "android.intent.action.VIEW", "-d", shlex.quote(target)]
            if self.package:
                args += [shlex.quote(self.package)]
        elif "/" in target:
            args = ["am", "start", "-W", "-n", shlex.quote(target)]
        else:
            args = ["monkey", "-p", shlex.quote(target), "-c", "android.intent.category.LAUNCHER", "1"]
        out = self._shell(args, f"to launch {target!r}")
        if re.search(r"^(Error|Exception|\*\* No activities found)", out, re.M):
            line = next(x for x in out.splitlines() if re.match(r"(Error|Exception|\*\* No)", x))
            raise self.error(f"launching {target!r} failed: {line.strip()}", "the app is installed and the link")

    def status(self) -> PlayerStatus | None:
        out = self._shell(["dumpsys", "media_session"], "to read the media session")
        st = parse_media_session(out)
        return st if st is not None else PlayerStatus("home", None, 0.0)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "serial": self.serial, "network": self.network}
