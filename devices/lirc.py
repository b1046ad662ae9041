"""IR through LIRC: lircd's UNIX-socket protocol (`SEND_ONCE remote key`), for USB/GPIO IR blasters.

URI: `lirc:///var/run/lirc/lircd?remote=NAME`. lircd answers each command with a block
`BEGIN / <command> / SUCCESS|ERROR / [DATA / n / lines...] / END`; it may also broadcast blocks
of its own (`SIGHUP`), which we skip. Key names follow the Linux input names lircd's remote
files use (`KEY_HOME`, `KEY_OK` ...); `?key.select=KEY_ENTER` overrides one for a remote whose
file names it differently.
"""

from __future__ import annotations

import socket
import time
from typing import Any, ClassVar

from devices.control import ControlTransport, register
from harness.config import DeviceSpec

DEFAULT_SOCKET = "/var/run/lirc/lircd"
REPLY_TIMEOUT_S = 3.0

KEY_NAMES: dict[str, str] = {
    "home": "KEY_HOME",
    "back": "KEY_BACK",
    "up": "KEY_UP",
    "down": "KEY_DOWN",
    "left": "KEY_LEFT",
    "right": "KEY_RIGHT",
    "select": "KEY_OK",
    "play_pause": "KEY_PLAYPAUSE",
    "play": "KEY_PLAY",
    "pause": "KEY_PAUSE",
    "stop": "KEY_STOP",
    "fast_forward": "KEY_FASTFORWARD",
    "rewind": "KEY_REWIND",
    "power": "KEY_POWER",
    "volume_up": "KEY_VOLUMEUP",
    "volume_down": "KEY_VOLUMEDOWN",
    "mute": "KEY_MUTE",
    "info": "KEY_INFO",
    "captions": "KEY_SUBTITLE",
    "menu": "KEY_MENU",
    **{str(d): f"KEY_{d}" for d in range(10)},
}


@register
class LircTransport(ControlTransport):
    """IR keys sent by a local lircd through its command socket."""

    label: ClassVar[str] = "LIRC"
    schemes: ClassVar[tuple[str, ...]] = ("lirc",)

    def __init__(self, spec: DeviceSpec):
        super().__init__(spec)
        self.socket_path = self.uri.path or DEFAULT_SOCKET
        self.remote = self.params.get("remote", "")
        self.reply_timeout_s = float(self.params.get("timeout", REPLY_TIMEOUT_S))
        self.key_names = dict(KEY_NAMES)
        self.key_names.update({k[4:]: v for k, v in self.params.items() if k.startswith("key.")})
        if not self.remote:
            raise self.error("no remote given", "the control URI ends in ?remote=NAME (a remote in lircd.conf.d)")
        self._sock: socket.socket | None = None
        self._buf = b""

    @property
    def address(self) -> str:
        return self.socket_path

    def open(self) -> None:
        if self._sock is not None:
            return
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.reply_timeout_s)
        try:
            s.connect(self.socket_path)
        except OSError as e:
            s.close()
            raise self.error(
                f"cannot connect to lircd: {e.strerror or e}", "lircd is running (systemctl status lircd)"
            ) from None
        self._sock, self._buf = s, b""

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def send_key(self, key: str) -> None:
        name = self.check_key(key, self.key_names, "the LIRC key map")
        self.command(f"SEND_ONCE {self.remote} {name}", key)

    def command(self, command: str, what: str) -> list[str]:
        """Send one lircd command; return its DATA lines, or raise with lircd's own error text."""
        if self._sock is None:
            self.open()
        assert self._sock is not None
        try:
            self._sock.sendall(command.encode("ascii") + b"\n")
        except OSError as e:
            self.close()
            raise self.error(
                f"lircd connection failed sending {what!r}: {e.strerror or e}", "lircd is running"
            ) from None
        deadline = time.monotonic() + self.reply_timeout_s
        while True:
            block = self._read_block(deadline, what)
            if len(block) >= 2 and block[1] == command:
                return self._result(block, command, what)
            # a broadcast (SIGHUP) or a reply to something else: not ours

    def _result(self, block: list[str], command: str, what: str) -> list[str]:
        status = block[2] if len(block) > 2 else ""
        data: list[str] = []
        if "DATA" in block:
            i = block.index("DATA")
            data = block[i + 2 : -1]
        if status == "SUCCESS":
            return data
        if status == "ERROR":
            why = "; ".join(data) or "no reason given"
            raise self.error(
                f"lircd refused {command!r} for {what!r}: {why}",
                f"remote {self.remote!r} and its key names (irsend LIST {self.remote} '')",
            )
        raise self.error(f"malformed lircd reply {block!r} to {what!r}", "that the socket is lircd's")

    def _read_block(self, deadline: float, what: str) -> list[str]:
        lines: list[str] = []
        while True:
            line = self._read_line(deadline, what)
            if not lines and line != "BEGIN":
                raise self.error(
                    f"malformed lircd reply (line {line[:60]!r} outside a block)", "that the socket is lircd's"
                )
            lines.append(line)
            if line == "END":
                return lines

    def _read_line(self, deadline: float, what: str) -> str:
        assert self._sock is not None
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                self.close()
                raise self.error(
                    f"no answer from lircd within {self.reply_timeout_s:g} s to {what!r}", "lircd is alive"
                )
            self._sock.settimeout(left)
            try:
                chunk = self._sock.recv(4096)
            except TimeoutError:
                continue
            except OSError as e:
                self.close()
                raise self.error(f"lircd connection failed: {e.strerror or e}", "lircd is running") from None
            if not chunk:
                self.close()
                raise self.error(f"lircd closed the connection before answering {what!r}", "lircd's log") from None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode("ascii", "replace").strip()

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "remote": self.remote}
