"""Device-capture test harness: record a device's playback and judge it with detectors."""

from __future__ import annotations

__version__ = "0.1.0"

from harness.events import Event, Measurement

__all__ = ["Event", "Measurement", "__version__"]
