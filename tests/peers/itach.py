"""An iTach peer: answers `sendir` like an IP2IR, with scripted busyIR / ERR_ / silence / garbage."""

from __future__ import annotations

from peers.line_server import LineServer


class ItachPeer(LineServer):
    """`script` is consumed one entry per sendir: 'ok', 'busy', 'err', 'silent', 'garbage'; then 'ok'."""

    def __init__(self, script: list[str] | None = None):
        self.script = list(script or [])
        super().__init__(self._answer, sep=b"\r")

    def _answer(self, line: bytes) -> bytes | None:
        parts = line.decode().split(",")
        if parts[0] != "sendir" or len(parts) < 8:
            return b"ERR_1:1,001\r"
        connector, ir_id = parts[1], parts[2]
        mode = self.script.pop(0) if self.script else "ok"
        if mode == "busy":
            return f"busyIR,{connector},{ir_id}\r".encode()
        if mode == "err":
            return f"ERR_{connector},014\r".encode()
        if mode == "silent":
            return None
        if mode == "garbage":
            return b"HTTP/1.1 400 Bad Request\r"
        return f"completeir,{connector},{ir_id}\r".encode()
