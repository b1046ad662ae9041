"""The simulated TV's picture faults that have a detector of their own beside the frame codes: a
solid-colour fill (a failed decoder's green, a "no signal" blue) fails the steady-playback scenario
naming the defect, its colour, and its title position."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import steady_playback

from devices.simulated import SimulatedDevice
from harness.config import FaultSpec
from harness.impairments.video import COLORS

FAULTS = [
    {"type": "solid_color", "at_s": 8.0, "duration_s": 1.0, "severity": 1.0, "color": "green"},
    {"type": "solid_color", "at_s": 20.0, "duration_s": 0.6, "severity": 0.4, "color": "magenta"},
]


def test_the_fill_is_the_impairment_librarys():
    img = np.full((720, 1280, 3), 90, np.uint8)
    f = FaultSpec(type="solid_color", at_s=1, duration_s=1, severity=0.4, color="blue")
    out = SimulatedDevice._filled(img, f)
    top = 720 - round(720 * 0.4)
    assert (out[top:] == COLORS["blue"]).all() and (out[:top] == 90).all()
    assert (img == 90).all()  # the decoded frame itself is untouched


def test_fault_colours_are_the_impairment_librarys():
    names = FaultSpec.model_fields["color"].annotation.__args__[0].__args__  # Literal[...] | None
    assert set(names) == set(COLORS)


@pytest.mark.e2e
def test_solid_colour_fills_fail_steady_playback_naming_each_at_its_title_position(repo, tmp_path):
    found = steady_playback(repo, tmp_path, FAULTS, "bikes-720p25", "solid_color")
    assert "solid_color" in found, found
    at = sorted(set(found["solid_color"]))  # pytest prints each failure twice (the error and the summary)
    assert len(at) == 2, at
    for got, want in zip(at, (8.0, 20.0), strict=True):
        assert abs(got - want) <= 0.2, (at, want)
