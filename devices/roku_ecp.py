"""Roku External Control Protocol (ECP): HTTP on port 8060 for keys, app launch and player state.

URI: `ecp://host:8060?app=12` (`app` is the channel id that `launch(content_id)` deep-links into,
with `mediaType=movie` unless the URI sets `mediaType`). Keys are `POST /keypress/<Key>`; launch
is `POST /launch/<appId>?contentId=...&mediaType=...`; `GET /query/media-player` gives the state.
Roku's `Play` toggles, so `play` and `pause` first ask the player and send nothing when it is
already in that state; Roku has no menu key, so `menu` is refused with a clear error.
"""

from __future__ import annotations

import http.client
import xml.etree.ElementTree as ET
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from devices.base import PlayerStatus
from devices.control import ControlTransport, register
from harness.config import DeviceSpec

DEFAULT_PORT = 8060
HTTP_TIMEOUT_S = 5.0
MAX_REPLY_BYTES = 1 << 20

ECP_KEYS: dict[str, str] = {
    "home": "Home",
    "back": "Back",
    "up": "Up",
    "down": "Down",
    "left": "Left",
    "right": "Right",
    "select": "Select",
    "play_pause": "Play",
    "play": "Play",
    "pause": "Play",
    "stop": "Back",  # Roku channels stop playback and leave the player on Back
    "fast_forward": "Fwd",
    "rewind": "Rev",
    "power": "Power",
    "volume_up": "VolumeUp",
    "volume_down": "VolumeDown",
    "mute": "VolumeMute",
    "info": "Info",
    **{str(d): f"Lit_{d}" for d in range(10)},
}

# <player state="..."> -> PlayerStatus.state
PLAYER_STATES: dict[str, str] = {
    "play": "playing",
    "pause": "paused",
    "buffer": "loading",
    "startup": "loading",
    "open": "loading",
    "close": "home",
    "stop": "home",
    "none": "home",
}

_HINTS: dict[int, str] = {
    403: "Settings > System > Advanced system settings > Control by mobile apps is 'Enabled' (not 'Limited')",
    404: "the key or channel id exists on this Roku",
}


def parse_media_player(xml_text: str) -> PlayerStatus:
    """`/query/media-player` XML -> PlayerStatus (title_id = the channel's plugin id); ValueError if malformed."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as e:
        raise ValueError(f"not XML ({e})") from None
    if root.tag != "player" or "state" not in root.attrib:
        raise ValueError(f"expected <player state=...>, got <{root.tag}>")
    state = root.attrib["state"]
    if state not in PLAYER_STATES:
        raise ValueError(f"unknown player state {state!r}")
    position_s = 0.0
    pos = root.findtext("position")
    if pos:
        value, _, unit = pos.strip().partition(" ")
        try:
            position_s = float(value) / (1000.0 if unit in ("ms", "") else 1.0)
        except ValueError:
            raise ValueError(f"position {pos!r} is not '<number> ms'") from None
    plugin = root.find("plugin")
    return PlayerStatus(PLAYER_STATES[state], plugin.get("id") if plugin is not None else None, position_s)


@register
class EcpTransport(ControlTransport):
    """Roku players and Roku TVs over ECP."""

    label: ClassVar[str] = "Roku ECP"
    schemes: ClassVar[tuple[str, ...]] = ("ecp",)

    def __init__(self, spec: DeviceSpec):
        super().__init__(spec)
        self.host = self.uri.hostname or ""
        self.port = self.uri.port or DEFAULT_PORT
        if not self.host:
            raise self.error("control URI names no host", "the form ecp://host:8060?app=ID")
        self.app = self.params.get("app")
        self.media_type = self.params.get("mediaType", "movie")
        self.timeout_s = float(self.params.get("timeout", HTTP_TIMEOUT_S))

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def request(self, method: str, path: str, what: str) -> str:
        """One HTTP request; the body on 2xx, else one DeviceError with the status and a hint."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        try:
            conn.request(method, path, body=b"" if method == "POST" else None)
            resp = conn.getresponse()
            body = resp.read(MAX_REPLY_BYTES)
        except TimeoutError:
            raise self.error(
                f"no answer within {self.timeout_s:g} s to {what}", "the Roku is on and reachable"
            ) from None
        except (OSError, http.client.HTTPException) as e:
            why = getattr(e, "strerror", None) or str(e) or type(e).__name__
            raise self.error(f"{what} failed: {why}", "the Roku is on, at this address, port 8060") from None
        finally:
            conn.close()
        if not 200 <= resp.status < 300:
            hint = _HINTS.get(resp.status, "the Roku's network and firmware")
            raise self.error(f"{what} refused: HTTP {resp.status} {resp.reason}", hint)
        return body.decode("utf-8", "replace")

    def open(self) -> None:
        """Check the Roku answers ECP (`GET /query/device-info`) so a wrong address fails here."""
        self.request("GET", "/query/device-info", "device-info query")

    def close(self) -> None:
        """Nothing held: ECP is one HTTP request per action."""

    def send_key(self, key: str) -> None:
        name = self.check_key(key, ECP_KEYS, "Roku ECP's key set")
        if key in ("play", "pause"):
            st = self.status()
            if st is not None and st.state == ("playing" if key == "play" else "paused"):
                return
        self.request("POST", f"/keypress/{quote(name)}", f"keypress {name}")

    def launch(self, target: str) -> None:
        """`app:ID[?contentId=..&mediaType=..]` launches that channel; otherwise `target` is a content
        id deep-linked into the URI's `?app=` channel, or, without one, a channel id."""
        if target.startswith("app:"):
            app, _, query = target[4:].partition("?")
        elif self.app:
            app, query = self.app, urlencode({"contentId": target, "mediaType": self.media_type})
        else:
            app, query = target, ""
        path = f"/launch/{quote(app, safe='')}" + (f"?{query}" if query else "")
        self.request("POST", path, f"launch of {target!r}")

    def status(self) -> PlayerStatus | None:
        text = self.request("GET", "/query/media-player", "media-player query")
        try:
            return parse_media_player(text)
        except ValueError as e:
            raise self.error(f"malformed media-player reply: {e}", "that the address is a Roku") from None

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "app": self.app}
