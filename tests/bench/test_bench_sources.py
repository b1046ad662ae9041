"""The benchmark's picture kinds and treatments (lavfi generators, opencv-doc files, stills, credits,
a TV app's graphics, bars, range, scaler, recompression), each rendered on a tiny clip: it renders,
it renders the same twice, it does what it says; plan() and the recipe's long clean hard negatives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from harness.bench import sources, treatments
from harness.bench.dataset import CLEAN, plan
from harness.bench.sources import (
    BenchRecipe,
    ClipFormat,
    SourceSpec,
    VideoSpec,
    build_source,
    iter_video,
    load_recipe,
    render_video,
    ui_region,
)
from harness.reference.footage import FootageError

SMALL = ClipFormat(width=320, height=180, fps=25, duration_s=2.4)
CLIP = ClipFormat(width=640, height=360, fps=25, duration_s=2.4)
LIFE = "life=s=160x90:seed=5:ratio=0.3:mold=5,scale=320:180:flags=neighbor"
NO_OPENCV_DOC = "Debian's opencv-doc is not installed (CI installs it: apt-get install opencv-doc)"
needs_opencv_doc = pytest.mark.skipif(not (sources.OPENCV_DOC_DATA / "vtest.avi").exists(), reason=NO_OPENCV_DOC)


def frames(fmt: ClipFormat = SMALL, seed: int = 7, **video: Any) -> np.ndarray:
    return np.stack(render_video(VideoSpec(**video), fmt, seed))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / np.mean((a.astype(np.float64) - b) ** 2)))


def luma(f: np.ndarray) -> np.ndarray:
    """BT.601 luma of one frame or a stack of them."""
    if f.ndim == 4:
        return np.stack([cv2.cvtColor(x, cv2.COLOR_BGR2GRAY) for x in f])
    return cv2.cvtColor(f, cv2.COLOR_BGR2GRAY)


# --- picture kinds -----------------------------------------------------------------------------


def test_lavfi_generator_renders_moving_frames_the_same_twice() -> None:
    a = frames(kind="lavfi", name=LIFE, motion="none")
    assert a.shape == (60, 180, 320, 3)
    assert np.array_equal(a, frames(kind="lavfi", name=LIFE, motion="none"))
    assert a.std() > 20  # not a flat picture
    assert np.mean([np.abs(a[i + 1].astype(int) - a[i]).mean() for i in range(len(a) - 1)]) > 1  # it moves


def test_lavfi_needs_a_pinned_seed_and_reports_a_bad_graph() -> None:
    with pytest.raises(ValidationError, match=r"set seed=\.\.\."):
        VideoSpec(kind="lavfi", name="life=s=64x64")
    with pytest.raises(ValidationError, match=r"set c0=\.\.\., c1=\.\.\., c2=\.\.\."):
        VideoSpec(kind="lavfi", name="gradients=n=3:seed=2")  # its colours default to "random"
    grad = "gradients=s=320x180:n=2:c0=0x3a2a5c:c1=0xd98c5f:seed=8"
    assert np.array_equal(
        frames(kind="lavfi", name=grad, motion="none"), frames(kind="lavfi", name=grad, motion="none")
    )
    with pytest.raises(ValidationError, match="streamed"):
        VideoSpec(kind="lavfi", name="testsrc2", darken_to=20)
    with pytest.raises(RuntimeError, match="lavfi 'nosuchsource' gave 0 of"):
        frames(kind="lavfi", name="nosuchsource")


@needs_opencv_doc
def test_opencv_doc_footage_plays_at_its_own_rate() -> None:
    # vtest.avi is 10 fps: at 25 fps each of its frames is shown 2 or 3 times
    a = frames(kind="file", name="vtest.avi", motion="none")
    changes = sum(not np.array_equal(a[i + 1], a[i]) for i in range(len(a) - 1))
    assert changes == 23  # 2.4 s of a 10 fps file: 24 pictures
    assert np.array_equal(a, frames(kind="file", name="vtest.avi", motion="none"))
    b = frames(kind="file", name="Megamind.avi", start_s=0.1)
    assert luma(b).mean(axis=(1, 2)).min() > 15  # the in-point skips the file's opening black frame


def test_missing_opencv_doc_file_names_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "OPENCV_DOC_DATA", tmp_path)
    with pytest.raises(FootageError, match=r"opencv-doc package ships it \(apt-get install opencv-doc\)"):
        frames(kind="file", name="vtest.avi")
    with pytest.raises(ValidationError, match="not a path"):
        VideoSpec(kind="file", name="/etc/passwd")


@pytest.mark.parametrize(
    "kind,name",
    [("still", n) for n in ("grass", "page", "text", "coins", "camera", "checkerboard", "immunohistochemistry")]
    + [("still", n) for n in ("moon", "retina", "hubble_deep_field", "colorwheel", "binary_blobs")]
    + [("file", n) for n in ("baboon.jpg", "aloeL.jpg", "sudoku.png", "building.jpg", "tree.avi")],
)
def test_picture_renders(kind: str, name: str) -> None:
    if kind == "file" and not (sources.OPENCV_DOC_DATA / name).exists():
        pytest.skip(NO_OPENCV_DOC)
    f = next(iter_video(VideoSpec(kind=kind, name=name), SMALL, 3))  # type: ignore[arg-type]
    assert f.shape == (180, 320, 3) and f.dtype == np.uint8 and f.std() > 5


# --- content treatments ------------------------------------------------------------------------


def test_letterbox_and_pillarbox_bars_are_black_and_the_picture_is_kept() -> None:
    a = frames(kind="still", name="astronaut", letterbox=0.128, pillarbox=0.1)
    b, p = round(180 * 0.128), round(320 * 0.1)
    assert not a[:, :b].any() and not a[:, -b:].any() and not a[:, :, :p].any() and not a[:, :, -p:].any()
    assert np.array_equal(a[:, b:-b, p:-p], frames(kind="still", name="astronaut")[:, b:-b, p:-p])


def test_cuts_jump_between_shots_and_fades_repeat() -> None:
    a = luma(frames(kind="still", name="astronaut", cut_every_s=1.0)).astype(np.float32)
    steps = [float(np.abs(a[i + 1] - a[i]).mean()) for i in range(len(a) - 1)]
    assert min(steps[24], steps[49]) > 5 * max(steps[:24])  # frame 25 and 50 begin new shots
    fade = {"fade_at_s": 0.48, "fade_s": 0.2, "fade_every_s": 4.52, "motion": "hold"}
    means = luma(frames(kind="still", name="astronaut", **fade)).mean(axis=(1, 2))
    assert means[12] < 1 and means[0] > 50 and means[20] > 50  # through black at 0.48 s, frame 12
    g = frames(fmt=ClipFormat(width=320, height=180, duration_s=5.2), kind="still", name="astronaut", **fade)
    assert luma(g[125]).mean() < 1 and luma(g[110]).mean() > 50  # and again at 5.0 s


def test_ui_overlay_draws_only_in_its_region_and_moves() -> None:
    for fmt in (SMALL, CLIP):
        plain = frames(fmt, kind="still", name="coffee")
        for style in ("player", "menu"):
            ui = frames(fmt, kind="still", name="coffee", ui_overlay=style)
            region = ui_region(style, fmt, seed=7)
            changed = (ui != plain).any(axis=3)
            assert not changed[:, ~region].any()
            assert changed[30][region].mean() > 0.3
            assert (ui[10] != ui[55]).any()  # a clock, a progress bar or a highlight moves
            assert np.array_equal(ui, frames(fmt, kind="still", name="coffee", ui_overlay=style))


def test_credits_roll_up_and_a_ticker_runs_left() -> None:
    spec = {"kind": "lavfi", "name": "color=c=black", "motion": "none"}
    a = frames(**spec, scroll_text={"over": "black", "speed_px_s": 50})
    lit = (luma(a) > 100).mean(axis=(1, 2))
    assert (lit > 0.003).all() and (lit < 0.2).all()  # text on every frame, over black
    shift = int(10 / 25 * 50) - int(9 / 25 * 50)
    assert shift > 0 and np.array_equal(a[10][:-shift], a[9][shift:])
    still = {"kind": "still", "name": "coffee", "motion": "hold"}
    plain, tick = frames(**still), frames(**still, scroll_text={"over": "picture", "direction": "left"})
    band = slice(int(0.85 * 180), int(0.95 * 180))
    outside = np.ones(180, bool)
    outside[band] = False
    assert np.array_equal(tick[:, outside], plain[:, outside]) and not np.array_equal(tick[:, band], plain[:, band])
    assert not np.array_equal(tick[5][band], tick[6][band])


# --- capture-chain treatments ------------------------------------------------------------------


def test_range_limited_squeezes_and_full_stretches() -> None:
    base = frames(kind="still", name="checkerboard", motion="none")
    assert base.min() == 0 and base.max() == 255
    lim = frames(kind="still", name="checkerboard", motion="none", range="limited")
    y = luma(lim)
    assert lim.min() >= 16 and lim.max() <= 235 and y.min() >= 16 and y.max() <= 235
    full = frames(kind="still", name="astronaut", range="full")
    assert full.min() == 0 and full.max() == 255
    lut = treatments.RANGE_LUT
    assert np.abs(lut["full"][lut["limited"]].astype(int) - np.arange(256)).max() <= 1


def test_rescale_softens_the_picture() -> None:
    base = frames(kind="still", name="grass")
    soft = frames(kind="still", name="grass", rescale=2.0)
    assert soft.shape == base.shape

    def detail(x: np.ndarray) -> float:
        return float(cv2.Laplacian(luma(x[0]), cv2.CV_64F).var())

    assert detail(soft) < 0.5 * detail(base) and psnr(soft, base) > 20


@pytest.mark.parametrize(
    "recompress", [{"codec": "x264", "crf": 35}, {"codec": "mjpeg", "quality": 50}], ids=["x264", "mjpeg"]
)
def test_recompress_costs_quality_but_stays_watchable(recompress: dict) -> None:
    base = frames(CLIP, kind="still", name="astronaut")
    low = frames(CLIP, kind="still", name="astronaut", recompress=recompress)
    assert low.shape == base.shape
    assert 25 < psnr(low, base) < 40
    assert np.array_equal(low, frames(CLIP, kind="still", name="astronaut", recompress=recompress))
    if recompress["codec"] == "x264":
        high = frames(CLIP, kind="still", name="astronaut", recompress={"codec": "x264", "crf": 12})
        assert psnr(high, base) > psnr(low, base) + 5


def test_recompress_takes_the_setting_of_its_codec() -> None:
    with pytest.raises(ValidationError, match="crf"):
        VideoSpec(kind="still", name="grass", recompress={"codec": "x264", "quality": 50})
    with pytest.raises(ValidationError):
        VideoSpec(kind="still", name="grass", recompress={"codec": "x264", "crf": 40})


def test_every_treatment_at_once_is_deterministic() -> None:
    spec = {
        "kind": "still",
        "name": "astronaut",
        "cut_every_s": 1.0,
        "grain": 3.0,
        "fade_at_s": 1.2,
        "scroll_text": {"over": "picture"},
        "letterbox": 0.1,
        "ui_overlay": "player",
        "range": "limited",
        "rescale": 1.5,
        "recompress": {"codec": "x264", "crf": 30},
    }
    assert np.array_equal(frames(**spec), frames(**spec))
    assert not np.array_equal(frames(**spec), frames(seed=8, **spec))


# --- long clean clips and the plan -------------------------------------------------------------


def tiny_recipe(*extra: dict) -> BenchRecipe:
    src = {"id": "a", "video": {"kind": "still", "name": "grass"}, "audio": {"kind": "music"}, "quick": True}
    return BenchRecipe.model_validate(
        {
            "seed": 1,
            "clip": SMALL.model_dump(),
            "durations_s": {"default": [0.2, 0.4]},
            "margin_s": 0.5,
            "sources": {"train": [src], "test": list(extra)},
        }
    )


LONG = {
    "id": "long",
    "video": {"kind": "lavfi", "name": "testsrc2", "motion": "none", "ui_overlay": "menu"},
    "audio": {"kind": "music", "seed": 2},
    "hard_negative": ["ui_graphics"],
    "impair": False,
    "clean_duration_s": 4.0,
}


def test_plan_honours_impair_false_and_clean_duration() -> None:
    r = tiny_recipe(LONG)
    rows = plan(r)
    long = [x for x in rows if x.source == "long"]
    assert [(x.defect, x.length_s) for x in long] == [(CLEAN, 4.0)]
    assert {x.length_s for x in rows if x.source == "a"} == {SMALL.duration_s}
    assert len([x for x in rows if x.source == "a"]) > 1  # the other source is impaired as before
    assert {x.source for x in plan(r, quick=True)} == {"a"}  # not quick: left out of the quick plan
    with pytest.raises(ValidationError, match="clean_duration_s needs impair: false"):
        SourceSpec.model_validate({**LONG, "impair": True})


def test_long_clean_clip_is_built_at_its_length_the_same_twice(tmp_path: Path) -> None:
    r = tiny_recipe(LONG)
    src = r.sources["test"][0]
    p1 = build_source(src, r, tmp_path / "1")
    p2 = build_source(src, r, tmp_path / "2")
    assert p1.read_bytes() == p2.read_bytes()
    with av.open(str(p1)) as c:
        n = sum(1 for _ in c.decode(video=0))
    with av.open(str(p1)) as c:
        samples = sum(f.samples for f in c.decode(audio=0))
    assert n == 100 and abs(samples / 48000 - 4.0) < 0.05


# --- the recipe --------------------------------------------------------------------------------

# hard-negative categories a block detector's false alarms must be measured on, and the tags that count
CATEGORIES = {
    "crowd": {"crowd"},
    "high motion": {"high_motion"},
    "film grain": {"film_grain"},
    "fine texture": {"fine_texture"},
    "fabric": {"fabric"},
    "foliage": {"foliage"},
    "gravel": {"gravel"},
    "text": {"text"},
    "UI graphics": {"ui_graphics"},
    "fade": {"fade"},
    "cut": {"cut", "cut_to_dark_scene"},
    "letterbox edges": {"letterbox"},
    "capture compression": {"capture_compression"},
    "scaling": {"scaling"},
    "limited range": {"range_limited"},
    "full range": {"range_full"},
}


def picture(s: SourceSpec) -> tuple[str, str]:
    """The picture material of a source: a lavfi generator counts by its name, others by their file."""
    v = s.video
    return (v.kind, v.name.split("=")[0].split(",")[0] if v.kind == "lavfi" else v.name)


def test_full_plan_test_group_has_an_hour_of_clean_hard_negatives() -> None:
    r = load_recipe()
    clean = [x for x in plan(r) if x.group == "test" and x.defect == CLEAN and x.hard_negative]
    assert sum(x.length_s or 0 for x in clean) >= 3600
    long = [s for s in r.sources["test"] if not s.impair and not s.quick]
    assert sum(r.clean_length_s(s) for s in long) >= 3600
    tags = {t for s in long for t in s.hard_negative}
    assert [c for c, want in CATEGORIES.items() if not want & tags] == []
    crfs = [s.video.recompress.crf for s in long if s.video.recompress and s.video.recompress.crf]
    assert min(crfs) == 12 and max(crfs) == 35
    assert any(s.video.recompress and s.video.recompress.codec == "mjpeg" for s in long)
    assert {s.video.range for s in long} >= {"limited", "full"}


def test_new_train_and_test_sources_share_no_picture() -> None:
    r = load_recipe()
    train, test = r.sources["train"], r.sources["test"]
    block_train = [s for s in train if s.video.kind in ("file", "lavfi") or s.video.ui_overlay or s.video.recompress]
    assert len(block_train) >= 6 and all(s.impair for s in train)
    long = [s for s in test if not s.impair and not s.quick]
    shared = {picture(s) for s in long} & {picture(s) for s in train}
    assert shared == set()
    assert not any(s.quick for s in long + block_train)
    # the quick benchmark (CI's guard against bench_floors.yaml) keeps its sources
    assert {s.id for _, s in r.all_sources() if s.quick} == {
        "bbb",
        "carphone-speech",
        "bikes-dark",
        "chelsea-static",
        "chelsea-gated-news",  # clean only: audio_dropout's hard negatives (gated speech, music with rests)
        "chelsea-piano-rests",
        "bbb-fade",
    }


@pytest.mark.parametrize("scale", [(320, 180), (1280, 720)], ids=["180p", "720p"])
def test_train_sources_render_at_the_training_sizes(scale: tuple[int, int]) -> None:
    """Training renders train sources at 180p, 360p and 720p (harness.train.blockdata.SCALES)."""
    r = load_recipe()
    fmt = ClipFormat(width=scale[0], height=scale[1], fps=25, duration_s=2.4)
    for s in r.sources["train"]:
        if s.video.kind == "file" and not (sources.OPENCV_DOC_DATA / s.video.name).exists():
            continue
        f = next(iter_video(s.video, fmt, 1))
        assert f.shape == (scale[1], scale[0], 3), s.id


def test_every_recipe_source_renders_its_first_second() -> None:
    """Every picture and sound of the recipe renders (a missing file or a bad graph shows here, not
    an hour into a full build)."""
    r = load_recipe()
    for _, s in r.all_sources():
        if s.video.kind == "file" and not (sources.OPENCV_DOC_DATA / s.video.name).exists():
            continue
        seed = r.seed * 1000 + sum(s.id.encode())
        assert len(list(iter_video(s.video, r.clip, seed, 1.0))) == 25, s.id
        if s.audio.kind != "speech":  # espeak-ng's speech is covered by the guard's sources
            assert sources.render_audio(s.audio, s.video, r.clip, seed, 1.0).shape == (48000, 2), s.id


def test_test_group_has_ten_minutes_of_each_pausing_programme() -> None:
    # audio_dropout's hard negatives (issue 12): sound that pauses into digital silence on its own
    r = load_recipe()
    clean = [s for s in r.sources["test"] if not s.impair]
    for tag in ("gated_speech", "music_rests"):
        assert sum(r.clean_length_s(s) for s in clean if tag in s.hard_negative) >= 600, tag
    gated = [s for s in clean if "gated_speech" in s.hard_negative]
    assert all(s.audio.gate is not None for s in gated)
    assert any(s.audio.kind == "voice" for s in clean)
    rests = [s for s in clean if "music_rests" in s.hard_negative]
    assert {s.audio.reverb for s in rests} == {True, False}
