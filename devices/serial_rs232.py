"""RS-232 control (TVs, set-top boxes, matrix switches) through pyserial's `serial_for_url`.

URIs: `serial:///dev/ttyUSB0?baud=9600&map=NAME` (a local port), `serial+socket://host:port?map=NAME`
(a serial-to-Ethernet bridge in raw TCP mode) or `serial+rfc2217://host:port?map=NAME`.
What to send for each key, the acknowledgement to expect, the line ending, timeout and retries
come from the device family's map `devices/serial_maps/NAME.yaml`, so a new family is a data file.
"""

from __future__ import annotations

import codecs
import re
import time
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from devices.control import ControlTransport, register
from harness.config import DeviceSpec

MAP_DIR = Path(__file__).resolve().parent / "serial_maps"


class SerialMap(BaseModel):
    """A device family's serial commands: bytes per key, the ack/nak patterns, timing and retries.

    `keys` values are text in `encoding` (backslash escapes such as `\\x02` allowed) or, prefixed
    with `hex:`, raw bytes in hex (`hex:08 22 00 00 00 02 d4`); `line_ending` is appended to each.
    """

    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    baud: int = Field(9600, gt=0)
    encoding: str = "ascii"
    line_ending: str = "\r"
    ack: str = Field(description="regex a reply line must match for the command to count as done")
    nak: str | None = Field(None, description="regex of a refusal (fails at once, no retry)")
    timeout_s: float = Field(1.0, gt=0, le=30)
    retries: int = Field(2, ge=0, le=10, description="resends after no answer or an unexpected reply")
    keys: dict[str, str]

    @field_validator("ack", "nak")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as e:
                raise ValueError(f"bad regex {v!r}: {e}") from None
        return v

    def command(self, key: str) -> bytes:
        text = self.keys[key]
        if text.startswith("hex:"):
            return bytes.fromhex(text[4:])
        return codecs.decode(text, "unicode_escape").encode(self.encoding) + self.eol()

    def eol(self) -> bytes:
        return codecs.decode(self.line_ending, "unicode_escape").encode(self.encoding)


def load_serial_map(name: str, directory: Path = MAP_DIR) -> SerialMap:
    """Load and validate `<directory>/<name>.yaml`; ValueError names the file and the problem."""
    path = directory / f"{name}.yaml"
    known = ", ".join(sorted(p.stem for p in directory.glob("*.yaml")))
    if not name or "/" in name or not path.is_file():
        raise ValueError(f"no serial map {name!r} in {directory} (available: {known})")
    try:
        return SerialMap.model_validate(yaml.safe_load(path.read_text()))
    except yaml.YAMLError as e:
        raise ValueError(f"serial map {path} is not valid YAML: {e}".replace("\n", " ")) from None
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise ValueError(f"serial map {path} is invalid at {where}: {first['msg']}") from None


@register
class SerialTransport(ControlTransport):
    """Keys as command strings on a serial line, each confirmed by the device's ack."""

    label: ClassVar[str] = "RS-232"
    schemes: ClassVar[tuple[str, ...]] = ("serial", "serial+socket", "serial+rfc2217")

    def __init__(self, spec: DeviceSpec):
        super().__init__(spec)
        scheme = self.uri.scheme
        if scheme == "serial":
            self.port_url = self.uri.path
        else:
            self.port_url = f"{scheme.split('+', 1)[1]}://{self.uri.netloc}"
        if not self.port_url or self.port_url.endswith("://"):
            raise self.error("control URI names no port", "serial:///dev/ttyUSB0?map=NAME or serial+socket://host:port")
        self.map_name = self.params.get("map", "")
        self._map: SerialMap | None = None
        self._port: Any = None

    @property
    def address(self) -> str:
        return self.port_url

    @property
    def serial_map(self) -> SerialMap:
        if self._map is None:
            if not self.map_name:
                raise self.error("no command map given", "the control URI ends in ?map=NAME (devices/serial_maps/)")
            try:
                self._map = load_serial_map(self.map_name)
            except ValueError as e:
                raise self.error(str(e), "the map name and its YAML file") from None
        return self._map

    def open(self) -> None:
        if self._port is not None:
            return
        m = self.serial_map
        try:
            import serial
        except ImportError:
            raise self.error("pyserial is not installed", "pip install pyserial") from None
        baud = int(self.params.get("baud", m.baud))
        try:
            self._port = serial.serial_for_url(self.port_url, baudrate=baud, timeout=0.05, write_timeout=m.timeout_s)
        except (serial.SerialException, OSError, ValueError) as e:
            raise self.error(f"cannot open the port: {e}", "the cable/adapter is connected and the address") from None

    def close(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            finally:
                self._port = None

    def send_key(self, key: str) -> None:
        m = self.serial_map
        self.check_key(key, m.keys, f"serial map {self.map_name!r}")
        self.send_command(m.command(key), key)

    def send_command(self, data: bytes, what: str) -> str:
        """Write `data` and wait for a reply line matching the map's ack; returns that line."""
        if self._port is None:
            self.open()
        m = self.serial_map
        last = ""
        for _attempt in range(m.retries + 1):
            try:
                self._port.reset_input_buffer()
                self._port.write(data)
                self._port.flush()
            except Exception as e:  # pyserial raises SerialException, sockets OSError
                self.close()
                raise self.error(f"write of {what!r} failed: {e}", "the cable/adapter and the address") from None
            verdict, line = self._await_reply(data, m)
            if verdict == "ack":
                return line
            if verdict == "nak":
                raise self.error(f"device refused {what!r}: {line!r}", f"the command in serial map {self.map_name!r}")
            last = line
        if last:
            raise self.error(
                f"malformed reply {last[:80]!r} to {what!r} after {m.retries + 1} tries (expected /{m.ack}/)",
                f"the baud rate and that serial map {self.map_name!r} fits this device",
            )
        raise self.error(
            f"no answer to {what!r} within {m.timeout_s:g} s ({m.retries + 1} tries)",
            "the cable (null-modem or straight), the baud rate and that the device's RS-232 control is enabled",
        )

    def _await_reply(self, sent: bytes, m: SerialMap) -> tuple[str, str]:
        """Read lines until the ack, a nak, or the timeout; ('none'|'other', last line) otherwise."""
        eol = m.eol() or b"\r"
        echo = sent.rstrip(b"\r\n").decode(m.encoding, "replace")
        deadline = time.monotonic() + m.timeout_s
        buf = b""
        other = ""
        while time.monotonic() < deadline:
            try:
                chunk = self._port.read(256)
            except Exception as e:
                self.close()
                raise self.error(f"read failed: {e}", "the cable/adapter and the address") from None
            buf += chunk
            while True:
                cut = min((i for i in (buf.find(eol), buf.find(b"\n"), buf.find(b"\r")) if i >= 0), default=-1)
                if cut < 0:
                    break
                raw, buf = buf[:cut], buf[cut + 1 :]
                line = raw.strip(b"\r\n").decode(m.encoding, "replace").strip()
                if not line or line == echo:
                    continue
                if re.search(m.ack, line):
                    return "ack", line
                if m.nak and re.search(m.nak, line):
                    return "nak", line
                other = line
        if buf.strip():
            other = buf.strip().decode(m.encoding, "replace")
        return ("other" if other else "none"), other

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "map": self.map_name}
