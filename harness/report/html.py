"""The Allure 3 HTML report from a run's allure-results (Allure's npm command line, installed once)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ALLURE_NPM = "allure@3.18.0"


class ReportError(Exception):
    pass


def allure_cli() -> list[str]:
    """The Allure 3 command line from npm, installed once into a cache folder."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        raise ReportError("the HTML report needs Node.js and npm (Debian: apt-get install nodejs npm)")
    cache = Path(os.environ.get("VQA_TOOLS_DIR") or Path.home() / ".cache" / "vqa-harness" / "allure3")
    cli = cache / "node_modules" / "allure" / "cli.js"
    if not cli.exists():
        cache.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(
            [npm, "install", "--prefix", str(cache), "--no-audit", "--no-fund", ALLURE_NPM],
            capture_output=True,
            text=True,
        )
        if r.returncode != 0 or not cli.exists():
            raise ReportError(f"npm install {ALLURE_NPM} failed: {(r.stderr or r.stdout).strip().splitlines()[-1:]}")
    return [node, str(cli)]


def generate_html(results: Path, report: Path, name: str = "Playback validation") -> Path:
    if not results.is_dir() or not any(results.glob("*-result.json")):
        raise ReportError(f"{results} holds no Allure results; run the suites with --alluredir={results} first")
    cmd = allure_cli() + ["generate", str(results), "-o", str(report), "--name", name]
    r = subprocess.run(cmd, capture_output=True, text=True)
    index = report / "index.html"
    if r.returncode != 0 or not index.exists():
        raise ReportError(f"allure generate failed ({r.returncode}): {(r.stderr or r.stdout).strip()[-500:]}")
    return index
