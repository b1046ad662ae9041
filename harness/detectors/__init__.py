"""Detectors, one module each, registered by name. Pure: arrays in, events out; they import only
`harness.events` and `harness.media`."""

from __future__ import annotations

from harness.detectors import black, dropout, freeze  # noqa: F401  (registration)
from harness.detectors.base import REGISTRY, Detector, create

DEFAULT_DETECTORS = ("black_frames", "frozen_video", "audio_dropout")

__all__ = ["REGISTRY", "Detector", "create", "DEFAULT_DETECTORS"]
