"""Global Caché iTach IR blaster over TCP (port 4998), speaking the iTach API's `sendir`.

URI: `itach://host:4998/<module>:<port>?codeset=NAME` (`/3` means module 1, port 3). Each key
is looked up in the IR code set `devices/codesets/NAME.yaml` and sent as
`sendir,<module>:<port>,<id>,<freq>,<repeat>,<offset>,<on>,<off>,...\\r`; the iTach answers
`completeir,<module>:<port>,<id>` once the signal is out, `busyIR,...` while the port is still
sending something else (we retry with backoff), or `ERR_<module>:<port>,<code>`.
"""

from __future__ import annotations

import re
import socket
import time
from typing import Any, ClassVar

from devices.control import ControlTransport, register
from devices.ir_codes import CodesetError, IrSignal, load_codeset
from harness.config import DeviceSpec

DEFAULT_PORT = 4998
CONNECT_TIMEOUT_S = 3.0
REPLY_TIMEOUT_S = 3.0  # a long IR signal with repeats takes well under a second; 3 s means no answer
BUSY_RETRIES = 5
BUSY_BACKOFF_S = 0.05  # doubled after each busyIR: 0.05, 0.1, 0.2, 0.4, 0.8 s

# iTach API error codes (Global Caché "iTach API Specification", section 5.4).
ERROR_CODES: dict[int, str] = {
    1: "invalid command (command not found)",
    2: "invalid module address (module does not exist)",
    3: "invalid connector address (connector does not exist)",
    4: "invalid ID value",
    5: "invalid frequency value",
    6: "invalid repeat value",
    7: "invalid offset value",
    8: "invalid pulse count",
    9: "invalid pulse data",
    10: "uneven amount of on/off statements",
    11: "no carriage return found",
    12: "repeat count exceeded",
    13: "IR command sent to input connector",
    14: "blaster command sent to non-blaster connector",
    15: "no carriage return before buffer full",
    16: "no carriage return",
    17: "bad command syntax",
    18: "sensor command sent to non-input connector",
    19: "repeated IR transmission failure",
    20: "above designated IR on/off pair limit",
    21: "symbol odd boundary",
    22: "undefined symbol",
    23: "unknown option",
    24: "invalid baud rate setting",
    25: "invalid flow control setting",
    26: "invalid parity setting",
    27: "settings are locked",
}

_ERR = re.compile(r"^ERR_(?:(\d+:\d+),)?(\d+)$")
_CONNECTOR = re.compile(r"^(?:(\d+):)?(\d+)$")


@register
class ItachTransport(ControlTransport):
    """IR keys through an iTach IP2IR / WF2IR (or any GC unit speaking the iTach API)."""

    label: ClassVar[str] = "iTach IR"
    schemes: ClassVar[tuple[str, ...]] = ("itach",)

    def __init__(self, spec: DeviceSpec):
        super().__init__(spec)
        self.host = self.uri.hostname or ""
        self.port = self.uri.port or DEFAULT_PORT
        m = _CONNECTOR.match(self.uri.path.strip("/") or "1:1")
        if not self.host or m is None:
            raise self.error(
                "control URI needs a host and an IR connector",
                "the form itach://host:4998/<module>:<port>?codeset=NAME",
            )
        self.connector = f"{m.group(1) or 1}:{m.group(2)}"
        self.codeset_name = self.params.get("codeset", "")
        self.reply_timeout_s = float(self.params.get("timeout", REPLY_TIMEOUT_S))
        self._signals: dict[str, IrSignal] | None = None
        self._repeat = 1
        self._sock: socket.socket | None = None
        self._buf = b""
        self._next_id = 1

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port} connector {self.connector}"

    def _load(self) -> dict[str, IrSignal]:
        if self._signals is None:
            if not self.codeset_name:
                raise self.error("no IR code set given", "the control URI ends in ?codeset=NAME (devices/codesets/)")
            try:
                cs = load_codeset(self.codeset_name)
            except CodesetError as e:
                raise self.error(str(e), "the codeset name and its YAML file") from None
            self._signals, self._repeat = cs.signals(), cs.repeat
        return self._signals

    def open(self) -> None:
        self._load()
        if self._sock is not None:
            return
        try:
            self._sock = socket.create_connection((self.host, self.port), timeout=CONNECT_TIMEOUT_S)
        except OSError as e:
            raise self.error(
                f"cannot connect: {e.strerror or e}", "the iTach is powered, on the network and at this address"
            ) from None
        self._buf = b""

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def send_key(self, key: str) -> None:
        signal = self.check_key(key, self._load(), f"IR code set {self.codeset_name!r}")
        self.send_signal(signal, key)

    def send_signal(self, signal: IrSignal, what: str = "signal") -> None:
        """Send one IR signal, retrying while the connector reports busyIR."""
        backoff = BUSY_BACKOFF_S
        for attempt in range(BUSY_RETRIES + 1):
            ir_id = self._take_id()
            timings = ",".join(str(t) for t in signal.timings)
            head = f"sendir,{self.connector},{ir_id},{signal.frequency_hz},{self._repeat},{signal.repeat_offset}"
            cmd = f"{head},{timings}\r"
            reply = self._exchange(cmd.encode("ascii"), what)
            if reply == f"completeir,{self.connector},{ir_id}":
                return
            if reply.startswith("busyIR"):
                if attempt < BUSY_RETRIES:
                    time.sleep(backoff)
                    backoff *= 2
                    continue
                raise self.error(
                    f"connector still busy (busyIR) after {BUSY_RETRIES} retries sending {what!r}",
                    "that no other controller is sending on this connector",
                )
            err = _ERR.match(reply)
            if err:
                code = int(err.group(2))
                meaning = ERROR_CODES.get(code, "unknown error code")
                raise self.error(
                    f"iTach refused {what!r} with ERR {code:03d} ({meaning})",
                    "the connector in the URI is an IR output and the code set's codes are valid",
                )
            raise self.error(
                f"malformed reply {reply[:80]!r} to {what!r} (expected completeir,{self.connector},{ir_id})",
                "that the address is an iTach (port 4998) and not another service",
            )

    def _take_id(self) -> int:
        ir_id = self._next_id
        self._next_id = self._next_id % 65535 + 1
        return ir_id

    def _exchange(self, data: bytes, what: str) -> str:
        """Write one command and read one `\\r`-terminated reply line."""
        if self._sock is None:
            self.open()
        assert self._sock is not None
        try:
            self._sock.sendall(data)
            return self._read_line(what)
        except OSError as e:
            self.close()
            raise self.error(f"connection failed sending {what!r}: {e.strerror or e}", "the iTach's network") from None

    def _read_line(self, what: str) -> str:
        assert self._sock is not None
        deadline = time.monotonic() + self.reply_timeout_s
        while True:
            for sep in (b"\r", b"\n"):
                if sep in self._buf:
                    line, self._buf = self._buf.split(sep, 1)
                    text = line.strip().decode("ascii", "replace")
                    if text:
                        return text
            left = deadline - time.monotonic()
            if left <= 0:
                self.close()
                raise self.error(
                    f"no answer within {self.reply_timeout_s:g} s to {what!r}", "the iTach is responsive (web page)"
                )
            self._sock.settimeout(left)
            try:
                chunk = self._sock.recv(4096)
            except TimeoutError:
                continue
            if not chunk:
                self.close()
                raise self.error(f"iTach closed the connection before answering {what!r}", "the iTach's network")
            self._buf += chunk

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "connector": self.connector, "codeset": self.codeset_name}
