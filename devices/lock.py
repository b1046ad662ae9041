"""One user of a device per host at a time.

A suite run, `vqa capture` or `vqa press` holds an advisory lock file (`flock`) for the device it
drives. The kernel drops the lock when its holder dies, however it dies (Ctrl-C, SIGKILL, a crashed
host process), so a lock can never outlive its user, the trap labgrid's places fall into. The file
also says who holds it, so the second user is told whom to wait for. Across hosts the lab farm
leases devices through Redis; this lock guards the host the device is attached to.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from devices.base import DeviceError

LOCK_DIR_ENV = "VQA_LOCK_DIR"


class DeviceBusy(DeviceError):
    """The device is held by another process on this host; the message names it."""


def lock_dir() -> Path:
    return Path(os.environ.get(LOCK_DIR_ENV) or Path(tempfile.gettempdir()) / "vqa-harness-locks")


class DeviceLock:
    """`with DeviceLock("sim-tv01", "pytest test_suites/"):` holds the device or raises DeviceBusy."""

    def __init__(self, device: str, purpose: str | None = None):
        self.device = device
        self.purpose = purpose or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
        self.path = lock_dir() / f"{device}.lock"
        self._fd: int | None = None

    def holder(self) -> dict[str, Any] | None:
        """Who holds (or last held) the device, as its holder wrote it."""
        try:
            data = json.loads(self.path.read_text() or "null")
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def acquire(self) -> DeviceLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.path.parent.chmod(0o1777)  # every user of the host shares the folder, as /tmp
        except OSError:
            pass
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DeviceBusy(self._busy_message()) from None
        me = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
            "purpose": self.purpose,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        self._fd = fd
        return self

    def _busy_message(self) -> str:
        h = self.holder()
        if not h:
            return f"{self.device} is in use by another process on this host (lock {self.path}); wait for it to end"
        return (
            f"{self.device} is in use by pid {h.get('pid')} on {h.get('host')} since {h.get('since')} "
            f"({h.get('purpose')}); wait for it to end or stop it (kill {h.get('pid')})"
        )

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DeviceLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
