"""Roku ECP transport against an http.server peer: keypress/launch/query requests, 4xx/5xx, silence, bad XML."""

from __future__ import annotations

import pytest
from peers import spec
from peers.ecp import EcpPeer
from peers.line_server import free_port

from devices import DeviceError, open_device
from devices.base import PlayerStatus
from devices.roku_ecp import parse_media_player


@pytest.fixture
def peer():
    p = EcpPeer()
    yield p
    p.close()


def _dev(peer: EcpPeer, query: str = "?app=12"):
    return open_device(spec(f"ecp://127.0.0.1:{peer.port}{query}"))


def test_keys_launch_and_status_requests(peer):
    with _dev(peer) as dev:
        dev.press("home")
        dev.press("select")
        dev.press("fast_forward")
        dev.press("3")
        dev.launch("bbb-720p25")
        peer.position_ms = 12345
        assert dev.status() == PlayerStatus("playing", "12", 12.345)
    assert peer.requests == [
        ("GET", "/query/device-info"),
        ("POST", "/keypress/Home"),
        ("POST", "/keypress/Select"),
        ("POST", "/keypress/Fwd"),
        ("POST", "/keypress/Lit_3"),
        ("POST", "/launch/12?contentId=bbb-720p25&mediaType=movie"),
        ("GET", "/query/media-player"),
    ]


def test_play_and_pause_are_discrete_over_the_toggle(peer):
    peer.state = "play"
    with _dev(peer) as dev:
        dev.press("play")  # already playing: nothing sent
        dev.press("pause")
        dev.press("pause")  # already paused
    keypresses = [p for m, p in peer.requests if m == "POST"]
    assert keypresses == ["/keypress/Play"]
    assert peer.state == "pause"


def test_launch_forms(peer):
    with _dev(peer, "") as dev:
        dev.launch("837")
        dev.launch("app:dev?contentId=abc&mediaType=episode")
    assert [p for m, p in peer.requests if m == "POST"] == [
        "/launch/837",
        "/launch/dev?contentId=abc&mediaType=episode",
    ]


def test_http_refusals_name_status_and_hint(peer):
    peer.fail = {"/keypress/": 403, "/launch/": 503}
    with _dev(peer) as dev:
        with pytest.raises(DeviceError) as e:
            dev.press("home")
        assert str(e.value).startswith(f"lab-tv01: control (Roku ECP at 127.0.0.1:{peer.port}): keypress Home refused")
        assert "HTTP 403" in str(e.value) and "Control by mobile apps" in str(e.value)
        with pytest.raises(DeviceError, match="launch of 'x' refused: HTTP 503"):
            dev.launch("x")
        with pytest.raises(DeviceError, match="key 'menu' has no code in Roku ECP's key set"):
            dev.press("menu")


def test_malformed_media_player_and_timeout(peer):
    peer.media_xml = "<html>not a roku</html>"
    with _dev(peer) as dev:
        with pytest.raises(DeviceError, match=r"malformed media-player reply: expected <player"):
            dev.status()
        peer.media_xml = "<player state='play'><position>soon</position></player>"
        with pytest.raises(DeviceError, match="is not '<number> ms'"):
            dev.status()
    peer.media_xml = None
    peer.delay_s = 1.0
    with pytest.raises(DeviceError, match=r"no answer within 0.3 s to device-info query"):
        _dev(peer, "?timeout=0.3").open()


def test_connection_refused():
    port = free_port()
    with pytest.raises(DeviceError, match=rf"Roku ECP at 127.0.0.1:{port}\): device-info query failed"):
        open_device(spec(f"ecp://127.0.0.1:{port}")).open()


def test_parse_states():
    xml = '<player error="false" state="buffer"><position>0 ms</position></player>'
    assert parse_media_player(xml) == PlayerStatus("loading", None, 0.0)
    assert parse_media_player('<player state="close"/>').state == "home"
