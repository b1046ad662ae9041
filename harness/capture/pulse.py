"""PulseAudio for the streamed simulated device: start the server if needed, make a null sink.

A null sink is a virtual sound card: what is played into it can be recorded from its
`.monitor` source, which is how the simulated TV's sound reaches the real audio capture path.
"""

from __future__ import annotations

import shutil
import subprocess
import time


class PulseError(Exception):
    pass


def _pactl(*args: str, timeout: float = 5.0) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("pactl")
    if exe is None:
        raise PulseError("pactl not found: install PulseAudio (Debian: apt-get install pulseaudio)")
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout)


def running() -> bool:
    try:
        return _pactl("info").returncode == 0
    except (PulseError, subprocess.TimeoutExpired):
        return False


def start_server() -> None:
    """Start a per-user PulseAudio daemon that never exits when idle (also as root, for CI)."""
    if running():
        return
    exe = shutil.which("pulseaudio")
    if exe is None:
        raise PulseError("PulseAudio is not installed (Debian: apt-get install pulseaudio)")
    subprocess.run(
        [
            exe,
            "--daemonize=yes",
            "--exit-idle-time=-1",
            "--disallow-exit=yes",
            "-n",
            "--load=module-native-protocol-unix",
            "--load=module-always-sink",
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    for _ in range(100):
        if running():
            return
        time.sleep(0.1)
    raise PulseError("PulseAudio did not start (try `pulseaudio -vvv` to see why)")


def ensure_null_sink(name: str, rate: int = 48000) -> None:
    """Make sure a null sink `name` (48 kHz stereo) exists, starting the server if needed."""
    start_server()
    sinks = _pactl("list", "short", "sinks").stdout.split()
    if name in sinks:
        return
    r = _pactl("load-module", "module-null-sink", f"sink_name={name}", f"rate={rate}", "channels=2")
    if r.returncode != 0:
        raise PulseError(f"could not create PulseAudio null sink {name!r}: {r.stderr.strip()}")


def stop_server() -> None:
    exe = shutil.which("pulseaudio")
    if exe is not None:
        subprocess.run([exe, "--kill"], capture_output=True, timeout=10)
    for _ in range(50):
        if not running():
            return
        time.sleep(0.1)
