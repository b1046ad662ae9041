"""A Roku ECP peer: http.server on 127.0.0.1 that logs each request and plays a tiny player."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class EcpPeer:
    """`state` is the media-player state; `fail` maps a path prefix to an HTTP status; `media_xml` overrides the XML."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.state = "close"
        self.position_ms = 0
        self.fail: dict[str, int] = {}
        self.media_xml: str | None = None
        self.delay_s = 0.0
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, code: int, body: bytes = b"", ctype: str = "text/xml") -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                peer.requests.append((self.command, self.path))
                if peer.delay_s:
                    threading.Event().wait(peer.delay_s)
                for prefix, code in peer.fail.items():
                    if self.path.startswith(prefix):
                        return self._reply(code)
                if self.command == "GET" and self.path == "/query/device-info":
                    return self._reply(200, b"<device-info><model-name>Roku Peer</model-name></device-info>")
                if self.command == "GET" and self.path == "/query/media-player":
                    return self._reply(200, peer.player_xml().encode())
                if self.command == "POST" and self.path.startswith("/keypress/"):
                    if self.path == "/keypress/Play":
                        peer.state = {"play": "pause", "pause": "play"}.get(peer.state, peer.state)
                    return self._reply(200)
                if self.command == "POST" and self.path.startswith("/launch/"):
                    peer.state = "play"
                    return self._reply(204)
                return self._reply(404)

            do_GET = _handle
            do_POST = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def player_xml(self) -> str:
        if self.media_xml is not None:
            return self.media_xml
        return (
            f'<?xml version="1.0" encoding="UTF-8" ?>\n<player error="false" state="{self.state}">'
            '<plugin bandwidth="10000000 bps" id="12" name="Example"/>'
            f"<position>{self.position_ms} ms</position><is_live>false</is_live></player>"
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
