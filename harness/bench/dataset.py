"""The labelled dataset: clean clips of every bench source plus each impairment of
`harness.impairments.IMPAIRMENTS` applied to them at each severity, with a manifest.

Each impaired clip gets its window (position and length) and impairment seed from a generator
fixed by (recipe seed, source, defect, severity), so a rebuild gives the same bytes of truth and a
quick build is an exact subset of the full one (and reuses its cached clips). A clip is done when
its OUT.truth.json exists (`impair_file` writes it after the media), so an interrupted build
resumes where it stopped. `manifest.json` (full) or `manifest.quick.json` (`--quick`) lists one row
per clip: path (relative to the folder), source, group, defect, severity, seed, window, truth list,
clip length. A clean-only source (`impair: false`) has its clean clip and no impaired one; its clean
clip may be longer than the clip format (`clean_duration_s`: the long hard negatives of `test`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.bench.sources import BenchRecipe, SourceSpec, bench_dir, build_source
from harness.impairments import IMPAIRMENTS, impair_file, truth_path

CLEAN = "none"


@dataclass
class ClipRow:
    """One clip of the dataset; `defect` is "none" for a clean clip, whose `truth` is empty."""

    path: str
    source: str
    group: str
    defect: str
    severity: float
    seed: int
    at_s: float | None = None
    duration_s: float | None = None
    truth: list[dict[str, Any]] = field(default_factory=list)
    hard_negative: list[str] = field(default_factory=list)
    length_s: float | None = None  # the clip's length (None in manifests written before it was recorded)


def responsible_defects() -> set[str]:
    """Defects whose truth type is an event type some registered detector reports (its name)."""
    from harness.detectors import REGISTRY

    return {name for name, spec in IMPAIRMENTS.items() if spec.event_type in REGISTRY}


def stable_seed(*parts: object) -> int:
    """A seed fixed by its parts (recipe seed, source, defect, severity), the same on every machine."""
    return int.from_bytes(hashlib.sha256("/".join(map(str, parts)).encode()).digest()[:4], "little")


def plan(recipe: BenchRecipe, quick: bool = False) -> list[ClipRow]:
    """Every clip the recipe asks for, clean ones first; windows drawn from the recipe seed.
    Clean-only sources (`impair: false`) give their clean clip alone, `clean_duration_s` long."""
    rows: list[ClipRow] = []
    sources = [(g, s) for g, s in recipe.all_sources() if s.quick or not quick]
    own = responsible_defects()
    for g, s in sources:
        hard, length_s = list(s.hard_negative), recipe.clean_length_s(s)
        rows.append(ClipRow(f"clean/{s.id}.mp4", s.id, g, CLEAN, 0.0, 0, hard_negative=hard, length_s=length_s))
    length = recipe.clip.duration_s
    for g, s in sources:
        if not s.impair:
            continue
        for defect in IMPAIRMENTS:
            if quick:
                sevs = recipe.quick.severities if defect in own else recipe.quick.other_defects_severities
            else:
                sevs = recipe.severities
            for sev in sevs:
                rng = np.random.default_rng(stable_seed(recipe.seed, s.id, defect, f"{sev:.2f}"))
                lo, hi = recipe.durations_s.get(defect, recipe.durations_s["default"])
                dur = round(float(rng.uniform(lo, hi)), 2)
                at = round(float(rng.uniform(recipe.margin_s, length - recipe.margin_s - dur)), 2)
                seed = int(rng.integers(0, 2**31 - 1))
                path = f"impaired/{s.id}/{defect}-s{sev:.2f}.mp4"
                rows.append(ClipRow(path, s.id, g, defect, sev, seed, at, dur, length_s=length))
    return rows


def _make(row: ClipRow, out_dir: str, src_path: str) -> ClipRow:
    """Build one impaired clip (worker process) unless its truth file says it is already done."""
    out = Path(out_dir) / row.path
    tp = truth_path(out)
    if not (out.exists() and tp.exists()):
        assert row.at_s is not None and row.duration_s is not None
        impair_file(src_path, out, row.defect, row.at_s, row.duration_s, row.severity, row.seed)
    row.truth = [json.loads(tp.read_text())["truth"]]
    return row


def _source(src: SourceSpec, recipe: BenchRecipe, out_dir: str) -> str:
    return str(build_source(src, recipe, Path(out_dir)))


def build_dataset(
    recipe: BenchRecipe,
    out_dir: Path | None = None,
    quick: bool = False,
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    select: Callable[[ClipRow], bool] | None = None,
) -> tuple[Path, list[ClipRow]]:
    """Render the sources, impair them, write the manifest; return (manifest path, rows).

    `jobs` worker processes (default: the CPU count, at most 4) each encode one clip at a time.
    `select` keeps only some rows of the plan (tests use a few); its manifest is manifest.subset.json.
    """
    out = out_dir or bench_dir(recipe)
    out.mkdir(parents=True, exist_ok=True)
    rows = [r for r in plan(recipe, quick) if select is None or select(r)]
    by_id = {s.id: s for _, s in recipe.all_sources()}
    clean = [r for r in rows if r.defect == CLEAN]
    impaired = [r for r in rows if r.defect != CLEAN]
    total, done = len(rows), 0
    jobs = jobs or min(4, os.cpu_count() or 1)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        paths = {}
        srcs = [by_id[r.source] for r in clean]
        for r, p in zip(clean, pool.map(_source, srcs, [recipe] * len(clean), [str(out)] * len(clean)), strict=True):
            paths[r.source] = p
            done += 1
            if progress:
                progress(done, total)
        futures = [pool.submit(_make, r, str(out), paths[r.source]) for r in impaired]
        finished = []
        for f in futures:
            finished.append(f.result())
            done += 1
            if progress:
                progress(done, total)
    for r in finished:
        r.hard_negative = list(by_id[r.source].hard_negative)
    rows = clean + finished
    manifest = out / ("manifest.subset.json" if select else "manifest.quick.json" if quick else "manifest.json")
    doc = {
        "recipe_digest": recipe.digest(),
        "clip": recipe.clip.model_dump(),
        "quick": quick,
        "clips": [asdict(r) for r in rows],
    }
    manifest.write_text(json.dumps(doc, indent=1) + "\n")
    return manifest, rows


def load_manifest(path: Path) -> list[ClipRow]:
    return [ClipRow(**r) for r in json.loads(path.read_text())["clips"]]
