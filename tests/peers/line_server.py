"""A threaded line-oriented server (TCP on 127.0.0.1 or a UNIX socket) that logs what it receives.

`respond(line) -> bytes | None` decides each answer (None = stay silent), so one class serves as
the iTach peer, the serial-over-TCP peer (`socket://`) and the lircd peer.
"""

from __future__ import annotations

import os
import socket
import socketserver
import threading
from collections.abc import Callable

Responder = Callable[[bytes], "bytes | None"]


class LineServer:
    def __init__(self, respond: Responder, sep: bytes = b"\r", unix_path: str | None = None):
        self.respond = respond
        self.sep = sep
        self.received: list[bytes] = []
        self.connections = 0
        peer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                peer.connections += 1
                buf = b""
                while True:
                    try:
                        chunk = self.request.recv(65536)
                    except OSError:
                        return
                    if not chunk:
                        return
                    buf += chunk
                    while peer.sep in buf:
                        line, buf = buf.split(peer.sep, 1)
                        peer.received.append(line + peer.sep)
                        answer = peer.respond(line)
                        if answer:
                            self.request.sendall(answer)

        if unix_path:
            if os.path.exists(unix_path):
                os.unlink(unix_path)
            server: socketserver.ThreadingUnixStreamServer | socketserver.ThreadingTCPServer
            server = socketserver.ThreadingUnixStreamServer(unix_path, Handler)
            self.address = unix_path
        else:
            server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
            self.address = f"127.0.0.1:{server.server_address[1]}"
        server.daemon_threads = True
        self.server = server
        self.thread = threading.Thread(target=server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.address.rsplit(":", 1)[1])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on (for connection-refused tests)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return int(port)
