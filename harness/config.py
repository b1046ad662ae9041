"""The lab inventory (`devices/lab.yaml`): which devices exist, how to control and capture them.

Validated with pydantic; every error names the file and what to fix.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

INVENTORY_ENV = "VQA_INVENTORY"
DEFAULT_INVENTORY = Path(__file__).resolve().parent.parent / "devices" / "lab.yaml"


class InventoryError(Exception):
    """The inventory file is missing or invalid, or names no such device."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Calibration(_Strict):
    """What the capture chain itself adds, measured on a known-good path (`vqa calibrate`)."""

    av_offset_ms: float = Field(0.0, description="capture chain's own A/V offset, positive = audio late")
    video_latency_ms: float = Field(0.0, description="key press to picture change added by the rig")


class RigSpec(_Strict):
    """Where a device's output is recorded from.

    `video` / `audio` are URIs: `sim://` (in-process from the simulated device); real capture
    backends (`v4l2:///dev/video0`, `udp://...`, `pulse:...`) plug in behind the same interface.
    """

    video: str
    audio: str | None = None
    record_codec: Literal["libx264", "ffv1"] = "libx264"
    record_crf: int = Field(
        12, ge=0, le=30, description="x264 CRF of the recording; low, so the harness adds no visible artefacts"
    )


# block_corruption: the in-process device holds its damaged window as decoded pictures
# (1.4 MB a 720p frame), so the window is a few seconds at most
MAX_BLOCK_CORRUPTION_S = 5.0


AUDIO_FAULTS = (
    "audio_hum",
    "audio_hiss",
    "audio_distortion",
    "audio_clicks",
    "channel_missing",
    "channel_swap",
    "phase_invert",
    "level_jump",
)


class FaultSpec(_Strict):
    """A defect the simulated device injects at a title position (seconds into the title)."""

    type: Literal[
        "black_frames",
        "frozen_video",
        "audio_dropout",
        "av_offset",
        "drop_frames",
        "repeat_frames",
        "stutter",
        # the player thread stalls for duration_s at at_s, then skips frames until it is on time again
        "late_player_skips",
        # streamed devices: the capture chain (HDMI-to-IP encoder, network) loses `count` frames at
        # at_s; the device showed them, so this is the rig's loss, never the device's
        "capture_loss",
        # the picture of [at_s, at_s + duration_s) is what an H.264 decoder makes of a damaged
        # bitstream (in-process: damaged packets; streamed: TS packets lost on the way)
        "block_corruption",
        # the picture of [at_s, at_s + duration_s) filled with one colour from the bottom up
        # (harness.impairments.video.solid_color: severity is the share of the height, `color` or
        # the seed picks the colour): a failed decoder's green, a "no signal" blue ...
        "solid_color",
        # the title's sound over [at_s, at_s + duration_s), through harness.impairments.audio
        # (severity and seed as there): mains hum, hiss, hard clipping, clicks, one channel gone,
        # left and right swapped, one channel's polarity flipped, a gain step
        "audio_hum",
        "audio_hiss",
        "audio_distortion",
        "audio_clicks",
        "channel_missing",
        "channel_swap",
        "phase_invert",
        "level_jump",
        # captions (harness.impairments.captions): the cues starting in [at_s, at_s + duration_s)
        # (duration 0: every cue) shown offset_ms late (negative: early), not shown, shown with
        # `severity` of their words wrong, or not cleared at their end; captions_off: the captions
        # setting does nothing
        "caption_offset",
        "caption_missing",
        "caption_garbled",
        "caption_stuck",
        "captions_off",
    ]
    at_s: float = Field(0.0, ge=0)
    duration_s: float = Field(0.0, ge=0, description="0 with av_offset means for the whole title")
    offset_ms: float = Field(
        0.0, ge=-2000, le=2000, description="av_offset: positive = audio late; caption_offset: positive = shown late"
    )
    drift_ms_per_min: float = Field(0.0, ge=-1000, le=1000, description="av_offset: added per minute of title")
    count: int = Field(1, ge=1, le=1000, description="drop_frames / repeat_frames / capture_loss: how many frames")
    severity: float = Field(
        1.0, ge=0, le=1, description="block_corruption: 0 mildest .. 1 worst damage; solid_color: share of the height"
    )
    seed: int = Field(
        0, ge=0, description="block_corruption: which packets are damaged or lost; audio faults: their randomness"
    )
    channel: int | None = Field(
        None, ge=0, le=1, description="channel_missing / phase_invert: 0 left, 1 right; None lets the seed pick"
    )
    direction: Literal["up", "down"] | None = Field(None, description="level_jump: None lets the seed pick")
    color: Literal["green", "magenta", "blue", "grey", "white"] | None = Field(
        None, description="solid_color: None lets the seed pick"
    )

    @model_validator(mode="after")
    def _block_corruption_window(self) -> FaultSpec:
        if self.type == "block_corruption" and not 0 < self.duration_s <= MAX_BLOCK_CORRUPTION_S:
            raise ValueError(
                f"block_corruption needs duration_s in (0, {MAX_BLOCK_CORRUPTION_S:g}] s "
                f"(the damaged window), got {self.duration_s:g}"
            )
        return self

    @property
    def is_audio(self) -> bool:
        """Applied to the title's sound when it loads (`devices.simulated`), not while playing."""
        return self.type in AUDIO_FAULTS

    def active(self, position_s: float) -> bool:
        if self.type == "av_offset" and self.duration_s == 0:
            return True
        if self.type in ("drop_frames", "repeat_frames", "late_player_skips", "capture_loss"):
            return False  # one-shot faults, applied when playback crosses at_s
        return self.at_s <= position_s < self.at_s + self.duration_s


class StreamSpec(_Strict):
    """Where a streamed simulated device sends its output (the rig records it from there)."""

    video_url: str = Field(pattern=r"^udp://127\.0\.0\.1:\d+$", description="MPEG-TS over UDP, loopback only")
    audio_sink: str = Field(description="PulseAudio sink the sound is played into")
    crf: int = Field(18, ge=0, le=40)


class SimulatorSpec(_Strict):
    """Behaviour of the simulated device's player."""

    startup_delay_s: float = Field(0.8, ge=0, le=30, description="black 'loading' time after launch")
    seek_step_s: float = Field(10.0, gt=0)
    seek_rebuffer_s: float = Field(0.3, ge=0, description="picture held, sound muted while a seek buffers")
    faults: list[FaultSpec] = Field(default_factory=list)
    captions: bool = Field(False, description="captions on from power-up (the `captions` key toggles them)")
    stream: StreamSpec | None = Field(None, description="send output over UDP + PulseAudio instead of in-process")


class DeviceSpec(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    kind: Literal["tv", "stb", "console"]
    control: str = Field(
        description="control URI: sim://, itach://host:4998/1, serial:///dev/ttyUSB0, adb://..., ecp://host"
    )
    rig: RigSpec
    calibration: Calibration = Field(default_factory=Calibration)
    features: list[str] = Field(default_factory=list, description="feature tags suites can require")
    simulator: SimulatorSpec | None = None
    description: str = ""

    @field_validator("control")
    @classmethod
    def _has_scheme(cls, v: str) -> str:
        if "://" not in v:
            raise ValueError(f"control URI {v!r} has no scheme (expected e.g. sim://, itach://host:4998/1)")
        return v

    @property
    def control_scheme(self) -> str:
        return self.control.split("://", 1)[0]


class Inventory(_Strict):
    devices: list[DeviceSpec]
    path: Path | None = Field(None, exclude=True)

    @field_validator("devices")
    @classmethod
    def _unique(cls, v: list[DeviceSpec]) -> list[DeviceSpec]:
        seen: set[str] = set()
        for d in v:
            if d.name in seen:
                raise ValueError(f"device name {d.name!r} appears twice")
            seen.add(d.name)
        return v

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.devices]

    def get(self, name: str) -> DeviceSpec:
        for d in self.devices:
            if d.name == name:
                return d
        raise InventoryError(f"unknown device {name!r} in {self.path}; known devices: {', '.join(self.names)}")


def inventory_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """`--inventory PATH` wins, then $VQA_INVENTORY, then the repository's devices/lab.yaml."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(INVENTORY_ENV)
    return Path(env) if env else DEFAULT_INVENTORY


def load_inventory(path: str | os.PathLike[str] | None = None) -> Inventory:
    p = inventory_path(path)
    try:
        raw = yaml.safe_load(p.read_bytes())
    except FileNotFoundError:
        raise InventoryError(f"inventory file {p} does not exist (set --inventory or ${INVENTORY_ENV})") from None
    except OSError as e:
        raise InventoryError(f"inventory file {p} cannot be read: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        raise InventoryError(f"inventory file {p} is not valid YAML: {e}".replace("\n", " ")) from None
    if not isinstance(raw, dict):
        raise InventoryError(f"inventory file {p} must be a mapping with a 'devices:' list")
    try:
        inv = Inventory.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise InventoryError(
            f"inventory file {p} is invalid at {where}: {first['msg']}"
            + (f" ({e.error_count() - 1} more problem(s))" if e.error_count() > 1 else "")
        ) from None
    inv.path = p
    store = calibration_path(p)
    if store.exists():
        try:
            cal = yaml.safe_load(store.read_bytes()) or {}
        except OSError as e:
            raise InventoryError(f"calibration file {store} cannot be read: {e.strerror or e}") from None
        except yaml.YAMLError as e:
            why = str(e).replace("\n", " ")
            raise InventoryError(
                f"calibration file {store} is not valid YAML: {why}; fix it or delete it and run `vqa calibrate` again"
            ) from None
        if not isinstance(cal, dict):
            raise InventoryError(
                f"calibration file {store} must map device names to calibration values; "
                "fix it or delete it and run `vqa calibrate` again"
            )
        for d in inv.devices:
            entry = cal.get(d.name)
            if isinstance(entry, dict):
                try:
                    d.calibration = Calibration(**{k: v for k, v in entry.items() if k in Calibration.model_fields})
                except ValidationError as e:
                    raise InventoryError(
                        f"calibration file {store}: entry {d.name!r} is invalid: {e.errors()[0]['msg']}"
                    ) from None
    return inv


def calibration_path(inventory: Path) -> Path:
    """Measured calibration lives beside the inventory (`lab.yaml` -> `lab.calibration.yaml`) and
    overrides the inventory's own `calibration:` values for the devices it names."""
    return inventory.with_name(inventory.stem + ".calibration.yaml")


def save_calibration(inventory: Path, device: str, values: dict[str, object]) -> Path:
    store = calibration_path(inventory)
    data = (yaml.safe_load(store.read_text()) or {}) if store.exists() else {}
    data[device] = values
    store.write_text("# written by `vqa calibrate`; one entry per device\n" + yaml.safe_dump(data, sort_keys=True))
    return store
