"""The release suites end to end on the simulated devices, and the HTML report in a real browser."""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.e2e


def run_suites(repo: Path, tmp: Path, device: str, *extra: str) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "test_suites/",
        f"--device={device}",
        f"--alluredir={tmp / 'results'}",
        f"--captures-dir={tmp / 'captures'}",
        "-p",
        "no:cacheprovider",
        "-q",
        *extra,
    ]
    return subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=1200)


@pytest.fixture(scope="module")
def clean_run(repo, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sim-tv01")
    return tmp, run_suites(repo, tmp, "sim-tv01")


def test_clean_device_passes_every_scenario(clean_run):
    tmp, r = clean_run
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert re.search(r"\b12 passed\b", r.stdout), r.stdout[-1000:]  # 6 scenarios x 2 titles
    bundles = sorted(p.parent for p in (tmp / "captures").rglob("meta.json"))
    assert len(bundles) == 12
    for b in bundles:
        meta = json.loads((b / "meta.json").read_text())
        assert meta["complete"] and meta["device"] == "sim-tv01"
        assert json.loads((b / "analysis.json").read_text())["verdict"] == "pass"


def test_allure_results_carry_labels_and_evidence(clean_run):
    tmp, _ = clean_run
    results = [json.loads(p.read_text()) for p in (tmp / "results").glob("*-result.json")]
    assert len(results) == 12
    for res in results:
        labels = {(x["name"], x["value"]) for x in res["labels"]}
        assert ("device", "sim-tv01") in labels
        assert any(n == "title" for n, _ in labels) and any(n == "feature" for n, _ in labels)
        dev = [p for p in res["parameters"] if p["name"] == "device"]
        assert dev and dev[0].get("excluded") is True
        kinds = {a["type"] for a in res["attachments"]}
        assert {"application/json", "image/png", "video/mp4", "text/plain"} <= kinds, kinds
        mp4 = next(a for a in res["attachments"] if a["type"] == "video/mp4")
        head = (tmp / "results" / mp4["source"]).read_bytes()[:64]
        assert b"ftyp" in head
    env = (tmp / "results" / "environment.properties").read_text()
    assert "device=sim-tv01" in env
    assert json.loads((tmp / "results" / "executor.json").read_text())["name"] == "vqa-harness"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_html_report_opens_in_a_headless_browser(clean_run, repo):
    tmp, _ = clean_run
    out = tmp / "report"
    r = subprocess.run(
        [sys.executable, "-m", "harness.cli", "report", "--results", str(tmp / "results"), "--output", str(out)],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    assert (out / "index.html").exists()
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    assert browser, "a headless Chromium is needed for this test (Debian: apt-get install chromium)"
    handler = functools.partial(_QuietHandler, directory=str(out))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        dom = subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={tmp / 'chrome'}",
                "--virtual-time-budget=15000",
                "--dump-dom",
                f"http://127.0.0.1:{srv.server_port}/index.html",
            ],
            capture_output=True,
            text=True,
            timeout=180,
        ).stdout
    finally:
        srv.shutdown()
    # the report rendered its test tree (collapsed to the suites folder when all pass) and metadata
    assert "test_suites" in dom
    assert "Playback validation" in dom and "sim-tv01" in dom


def test_faulty_device_fails_naming_each_defect_and_its_time(repo, tmp_path):
    r = run_suites(repo, tmp_path, "sim-tv02", "-k", "steady", "--titles=bbb-720p25")
    assert r.returncode == 1, r.stdout[-3000:]
    faults = {
        f["type"]: f["at_s"]
        for d in yaml.safe_load((repo / "devices" / "lab.yaml").read_text())["devices"]
        if d["name"] == "sim-tv02"
        for f in d["simulator"]["faults"]
    }
    found = dict(
        re.findall(
            r"(black_frames|frozen_video|audio_dropout) at [\d.]+-[\d.]+ s of the capture "
            r"\([\d.]+ s, title position ([\d.]+) s\)",
            r.stdout,
        )
    )
    assert set(found) == set(faults), r.stdout[-3000:]
    for kind, at in faults.items():
        assert abs(float(found[kind]) - at) <= 0.5, (kind, found[kind], at)


def test_block_corruption_fault_fails_naming_it_at_the_title_position(repo, tmp_path):
    """sim-tv05 shows real H.264 damage (corrupted and dropped packets, concealed) at 12 s of the
    title: steady playback with the opt-in detector fails naming block_corruption there, with the
    heatmap as evidence."""
    r = run_suites(repo, tmp_path, "sim-tv05", "-k", "steady", "--titles=bbb-720p25", "--detectors=+block_corruption")
    assert r.returncode == 1, r.stdout[-3000:]
    at = re.findall(
        r"block_corruption at [\d.]+-[\d.]+ s of the capture \([\d.]+ s, title position ([\d.]+) s\)", r.stdout
    )
    assert at, r.stdout[-3000:]
    assert any(abs(float(x) - 12.0) <= 0.5 or 12.0 <= float(x) <= 13.5 for x in at), at
    for other in ("black_frames at", "frozen_video at", "audio_dropout at", "frames_dropped ="):
        assert other not in r.stdout, r.stdout[-3000:]
    attachments = [
        a
        for f in (tmp_path / "results").glob("*-result.json")
        for a in json.loads(f.read_text()).get("attachments", [])
    ]
    assert any("block_corruption" in a["name"] for a in attachments), [a["name"] for a in attachments]


def test_timing_faults_fail_naming_the_measurement_and_its_limit(repo, tmp_path):
    """sim-tv04: slow start, sound 160 ms late and drifting, 5 frames dropped and 3 repeated, slow seeks."""
    r = run_suites(repo, tmp_path, "sim-tv04", "-k", "startup or steady or avsync or seek", "--titles=bbb-720p25")
    assert r.returncode == 1, r.stdout[-3000:]
    out = r.stdout
    assert re.search(r"startup_time_s = 4\.\d+ s exceeds the limit 3\.0 s", out), out[-3000:]
    assert re.search(r"av_offset_ms = 1[67]\d\.\d+ ms exceeds the limit 125\.0 ms", out), out[-3000:]
    assert "frames_dropped = 5.000 exceeds the limit 0" in out
    assert "frames_repeated = 3.000 exceeds the limit 0" in out
    # each cadence failure says which title frames and where in the capture
    gap = re.search(r"5 title frames dropped: (\d+)-(\d+) at capture (\d+\.\d\d)-(\d+\.\d\d) s", out)
    assert gap and int(gap[2]) - int(gap[1]) == 4 and float(gap[4]) > float(gap[3]), out[-3000:]
    assert re.search(r"3 extra showings: title frame \d+ shown 3 times too many at capture [\d.]+-[\d.]+ s", out)
    # and the Allure result shows the frames on each side of the gap
    names = {
        a["name"]
        for f in (tmp_path / "results").glob("*-result.json")
        for a in json.loads(f.read_text()).get("attachments", [])
    }
    assert f"title frames {gap[1]}-{gap[2]} dropped" in names, sorted(names)
    assert re.search(r"seek_time_s = 2\.\d+ s exceeds the limit 2\.0 s", out), out[-3000:]


def test_caption_faults_fail_naming_each_cue_and_its_error(repo, tmp_path):
    """sim-tv07's caption renderer shows the cue of 4-5 s 250 ms late, never shows the one of
    10-11 s, garbles the one of 12-13 s and leaves the one of 17-18.5 s on screen until the next:
    each is reported with its cue and, for timing, an error within one frame of the injected one."""
    r = run_suites(repo, tmp_path, "sim-tv07", "-k", "captions", "--titles=bbb-720p25")
    assert r.returncode == 1, r.stdout[-3000:]
    out = r.stdout
    # bbb-720p25's cues: 2 at 4.8 s, 3 at 10.4 s, 4 at 12.4 s, 5 at 18.0-21.2 s (the next at 22.0 s)
    late = re.search(r"cue 2 shown \+(\d+) ms at its start, \+(\d+) ms at its end", out)
    assert late and all(abs(int(x) - 250) <= 40 for x in late.groups()), out[-3000:]
    assert "cue 3 never shown" in out, out[-3000:]
    assert re.search(r"caption_text at [\d.]+-[\d.]+ s of the capture .*cue 4 reads", out), out[-3000:]
    stuck = re.search(r"cue 5 shown \+(-?\d+) ms at its start, \+(\d+) ms at its end", out)
    assert stuck and abs(int(stuck[1])) <= 40 and abs(int(stuck[2]) - 800) <= 40, out[-3000:]
    for clean in ("cue 1 ", "cue 6 ", "black_frames at", "frames_dropped ="):
        assert clean not in out, out[-3000:]
    names = {
        a["name"]
        for f in (tmp_path / "results").glob("*-result.json")
        for a in json.loads(f.read_text()).get("attachments", [])
    }
    assert any(n.startswith("caption_missing") for n in names), sorted(names)
