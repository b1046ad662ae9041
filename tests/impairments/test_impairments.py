"""Video impairments on real footage: each defect is measured in the output, not taken on trust;
outside the window nothing changes; the same seed gives the same damage."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from helpers import footage, luma

from harness.impairments import IMPAIRMENTS, VideoClip, bitstream
from harness.impairments.video import COLORS

AT, DUR = 0.4, 1.2  # frames 10..39 of a 2 s clip at 25 fps
A, B = 10, 40


@pytest.fixture(scope="module")
def clip() -> VideoClip:
    """50 moving frames of Big Buck Bunny at 320x180 (no two consecutive frames alike)."""
    frames = [cv2.resize(f, (320, 180), interpolation=cv2.INTER_AREA) for f in footage()[40:90]]
    assert all(not np.array_equal(x, y) for x, y in zip(frames, frames[1:], strict=False))
    return VideoClip(frames, 25.0)


def _source_index(clip: VideoClip, f: np.ndarray) -> int:
    """Which source frame an output frame shows (exact match), or -1."""
    return next((j for j, g in enumerate(clip.frames) if np.array_equal(f, g)), -1)


VIDEO = [n for n, s in IMPAIRMENTS.items() if s.stream == "video"]
# impairments whose output depends on the seed at this severity
RANDOM = {"freeze", "drop_frames", "repeat_frames", "stutter", "bitstream_corruption", "block_corruption", "tearing"}
RANDOM |= {"solid_color", "wrong_scaling"}  # the seed picks the colour / the mode


@pytest.mark.parametrize("name", VIDEO)
def test_untouched_outside_window_and_reproducible(clip, name):
    spec = IMPAIRMENTS[name]
    out, t = spec.func(clip, AT, DUR, severity=0.66, seed=7)
    again, t2 = spec.func(clip, AT, DUR, severity=0.66, seed=7)
    assert len(out.frames) == len(clip.frames) and out.fps == clip.fps
    assert (t.type, t.start_s, t.end_s) == (spec.event_type, A / 25, B / 25)
    assert t.params["defect"] == name and t == t2
    outside = [i for i in range(len(clip.frames)) if not A <= i < B]
    if name == "freeze":  # capture noise covers the whole clip below severity 1.0 (its own test below)
        out1, _ = spec.func(clip, AT, DUR, severity=1.0, seed=7)
        assert all(np.array_equal(out1.frames[i], clip.frames[i]) for i in outside)
    else:
        assert all(np.array_equal(out.frames[i], clip.frames[i]) for i in outside)
    assert any(not np.array_equal(out.frames[i], clip.frames[i]) for i in range(A, B))
    assert all(np.array_equal(x, y) for x, y in zip(out.frames, again.frames, strict=True))
    if name in RANDOM:
        others = [spec.func(clip, AT, DUR, severity=0.66, seed=s)[0] for s in (1, 2, 3)]
        assert any(any(not np.array_equal(x, y) for x, y in zip(out.frames, o.frames, strict=True)) for o in others)


@pytest.mark.parametrize("severity,max_mean", [(1.0, 0.0), (0.66, 0.07), (0.33, 0.14)])
def test_black_frames_luma(clip, severity, max_mean):
    out, _ = IMPAIRMENTS["black"].func(clip, AT, DUR, severity=severity)
    for i in range(A, B):
        y, y0 = luma(out.frames[i]).astype(float), luma(clip.frames[i]).astype(float)
        assert y.mean() <= max_mean * y0.mean() + 0.5
    if severity == 1.0:
        assert max(int(luma(out.frames[i]).max()) for i in range(A, B)) == 0


def test_freeze_holds_one_frame(clip):
    out, t = IMPAIRMENTS["freeze"].func(clip, AT, DUR, severity=1.0)
    assert all(np.array_equal(out.frames[i], clip.frames[A]) for i in range(A, B))
    noisy, t2 = IMPAIRMENTS["freeze"].func(clip, AT, DUR, severity=0.66, seed=2)
    assert t2.params["noise_sigma"] == pytest.approx(0.68)
    # the capture noise is on every frame, frozen or live, at the stated sigma
    for rng in (range(A, B), range(0, A), range(B, len(clip.frames))):
        diffs = [out.frames[i].astype(float) - noisy.frames[i] for i in rng]
        assert np.std(diffs) == pytest.approx(t2.params["noise_sigma"], rel=0.15)
    # and the held copies differ from each other by that noise only
    held = [noisy.frames[i].astype(float) for i in range(A, B)]
    assert np.std(held[1] - held[0]) == pytest.approx(t2.params["noise_sigma"] * np.sqrt(2), rel=0.15)


def test_drop_frames_count_exact(clip):
    out, t = IMPAIRMENTS["drop_frames"].func(clip, AT, DUR, severity=1.0, seed=4)
    shown = [_source_index(clip, out.frames[i]) for i in range(len(out.frames))]
    assert -1 not in shown
    missing = sorted(set(range(A, B)) - set(shown))
    assert missing == t.params["dropped"] and len(missing) == t.params["count"] == 6  # 20 % of 30
    assert all(shown[i] <= i for i in range(len(shown)))  # never ahead: a held frame, never a future one


def test_repeat_frames_count_exact(clip):
    out, t = IMPAIRMENTS["repeat_frames"].func(clip, AT, DUR, severity=0.66, seed=4)
    repeats = [i for i in range(A, B) if np.array_equal(out.frames[i], out.frames[i - 1])]
    assert repeats == t.params["repeated"] and len(repeats) == t.params["count"] == 4
    shown = {_source_index(clip, f) for f in out.frames}
    assert sorted(set(range(A, B)) - shown) == t.params["resync_skipped"]
    assert len(t.params["resync_skipped"]) == t.params["count"]


@pytest.mark.parametrize("severity", [0.33, 1.0])
def test_stutter_irregular_cadence(clip, severity):
    out, t = IMPAIRMENTS["stutter"].func(clip, AT, DUR, severity=severity, seed=5)
    shown = [_source_index(clip, f) for f in out.frames]
    held = [i for i in range(A, B) if shown[i] == shown[i - 1]]
    assert len(held) == t.params["held_slots"] > 0
    lags = [i - shown[i] for i in range(A, B)]
    assert min(lags) == 0 and max(lags) == t.params["max_hold"] - 1 == round(3 * severity)
    runs = [h for _, h in t.params["holds"]]
    if severity == 1.0:
        assert len(set(runs)) > 1  # irregular, not a fixed pulldown


def _blocks_changed(x: np.ndarray, y: np.ndarray, thr: float) -> np.ndarray:
    d = np.abs(x.astype(np.int16) - y).mean(axis=2)
    h, w = (d.shape[0] // 16) * 16, (d.shape[1] // 16) * 16
    return d[:h, :w].reshape(h // 16, 16, w // 16, 16).mean(axis=(1, 3)) > thr


def test_bitstream_damage_makes_decoder_errors_and_blocks(clip):
    out, t = IMPAIRMENTS["bitstream_corruption"].func(clip, AT, DUR, severity=1.0, seed=3)
    assert t.params["decoder_errors"] > 0 and t.params["frames_with_errors"] > 0
    clean, errors = bitstream._decode(bitstream._encode(list(clip.frames[A:B]), 16), B - A, clip.frames[0].shape)
    assert sum(errors) == 0
    src_y = luma(np.concatenate(clip.frames[A:B]))
    psnr_clean = cv2.PSNR(luma(np.concatenate(clean)), src_y)
    psnr_broken = cv2.PSNR(luma(np.concatenate(out.frames[A:B])), src_y)
    assert psnr_clean > 38  # the re-encode alone is near-transparent
    assert psnr_broken < psnr_clean - 10, (psnr_broken, psnr_clean)
    assert np.array_equal(out.frames[A], clean[0])  # the keyframe is never damaged
    damaged = [i for i in range(B - A) if _blocks_changed(out.frames[A + i], clean[i], 12).any()]
    assert len(damaged) >= 5 and len(damaged) <= t.params["concealed_frames"]
    worst = max(_blocks_changed(out.frames[A + i], clean[i], 12).mean() for i in damaged)
    assert worst > 0.05  # whole bands of macroblocks, not a speck


@pytest.mark.parametrize("mode", ["displaced", "solid", "smeared"])
def test_block_corruption_pixel_domain(clip, mode):
    out, t = IMPAIRMENTS["block_corruption"].func(clip, AT, DUR, severity=0.66, seed=1, mode=mode)
    total = (180 // 16) * (320 // 16)
    for i in range(A, B):
        changed = _blocks_changed(out.frames[i], clip.frames[i], 0.0)
        n = int(changed.sum())
        assert 0.8 * t.params["blocks_per_frame"][i - A] <= n <= t.params["blocks_per_frame"][i - A]
        diff = np.abs(out.frames[i].astype(int) - clip.frames[i]).sum(axis=2)
        assert not diff[176:].any() and not diff[:, 320:].any()  # only whole 16x16 blocks are touched
        if mode == "solid":
            ys, xs = np.nonzero(changed)
            for y, x in zip(ys, xs, strict=True):
                blk = out.frames[i][y * 16 : y * 16 + 16, x * 16 : x * 16 + 16].reshape(-1, 3)
                assert (blk == blk[0]).all()
    assert t.params["share"] == pytest.approx(0.10, abs=1.5 / total)


def test_tearing_line_positions(clip):
    out, t = IMPAIRMENTS["tearing"].func(clip, AT, DUR, severity=1.0, seed=9)
    d = t.params["frame_offset"]
    assert d == 4
    for k, i in enumerate(range(A, B)):
        f, top, bottom = out.frames[i], clip.frames[i], clip.frames[i + d]
        eq_top = (f == top).all(axis=(1, 2))
        eq_bot = (f == bottom).all(axis=(1, 2))
        lines = [r for r in range(f.shape[0] + 1) if eq_top[:r].all() and eq_bot[r:].all()]
        assert t.params["lines"][k] in lines and len(lines) <= 3
        assert 18 <= t.params["lines"][k] <= 162
    assert len(set(t.params["lines"])) > 10


@pytest.mark.parametrize("severity", [0.33, 0.66, 1.0])
def test_solid_color_share(clip, severity):
    out, t = IMPAIRMENTS["solid_color"].func(clip, AT, DUR, severity=severity, seed=0, color="green")
    f = out.frames[A]
    solid = (f == COLORS["green"]).all(axis=(1, 2))
    assert solid.mean() == pytest.approx(severity, abs=1 / 180)
    assert solid[f.shape[0] - int(solid.sum()) :].all()  # from the bottom up


def test_letterbox_bars(clip):
    out, t = IMPAIRMENTS["letterbox"].func(clip, AT, DUR, severity=0.66)
    f = luma(out.frames[A + 3])
    dark_rows = (f <= 1).all(axis=1)
    top = int(np.argmin(dark_rows))
    bottom = int(np.argmin(dark_rows[::-1]))
    assert top == t.params["bars_px"]["top"] == round(180 * 0.1192)
    assert bottom == t.params["bars_px"]["bottom"]
    dark_cols = (f <= 1).all(axis=0)
    assert int(np.argmin(dark_cols)) == t.params["bars_px"]["left"] > 0


@pytest.mark.parametrize("mode", ["stretch", "squeeze"])
def test_wrong_scaling_factor_measured(clip, mode):
    out, t = IMPAIRMENTS["wrong_scaling"].func(clip, AT, DUR, severity=1.0, mode=mode)
    f, src = out.frames[A].astype(float), clip.frames[A]
    w = src.shape[1]

    def err(factor: float) -> float:
        sw = int(round(w * factor))
        s = cv2.resize(src, (sw, src.shape[0])).astype(float)
        if sw >= w:
            x0 = (sw - w) // 2
            return float(np.abs(s[:, x0 : x0 + w] - f).mean())
        x0 = (w - sw) // 2
        return float(np.abs(s - f[:, x0 : x0 + sw]).mean())

    grid = np.arange(0.70, 1.40, 0.01)
    best = float(grid[np.argmin([err(g) for g in grid])])
    assert best == pytest.approx(t.params["factor"], abs=0.011)
    assert t.params["factor"] == pytest.approx(4 / 3 if mode == "stretch" else 3 / 4)


def test_bad_severity_and_window_rejected(clip):
    with pytest.raises(ValueError, match="severity"):
        IMPAIRMENTS["black"].func(clip, AT, DUR, severity=1.5)
    with pytest.raises(ValueError, match="window"):
        IMPAIRMENTS["black"].func(clip, 5.0, 1.0, severity=1.0)
