from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import settings

# Fuzz tests (tests/test_fuzz.py): a bounded run by default; `--hypothesis-profile=fuzz-long` for a long one.
settings.register_profile("vqa", max_examples=60)
settings.register_profile("fuzz-long", max_examples=5000)
settings.load_profile("vqa")

sys.path.insert(0, str(Path(__file__).parent))

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def own_device_locks(tmp_path_factory):
    """The harness's own tests lock devices in a folder of their own, so that they never collide
    with a real run on the same host (or another test session); the lock tests set their own."""
    import os

    old = os.environ.get("VQA_LOCK_DIR")
    os.environ["VQA_LOCK_DIR"] = str(tmp_path_factory.mktemp("locks"))
    yield
    if old is None:
        os.environ.pop("VQA_LOCK_DIR", None)
    else:
        os.environ["VQA_LOCK_DIR"] = old


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    from helpers import write_clip

    d = tmp_path_factory.mktemp("clips")
    return {
        "clean": write_clip(d / "clean.mp4"),
        "black": write_clip(d / "black.mp4", black=(2.0, 3.0)),
    }


@pytest.fixture(scope="session")
def pulse_server():
    """A running PulseAudio server (started here if needed). CI installs PulseAudio, so there a
    missing server fails the test; on a developer machine without it the test says what to install."""
    import os
    import shutil

    from harness.capture import pulse

    if shutil.which("pulseaudio") is None and not os.environ.get("CI"):
        pytest.skip("PulseAudio is not installed on this machine (CI installs it: apt-get install pulseaudio)")
    pulse.start_server()
    yield
