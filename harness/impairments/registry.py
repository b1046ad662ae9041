"""The table of impairments: each defect's name, stream, function and event type."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from harness.impairments import audio, av, bitstream, blocks, cadence, video
from harness.impairments.common import Truth

_COMMON = {"clip", "at_s", "duration_s", "severity", "seed"}


@dataclass(frozen=True)
class ImpairmentSpec:
    """One defect: its name, the stream it changes, the function, the truth's event type, and the
    extra keyword parameters the function takes (name -> default) beyond window, severity and seed.

    `stream` "av" means the audio is moved against an untouched video: the function takes and
    returns an AudioClip.
    """

    name: str
    stream: Literal["video", "audio", "av"]
    func: Callable[..., tuple[Any, Truth]]
    event_type: str

    @property
    def params(self) -> dict[str, Any]:
        sig = inspect.signature(self.func)
        return {k: p.default for k, p in sig.parameters.items() if k not in _COMMON}

    @property
    def summary(self) -> str:
        return (self.func.__doc__ or "").strip().splitlines()[0]

    @property
    def clip_stream(self) -> Literal["video", "audio"]:
        """Which decoded stream the function takes: A/V faults act on the audio."""
        return "video" if self.stream == "video" else "audio"


def _spec(
    name: str, stream: Literal["video", "audio", "av"], func: Callable[..., Any], event_type: str
) -> ImpairmentSpec:
    return ImpairmentSpec(name, stream, func, event_type)


IMPAIRMENTS: dict[str, ImpairmentSpec] = {
    s.name: s
    for s in (
        _spec("black", "video", video.black, "black_frames"),
        _spec("freeze", "video", video.freeze, "frozen_video"),
        _spec("drop_frames", "video", cadence.drop_frames, "stutter"),
        _spec("repeat_frames", "video", cadence.repeat_frames, "stutter"),
        _spec("stutter", "video", cadence.stutter, "stutter"),
        _spec("bitstream_corruption", "video", bitstream.bitstream_corruption, "block_corruption"),
        _spec("block_corruption", "video", blocks.block_corruption, "block_corruption"),
        _spec("tearing", "video", video.tearing, "tearing"),
        _spec("solid_color", "video", video.solid_color, "solid_color"),
        _spec("letterbox", "video", video.letterbox, "letterbox"),
        _spec("wrong_scaling", "video", video.wrong_scaling, "wrong_scaling"),
        _spec("audio_dropout", "audio", audio.audio_dropout, "audio_dropout"),
        _spec("clicks", "audio", audio.clicks, "audio_clicks"),
        _spec("hum", "audio", audio.hum, "audio_hum"),
        _spec("hiss", "audio", audio.hiss, "audio_hiss"),
        _spec("clipping", "audio", audio.clipping, "audio_distortion"),
        _spec("soft_clipping", "audio", audio.soft_clipping, "audio_distortion"),
        _spec("bitcrush", "audio", audio.bitcrush, "audio_distortion"),
        _spec("level_jump", "audio", audio.level_jump, "loudness"),
        _spec("channel_missing", "audio", audio.channel_missing, "channel_fault"),
        _spec("channel_swap", "audio", audio.channel_swap, "channel_fault"),
        _spec("phase_invert", "audio", audio.phase_invert, "channel_fault"),
        _spec("av_offset", "av", av.av_offset, "av_sync_offset"),
        _spec("av_drift", "av", av.av_drift, "av_sync_offset"),
    )
}
