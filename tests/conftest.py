from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

REPO = Path(__file__).resolve().parent.parent


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
