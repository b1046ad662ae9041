"""One user of a device per host: a second run refuses at start naming the holder, and the lock
goes with its holder's death."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

HOLDER = """
import sys, time
from devices.lock import DeviceLock
DeviceLock("sim-tv01", "the holder in test_device_lock").acquire()
print("held", flush=True)
time.sleep(120)
"""


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "VQA_LOCK_DIR": str(tmp_path / "locks")}


@pytest.fixture
def holder(repo, env):
    p = subprocess.Popen([sys.executable, "-c", HOLDER], cwd=repo, env=env, stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline().strip() == "held"
    yield p
    p.kill()
    p.wait()


def collect(repo, env) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pytest", "test_suites/", "--device=sim-tv01", "--collect-only", "-q"]
    return subprocess.run(cmd + ["-p", "no:cacheprovider"], cwd=repo, env=env, capture_output=True, text=True)


def test_a_second_run_refuses_naming_the_holder_until_the_holder_dies(repo, env, holder):
    r = collect(repo, env)
    assert r.returncode == 4, r.stdout + r.stderr  # pytest's usage error: nothing ran
    lines = [x for x in r.stderr.splitlines() if "sim-tv01 is in use" in x]
    assert len(lines) == 1, r.stderr
    assert f"pid {holder.pid}" in lines[0] and "the holder in test_device_lock" in lines[0]
    assert f"kill {holder.pid}" in lines[0]
    assert "Traceback" not in r.stderr

    os.kill(holder.pid, signal.SIGKILL)  # a holder that dies without cleaning up
    holder.wait()
    r = collect(repo, env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "12 tests collected" in r.stdout  # 6 scenarios x 2 titles


def test_vqa_press_refuses_a_held_device_with_one_line(repo, env, holder):
    r = subprocess.run(
        [sys.executable, "-m", "harness.cli", "press", "--device", "sim-tv01", "home"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [r.stderr.strip()]
    assert r.stderr.startswith(f"vqa: error: sim-tv01 is in use by pid {holder.pid}")


def test_a_run_releases_the_device_when_it_ends(repo, env):
    assert collect(repo, env).returncode == 0
    assert collect(repo, env).returncode == 0  # the first run's lock went with it
