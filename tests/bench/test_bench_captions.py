"""The caption benchmark: fault kinds in rotation, and one short clip scored end to end."""

from __future__ import annotations

from collections import Counter

from harness.bench.captions import KINDS, _frames, plan, run_clip, summary, table
from harness.reference.captions import title_cues
from harness.reference.titles import ensure_titles


def test_every_fault_kind_comes_up_as_often_and_never_on_neighbours():
    cues = title_cues("bbb-720p25") or []
    assert plan(cues, 0, 0) == []  # the first clip is clean
    counts: Counter[str] = Counter()
    for clip in range(1, 10):
        slots = plan(cues, clip, 0)
        positions = [k for k, _ in slots]
        assert all(b - a >= 2 for a, b in zip(positions, positions[1:], strict=False))
        counts.update(kind[0] for _, kind in slots)
    assert set(counts) == {k[0] for k in KINDS} and max(counts.values()) - min(counts.values()) <= 1


def test_a_faulted_clip_is_scored_per_cue(tmp_path):
    t = ensure_titles(["bbb-720p25"])[0]
    frames = _frames(t, 20.0)
    res = run_clip(t, frames, title_cues(t.id) or [], 1, tmp_path, seed=0)
    faulted = [r for r in res.rows if r.kind != "clean"]
    assert faulted and len(res.rows) >= 4
    for r in faulted:
        if r.expected is not None:
            assert r.expected in r.found, r
    s = summary([res])
    assert s["cues"] == len(res.rows) and "caption benchmark" in table(s)
