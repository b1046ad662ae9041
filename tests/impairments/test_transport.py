"""Transmission damage: Gilbert-Elliott bursts, TS packets lost on the video PID only, decodes paired
by timestamp, and the visible-damage labels that train and score the block-corruption model."""

from __future__ import annotations

import numpy as np
import pytest

from harness.impairments.blocks import IGNORE, damage_labels, damaged_share
from harness.impairments.transport import (
    EC_VARIANTS,
    SYNC,
    TS_PACKET,
    LossModel,
    _pid,
    damage_ts,
    decode_ts,
    encode_ts,
    gilbert_elliott,
    video_packets,
    video_pid,
)
from tests.helpers import footage


def test_gilbert_elliott_loses_in_bursts_at_the_model_rate() -> None:
    m = LossModel(p_enter=0.01, p_leave=0.1, loss_bad=1.0)
    lost = gilbert_elliott(200_000, m, np.random.default_rng(0))
    # stationary share of the bad state: p_enter / (p_enter + p_leave) = 0.0909
    assert lost.mean() == pytest.approx(0.0909, abs=0.01)
    runs = np.diff(np.flatnonzero(np.diff(np.r_[0, lost.astype(int), 0])))[::2]
    assert runs.mean() == pytest.approx(10, rel=0.15)  # mean burst 1 / p_leave packets
    assert not gilbert_elliott(10_000, LossModel(p_enter=0.0), np.random.default_rng(0)).any()


@pytest.fixture(scope="module")
def stream() -> tuple[list[np.ndarray], bytes]:
    frames = [np.ascontiguousarray(f[::2, ::2]) for f in footage(limit=50)]
    return frames, encode_ts(frames, 25.0, crf=23, gop_s=1.0, slices=4)


def test_encoded_ts_is_mpegts_and_decodes_every_picture(stream: tuple[list[np.ndarray], bytes]) -> None:
    frames, ts = stream
    assert len(ts) % TS_PACKET == 0 and all(ts[o] == SYNC for o in range(0, len(ts), TS_PACKET))
    pics = decode_ts(ts)
    assert len(pics) == len(frames)
    first = pics[min(pics)]
    assert first.shape == frames[0].shape[:2]


def test_damage_drops_only_video_packets_and_the_decoder_conceals(stream: tuple[list[np.ndarray], bytes]) -> None:
    _, ts = stream
    n = video_packets(ts)
    model = LossModel(p_enter=3 / n, p_leave=0.1, loss_bad=0.9)
    bad, info = damage_ts(ts, model, np.random.default_rng(3), skip_s_packets=50)
    assert info["lost"] > 0 and len(ts) - len(bad) == info["lost"] * TS_PACKET
    pid = video_pid(ts)
    others = [ts[o : o + TS_PACKET] for o in range(0, len(ts), TS_PACKET) if _pid(ts[o : o + 4]) != pid]
    kept = {bad[o : o + TS_PACKET] for o in range(0, len(bad), TS_PACKET)}
    assert all(p in kept for p in others)  # PAT, PMT untouched
    clean = decode_ts(ts)
    for ec in EC_VARIANTS:
        got = decode_ts(bad, ec)
        common = sorted(set(clean) & set(got))
        assert len(common) >= len(clean) - 5
        worst = max(damaged_share(damage_labels(clean[p], got[p])) for p in common)
        assert worst > 0.02, ec  # some picture shows visible damage with every concealment


def test_labels_mark_visible_damage_leave_faint_cells_out() -> None:
    rng = np.random.default_rng(0)
    clean = rng.integers(0, 255, (64, 64), dtype=np.uint8)
    dmg = clean.copy()
    dmg[:16, :16] = 0  # a solid block
    dmg[16:32, 16:32] = np.clip(clean[16:32, 16:32].astype(int) + 7, 0, 255)  # a faint shift
    lab = damage_labels(clean, dmg)
    assert lab[0, 0] == 1 and lab[1, 1] == IGNORE and lab[3, 3] == 0
    assert damaged_share(lab) == pytest.approx(1 / 16)
