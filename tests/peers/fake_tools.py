# ruff: noqa: E501  (the dumpsys text below is verbatim device output, one line per session field)
"""Stand-in `adb` and `cec-client` executables: log argv (and stdin) as JSON lines, answer like the real tools.

Behaviour is chosen by environment variables the test sets: FAKE_TOOL_LOG (log file),
FAKE_ADB_MODE (ok | offline | hang | garbage | launch_error | refused_connect),
FAKE_CEC_MODE (ok | error | hang).
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

_COMMON = """#!{python}
import json, os, sys, time
log = os.environ["FAKE_TOOL_LOG"]
"""

ADB = (
    _COMMON
    + r'''
args = sys.argv[1:]
with open(log, "a") as f:
    f.write(json.dumps({"tool": "adb", "argv": args}) + "\n")
mode = os.environ.get("FAKE_ADB_MODE", "ok")
if mode == "hang":
    time.sleep(30)
if args[:1] == ["connect"]:
    if mode == "refused_connect":
        print(f"failed to connect to '{args[1]}': Connection refused")
    else:
        print(f"connected to {args[1]}")
    sys.exit(0)
if mode == "offline":
    print(f"error: device '{args[1]}' not found", file=sys.stderr)
    sys.exit(1)
if args[2:3] == ["get-state"]:
    print("device")
    sys.exit(0)
shell = args[3:]
if shell[:2] == ["input", "keyevent"]:
    sys.exit(0)
if shell[:2] == ["am", "start"]:
    if mode == "launch_error":
        print("Starting: Intent { act=android.intent.action.VIEW }")
        print("Error: Activity not started, unable to resolve Intent { act=android.intent.action.VIEW }")
    else:
        print("Starting: Intent { act=android.intent.action.VIEW }\nStatus: ok\nLaunchState: COLD")
    sys.exit(0)
if shell[:1] == ["monkey"]:
    print("  bash arg: -p\nEvents injected: 1")
    sys.exit(0)
if shell[:1] == ["dumpsys"]:
    if mode == "garbage":
        print("Can't find service: media_session")
        sys.exit(0)
    print("""MEDIA SESSION SERVICE (dumpsys media_session)
  Sessions Stack - have 2 sessions:
    OldPlayer com.other.app/OldPlayer (userId=0)
      package=com.other.app
      active=false
      state=PlaybackState {state=2, position=5000, buffered position=0, speed=0.0, updated=100, actions=0, custom actions=[], active item id=-1, error=null}
    ExoPlayer com.example.player/ExoPlayer (userId=0)
      ownerPid=1234, ownerUid=10080, userId=0
      package=com.example.player
      active=true
      flags=3
      state=PlaybackState {state=3, position=12345, buffered position=20000, speed=1.0, updated=5093, actions=823, custom actions=[], active item id=-1, error=null}
      metadata: size=3, description=Big Buck Bunny, null, null
""")
    sys.exit(0)
print(f"/system/bin/sh: {shell[0] if shell else ''}: not found")
sys.exit(127)
'''
)

CEC = (
    _COMMON
    + r"""
data = sys.stdin.read()
with open(log, "a") as f:
    f.write(json.dumps({"tool": "cec-client", "argv": sys.argv[1:], "stdin": data}) + "\n")
mode = os.environ.get("FAKE_CEC_MODE", "ok")
if mode == "hang":
    time.sleep(30)
if mode == "error":
    print("opening a connection to the CEC adapter...")
    print("ERROR:   [            1234]\tcould not open a connection (try 1)")
    sys.exit(1)
print("opening a connection to the CEC adapter...")
sys.exit(0)
"""
)


def install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Put fake `adb` and `cec-client` first on PATH; return the JSON-lines log they append to."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("adb", ADB), ("cec-client", CEC)):
        p = bin_dir / name
        p.write_text(text.replace("{python}", sys.executable))
        p.chmod(p.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    log = tmp_path / "tool-log.jsonl"
    log.touch()
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_TOOL_LOG", str(log))
    return log


def calls(log: Path) -> list[dict]:
    return [json.loads(x) for x in log.read_text().splitlines() if x.strip()]
