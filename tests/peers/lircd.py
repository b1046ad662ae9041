"""A lircd peer on a UNIX socket: answers SEND_ONCE with BEGIN/.../SUCCESS|ERROR/END blocks."""

from __future__ import annotations

from peers.line_server import LineServer


class LircdPeer(LineServer):
    """Knows one remote with `keys`; `mode` 'ok', 'silent' or 'garbage'; sends a SIGHUP block first if `sighup`."""

    def __init__(self, path: str, remote: str = "tv", keys: set[str] | None = None, mode: str = "ok", sighup=False):
        self.remote, self.keys, self.mode, self.sighup = remote, keys, mode, sighup
        super().__init__(self._answer, sep=b"\n", unix_path=path)

    def _answer(self, line: bytes) -> bytes | None:
        cmd = line.decode().strip()
        if self.mode == "silent":
            return None
        if self.mode == "garbage":
            return b"hello there\n"
        pre = b"BEGIN\nSIGHUP\nEND\n" if self.sighup else b""
        parts = cmd.split()
        if len(parts) == 3 and parts[0] == "SEND_ONCE":
            if parts[1] != self.remote:
                why = f'invalid remote: "{parts[1]}"'
            elif self.keys is not None and parts[2] not in self.keys:
                why = f'invalid code: "{parts[2]}"'
            else:
                return pre + f"BEGIN\n{cmd}\nSUCCESS\nEND\n".encode()
        else:
            why = f'unknown directive: "{parts[0] if parts else ""}"'
        return pre + f"BEGIN\n{cmd}\nERROR\nDATA\n1\n{why}\nEND\n".encode()
