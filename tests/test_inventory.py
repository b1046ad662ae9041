from __future__ import annotations

import pytest

from harness.config import InventoryError, load_inventory

GOOD = """
devices:
  - name: tv1
    kind: tv
    control: sim://tv1
    rig: {video: sim://, audio: sim://}
    features: [seek]
  - name: box2
    kind: stb
    control: itach://10.0.0.5:4998/1
    rig: {video: "v4l2:///dev/video0", audio: "pulse:capture"}
    calibration: {av_offset_ms: 12.5}
"""


def test_shipped_inventory_has_clean_and_faulty_simulators():
    inv = load_inventory()
    assert inv.names[:2] == ["sim-tv01", "sim-tv02"]
    assert not inv.get("sim-tv01").simulator.faults
    kinds = {f.type for f in inv.get("sim-tv02").simulator.faults}
    assert kinds == {"black_frames", "frozen_video", "audio_dropout"}


def test_load_and_lookup(tmp_path):
    p = tmp_path / "lab.yaml"
    p.write_text(GOOD)
    inv = load_inventory(p)
    assert inv.get("box2").calibration.av_offset_ms == 12.5
    assert inv.get("box2").control_scheme == "itach"


def test_unknown_device_lists_known_names(tmp_path):
    p = tmp_path / "lab.yaml"
    p.write_text(GOOD)
    with pytest.raises(InventoryError) as e:
        load_inventory(p).get("tv9")
    assert "unknown device 'tv9'" in str(e.value) and "tv1, box2" in str(e.value)


def test_env_var_selects_file(tmp_path, monkeypatch):
    p = tmp_path / "other.yaml"
    p.write_text(GOOD)
    monkeypatch.setenv("VQA_INVENTORY", str(p))
    assert load_inventory().names == ["tv1", "box2"]


@pytest.mark.parametrize(
    "text, needle",
    [
        ("devices: [", "not valid YAML"),
        ("- a\n- b\n", "must be a mapping"),
        (GOOD.replace("kind: stb", "kind: fridge"), "devices.1.kind"),
        (GOOD.replace("control: sim://tv1", "control: tv1"), "no scheme"),
        (GOOD.replace("name: box2", "name: tv1"), "appears twice"),
        (GOOD.replace("features: [seek]", "featurez: [seek]"), "featurez"),
    ],
)
def test_bad_files_get_one_clear_error(tmp_path, text, needle):
    p = tmp_path / "lab.yaml"
    p.write_text(text)
    with pytest.raises(InventoryError) as e:
        load_inventory(p)
    assert needle in str(e.value) and str(p) in str(e.value)
    assert "\n" not in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(InventoryError, match="does not exist"):
        load_inventory(tmp_path / "none.yaml")
