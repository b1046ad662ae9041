"""`vqa bench artifacts`: the audio-artifacts classifier and its signal-processing baseline on the
*test* sources of `harness.train.audiodata` (other voices, another speaker, another soundfont,
another film: none heard in training).

Three parts, all seeded:

1. **windows**: test segments made as the training data is (seed 1000, so not the card's own test
   set), each one-second window scored by the model (mono mix) and by the baseline
   (`harness.detectors.audiosp`, its thresholds fitted on *train* segments at 2 % clean false alarms):
   balanced accuracy, recall per class and the confusion matrix.
2. **false alarms**: every test source, clean, `clean_s` seconds each (an hour in all by default),
   half of them through AAC, streamed through the `audio_artifacts` detector in 100 ms blocks as a
   capture is; every event is a false alarm. The baseline's events are runs of two or more flagged
   windows, as the detector's are.
3. **events**: 10 s clips of test sources with one impairment over [3, 7) s; found when an event of
   the right type overlaps it.

The detector's speed is its wall time over the audio it was fed (x real time, this process, all
its threads).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.detectors import audiosp
from harness.detectors.artifacts import CLASSES, EVENT_OF, AudioArtifacts
from harness.media import AudioBlock
from harness.ml import features as fe
from harness.ml.runtime import OnnxModel
from harness.train import audiodata as ad


@dataclass
class ArtifactsReport:
    windows: dict[str, Any] = field(default_factory=dict)
    baseline_windows: dict[str, Any] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    false_alarms: dict[str, Any] = field(default_factory=dict)
    events: dict[str, Any] = field(default_factory=dict)
    speed_x_realtime: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _confusion(pred: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    k = len(CLASSES)
    cm = np.zeros((k, k), np.int64)
    np.add.at(cm, (y.astype(np.int64), pred.astype(np.int64)), 1)
    recall = {c: round(float(cm[i, i] / cm[i].sum()), 4) for i, c in enumerate(CLASSES) if cm[i].sum()}
    return {
        "windows": int(len(y)),
        "balanced_accuracy": round(float(np.mean(list(recall.values()))), 4),
        "recall": recall,
        "confusion": cm.tolist(),
    }


def _segments(group: ad.Group, n: int, seed: int, pool_s: float) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """(dirty raw mono windows (k, WINDOW_SAMPLES), their features (k, ROWS, W), label) per segment."""
    srcs = ad.sources(group)
    out = []
    length = (fe.WINDOW_FRAMES - 1) * fe.HOP + fe.N_FFT
    for i in range(n):
        rng = np.random.default_rng([seed, i, 0xBE7C])
        src = srcs[i % len(srcs)]
        pool = ad._pool(src, pool_s)
        m = int(ad.SEGMENT_S * ad.RATE)
        off = int(rng.integers(0, len(pool) - m))
        clean = np.clip(pool[off : off + m] * np.float32(10 ** (rng.uniform(-12, 6) / 20)), -1, 1)
        label = int(rng.choice(len(CLASSES), p=ad.CLASS_P))
        dirty, seg, onsets = ad.impair(clean, label, rng)
        ref = clean
        if rng.random() < 0.4:
            dirty = ad.aac_roundtrip(dirty, 128)
            ref = ad.aac_roundtrip(clean, 128) if label == 3 else clean
        mono = fe.mono(dirty)
        wins, starts = fe.windows(fe.columns(mono))
        keep = [ad._audible(ref, dirty, label, onsets, int(s) * fe.HOP, int(s) * fe.HOP + length) for s in starts]
        k = np.asarray(keep, bool)
        raw = np.stack([mono[int(s) * fe.HOP : int(s) * fe.HOP + length] for s in starts])[k]
        out.append((raw, wins[k, 0], label))
    return out


def _measures(raw: np.ndarray) -> list[dict[str, Any]]:
    return [audiosp.measure(x, fe.RATE) for x in raw]


KEYS = ("hum_prominence_db", "noise_floor_flatness", "clipped_run_share", "clicks_per_s")


def fit_thresholds(measures: list[dict[str, Any]], y: np.ndarray, clean_fa: float = 0.02) -> dict[str, float]:
    """Each measure's threshold: the (1 - clean_fa) quantile over clean windows (at least a floor)."""
    clean = [m for m, label in zip(measures, y, strict=True) if label == 0]
    floors = {"hum_prominence_db": 3.0, "noise_floor_flatness": 0.05, "clipped_run_share": 1e-4, "clicks_per_s": 1.0}
    return {k: max(floors[k], float(np.quantile([float(m[k]) for m in clean], 1 - clean_fa))) for k in KEYS}


def _stream(det: AudioArtifacts, x: np.ndarray, block_s: float = 0.1) -> float:
    t0 = time.perf_counter()
    step = int(block_s * fe.RATE)
    for i in range(0, len(x), step):
        det.feed_audio(AudioBlock(x[i : i + step], i / fe.RATE, fe.RATE))
    return time.perf_counter() - t0


def _baseline_events(x: np.ndarray, th: dict[str, float]) -> list[tuple[int, float, float]]:
    mono = fe.mono(x)
    length = (fe.WINDOW_FRAMES - 1) * fe.HOP + fe.N_FFT
    step = fe.HOP_FRAMES * fe.HOP
    flags = []
    for a in range(0, len(mono) - length + 1, step):
        flags.append(audiosp.baseline_class(audiosp.measure(mono[a : a + length], fe.RATE), th))
    events, run_start, run_cls = [], 0, 0
    for i, c in enumerate([*flags, 0]):
        if c != run_cls:
            if run_cls and i - run_start >= 2:
                events.append((run_cls, run_start * 0.5, (i - 1) * 0.5 + 1.0))
            run_start, run_cls = i, c
    return events


def run_artifacts(
    window_segments: int = 300,
    fit_segments: int = 150,
    clean_s: float = 160.0,
    event_clips: int = 20,
    pool_s: float = 160.0,
    log: Any = print,
) -> ArtifactsReport:
    rep = ArtifactsReport()
    model = OnnxModel.load("audio_artifacts")
    log(f"fitting the baseline on {fit_segments} train segments")
    fit = _segments("train", fit_segments, 2000, pool_s)
    fm = [m for raw, _, _ in fit for m in _measures(raw)]
    fy = np.concatenate([np.full(len(raw), lab) for raw, _, lab in fit])
    rep.thresholds = fit_thresholds(fm, fy)
    log(f"  thresholds {rep.thresholds}")
    log(f"windows: {window_segments} test segments")
    segs = _segments("test", window_segments, 1000, pool_s)
    x = np.concatenate([w for _, w, _ in segs])
    y = np.concatenate([np.full(len(w), lab) for _, w, lab in segs])
    probs = np.concatenate(
        [model.run({"features": x[i : i + 256, None].astype(np.float32)})["probs"] for i in range(0, len(x), 256)]
    )
    rep.windows = _confusion(probs.argmax(1), y)
    base = np.array([audiosp.baseline_class(m, rep.thresholds) for raw, _, _ in segs for m in _measures(raw)])
    rep.baseline_windows = _confusion(base, y)
    log(f"  model {rep.windows['balanced_accuracy']}, baseline {rep.baseline_windows['balanced_accuracy']}")
    # false alarms on an hour of clean test programme
    srcs = ad.sources("test")
    fa: dict[str, Any] = {"seconds": 0.0, "model": [], "baseline": []}
    busy = 0.0
    for i, src in enumerate(srcs):
        clean = ad._pool(src, max(pool_s, clean_s))[: int(clean_s * fe.RATE)]
        if i % 2:
            clean = ad.aac_roundtrip(clean, 128)
        det = AudioArtifacts()
        busy += _stream(det, clean)
        for e in det.finish():
            fa["model"].append(
                {"source": src.name, "type": e.type, "start_s": round(e.start_s, 2), "p": e.details["probabilities"]}
            )
        for c, s, e2 in _baseline_events(clean, rep.thresholds):
            fa["baseline"].append({"source": src.name, "type": EVENT_OF[c], "start_s": s, "end_s": e2})
        fa["seconds"] += clean_s
        log(f"  clean {src.name}: {sum(1 for f in fa['model'] if f['source'] == src.name)} model events")
    hours = fa["seconds"] / 3600
    fa["model_per_hour"] = round(len(fa["model"]) / hours, 2)
    fa["baseline_per_hour"] = round(len(fa["baseline"]) / hours, 2)
    rep.false_alarms = fa
    rep.speed_x_realtime = round(fa["seconds"] / busy, 1) if busy else 0.0
    # events: one impairment over [3, 7) of 10 s clips
    found: dict[str, dict[str, list[int]]] = {"model": {}, "baseline": {}}
    for cls in range(1, len(CLASSES)):
        for j in range(event_clips):
            rng = np.random.default_rng([3000, cls, j])
            src = srcs[int(rng.integers(len(srcs)))]
            pool = ad._pool(src, pool_s)
            off = int(rng.integers(0, len(pool) - 10 * fe.RATE))
            clip = np.clip(pool[off : off + 10 * fe.RATE] * np.float32(10 ** (rng.uniform(-12, 6) / 20)), -1, 1)
            mid, _, _ = ad.impair(clip[3 * fe.RATE : 7 * fe.RATE], cls, rng)
            clip = clip.copy()
            clip[3 * fe.RATE : 7 * fe.RATE] = mid
            det = AudioArtifacts()
            _stream(det, clip)
            hit = any(e.type == EVENT_OF[cls] and e.start_s < 7 and e.end_s > 3 for e in det.finish())
            bhit = any(c == cls and s < 7 and e2 > 3 for c, s, e2 in _baseline_events(clip, rep.thresholds))
            for system, h in (("model", hit), ("baseline", bhit)):
                row = found[system].setdefault(CLASSES[cls], [0, 0])
                row[0] += int(h)
                row[1] += 1
    rep.events = {s: {c: round(h / n, 3) for c, (h, n) in d.items()} for s, d in found.items()}
    return rep


def table(rep: ArtifactsReport) -> str:
    lines = [
        "| system | balanced accuracy | "
        + " | ".join(f"{c} recall" for c in CLASSES)
        + " | false alarms / clean hour | event recall (hum/hiss/dist/clicks) |"
    ]
    lines.append("| --- " * (4 + len(CLASSES)) + "|")
    for name, w, fa, ev in (
        ("audio_artifacts", rep.windows, rep.false_alarms.get("model_per_hour"), rep.events.get("model", {})),
        (
            "signal baseline",
            rep.baseline_windows,
            rep.false_alarms.get("baseline_per_hour"),
            rep.events.get("baseline", {}),
        ),
    ):
        rec = " | ".join(f"{w['recall'].get(c, 0):.3f}" for c in CLASSES)
        evs = "/".join(f"{ev.get(c, 0):.2f}" for c in CLASSES[1:])
        lines.append(f"| {name} | {w['balanced_accuracy']:.3f} | {rec} | {fa} | {evs} |")
    lines.append("")
    lines.append("confusion (rows truth, columns predicted: " + ", ".join(CLASSES) + ")")
    for c, row in zip(CLASSES, rep.windows["confusion"], strict=True):
        lines.append(f"  {c:>10}: {row}")
    lines.append(
        f"clean audio {rep.false_alarms.get('seconds', 0) / 60:.1f} min; "
        f"detector speed {rep.speed_x_realtime}x real time"
    )
    return "\n".join(lines)
