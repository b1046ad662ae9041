"""The pytest plugin as a user meets it, through pytester in a subprocess (entry point loading)."""

from __future__ import annotations

import pytest

SUITE = """
def test_uses_device(device):
    assert device.name
"""


def test_unknown_device_is_a_clear_usage_error(pytester):
    pytester.makepyfile(SUITE)
    r = pytester.runpytest_subprocess("--device=nope", "-p", "no:cacheprovider")
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    err = r.stderr.str()
    assert "unknown device 'nope'" in err
    assert "known devices: sim-tv01, sim-tv02, sim-tv03, sim-tv04" in err
    assert "Traceback" not in err


def test_no_device_selected_names_the_option(pytester):
    pytester.makepyfile(SUITE)
    r = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert r.ret != 0
    out = r.stdout.str() + r.stderr.str()
    assert "pass --device NAME" in out and "sim-tv01" in out


def test_bad_inventory_option_is_a_usage_error(pytester):
    pytester.makepyfile(SUITE)
    bad = pytester.path / "lab.yaml"
    bad.write_text("devices: 3\n")
    r = pytester.runpytest_subprocess(f"--inventory={bad}", "--device=x")
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    assert "is invalid at devices" in r.stderr.str()


def test_inventory_from_env_and_options_as_fixtures(pytester, monkeypatch):
    inv = pytester.path / "lab.yaml"
    inv.write_text("devices:\n  - {name: tvx, kind: tv, control: 'sim://tvx', rig: {video: 'sim://'}, features: [a]}\n")
    monkeypatch.setenv("VQA_INVENTORY", str(inv))
    pytester.makepyfile("""
        import pytest
        def test_name(device_name, device_spec):
            assert device_name == "tvx" and device_spec.kind == "tv"

        @pytest.mark.requires_features("a")
        def test_has_a():
            pass

        @pytest.mark.requires_features("zzz")
        def test_needs_zzz():
            pass
    """)
    r = pytester.runpytest_subprocess("--device=tvx", "-p", "no:allure_pytest", "-rs")
    r.assert_outcomes(passed=2, skipped=1)
    assert "tvx lacks feature tags: zzz" in r.stdout.str()


def test_unknown_title_is_a_usage_error(pytester):
    pytester.makepyfile("def test_t(title_id):\n    pass\n")
    r = pytester.runpytest_subprocess("--device=sim-tv01", "--titles=nope", "-p", "no:allure_pytest")
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    assert "unknown title(s) nope" in r.stderr.str()


SLOW = (
    "devices:\n  - {name: tvslow, kind: tv, control: 'sim://tvslow', rig: {video: 'sim://', audio: 'sim://'},"
    " simulator: {startup_delay_s: 30}}\n"
)


def test_a_title_that_never_starts_fails_and_a_device_error_is_broken_each_in_one_line(pytester):
    import json

    inv = pytester.path / "lab.yaml"
    inv.write_text(SLOW)
    pytester.makepyfile("""
        def test_play(scenario, title):
            scenario.start_playing(timeout_s=2)

        def test_bad_key(device):
            device.press("warp")
    """)
    results = pytester.path / "results"
    r = pytester.runpytest_subprocess(
        f"--inventory={inv}",
        "--device=tvslow",
        "--titles=bbb-720p25",
        f"--alluredir={results}",
        "-p",
        "no:cacheprovider",
    )
    r.assert_outcomes(failed=2)
    out = r.stdout.str()
    assert "bbb-720p25 never started playing: tvslow: player did not reach state 'playing' within 2 s" in out
    assert "DeviceError: tvslow: unknown key 'warp'" in out
    assert "Traceback" not in out and "devices/base.py" not in out, out
    runs = [json.loads(f.read_text()) for f in results.glob("*-result.json")]
    status = {res["name"].split("[")[0]: res["status"] for res in runs}
    assert status == {"test_play": "failed", "test_bad_key": "broken"}


def test_unknown_detector_is_a_usage_error_before_any_device_starts(pytester):
    pytester.makepyfile(SUITE)
    r = pytester.runpytest_subprocess("--device=sim-tv01", "--detectors=+block_corruptoin", "-p", "no:cacheprovider")
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    err = r.stderr.str()
    assert "--detectors: unknown detector 'block_corruptoin'" in err and "block_corruption" in err
    assert "Traceback" not in err


def test_detector_set_adds_to_or_replaces_the_defaults():
    from harness.detectors import DEFAULT_DETECTORS, detector_set

    assert detector_set(None) == DEFAULT_DETECTORS
    assert detector_set("+block_corruption") == (*DEFAULT_DETECTORS, "block_corruption")
    assert detector_set("black_frames,block_corruption") == ("black_frames", "block_corruption")
