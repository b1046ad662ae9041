"""The impairment library: one function per playback defect, deterministic for a seed.

Each impairment takes an in-memory clip (`VideoClip`: BGR uint8 frames + fps, or `AudioClip`:
float32 (n, channels) + rate), a window `at_s`, `duration_s`, a `severity` in [0, 1] and a
`seed`, and returns (impaired clip, `Truth`). What 0.33 / 0.66 / 1.0 mean is in each function's
docstring. `IMPAIRMENTS` names them all with the stream they act on; `impair_file` applies one to
a media file and writes OUT plus OUT.truth.json. Used to build the detector benchmark (issue #4).
"""

from __future__ import annotations

from harness.impairments.common import AudioClip, Truth, VideoClip
from harness.impairments.files import ImpairError, impair_file, truth_path
from harness.impairments.registry import IMPAIRMENTS, ImpairmentSpec

__all__ = [
    "IMPAIRMENTS",
    "AudioClip",
    "ImpairError",
    "ImpairmentSpec",
    "Truth",
    "VideoClip",
    "impair_file",
    "truth_path",
]
