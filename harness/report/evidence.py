"""Evidence for people: timeline plots, event key frames, a browser-playable clip."""

from __future__ import annotations

import json
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from harness.events import Event
from harness.media import iter_frames_at

EVENT_COLORS = {
    "black_frames": "#444444",
    "frozen_video": "#1f77b4",
    "audio_dropout": "#d62728",
    "block_corruption": "#9467bd",
}
# decision lines drawn (dashed) over the signal they judge rather than in a panel of their own
OVERLAYS = {"still threshold": "max block motion", "silence limit dBFS": "audio level dBFS"}


def timeline_png(
    signals: dict[str, tuple[np.ndarray, np.ndarray]],
    events: Sequence[Event],
    markers: Sequence[dict[str, Any]],
    path: Path,
    title: str = "",
) -> Path:
    """One panel per detector signal; events shaded, key presses as vertical lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [k for k, (t, _) in signals.items() if len(t) and OVERLAYS.get(k) not in signals]
    fig, axes = plt.subplots(
        max(1, len(names)), 1, figsize=(11, 1.6 * max(1, len(names)) + 0.8), sharex=True, squeeze=False
    )
    for ax, name in zip(axes[:, 0], names or [""], strict=False):
        if name:
            t, v = signals[name]
            ax.plot(t, v, lw=0.8, color="#333333")
            ax.set_ylabel(name, fontsize=8)
            for over, parent in OVERLAYS.items():
                if parent == name and over in signals:
                    ot, ov = signals[over]
                    ax.plot(ot, ov, lw=0.8, ls="--", color="#d62728", label=over)
                    ax.legend(fontsize=6, loc="lower right")
        for e in events:
            ax.axvspan(e.start_s, e.end_s, color=EVENT_COLORS.get(e.type, "#ff7f0e"), alpha=0.3)
        for m in markers:
            if m.get("kind") == "key":
                ax.axvline(m["capture_s"], color="#2ca02c", lw=0.8, ls="--")
        ax.tick_params(labelsize=7)
    top = axes[0, 0]
    for m in markers:
        if m.get("kind") == "key":
            top.annotate(
                m.get("key", ""),
                (m["capture_s"], 1.0),
                xycoords=("data", "axes fraction"),
                fontsize=7,
                color="#2ca02c",
                rotation=90,
                va="top",
            )
    for e in events:
        top.annotate(
            e.type,
            (e.start_s, 0.85),
            xycoords=("data", "axes fraction"),
            fontsize=7,
            color=EVENT_COLORS.get(e.type, "#ff7f0e"),
        )
    axes[-1, 0].set_xlabel("capture time (s)")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _key_time(e: Event) -> float:
    """The frame that shows an event best: a block-corruption event's worst frame, the middle of
    other video events, the start of audio events."""
    if isinstance(e.details.get("key_s"), int | float):
        return round(float(e.details["key_s"]), 3)
    return round((e.start_s + e.end_s) / 2 if not e.type.startswith("audio") else e.start_s, 3)


def heatmap_overlay(img: np.ndarray, heat: np.ndarray, region: Sequence[float] | None = None) -> np.ndarray:
    """A probability map (rows x cols, 0-1) blended over a BGR picture in a red-yellow colour scale,
    cells under 0.25 left clear, and the event's region outlined."""
    h, w = img.shape[:2]
    hm = cv2.resize(heat.astype(np.float32), (w, h), interpolation=cv2.INTER_NEAREST)
    colour = cv2.applyColorMap(np.clip(hm * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_HOT)
    alpha = np.where(hm >= 0.25, 0.25 + 0.4 * hm, 0.0)[..., None]
    out = (img.astype(np.float32) * (1 - alpha) + colour.astype(np.float32) * alpha).astype(np.uint8)
    if region is not None and len(region) == 4:
        x0, y0, x1, y1 = (int(round(v * s)) for v, s in zip(region, (w, h, w, h), strict=True))
        cv2.rectangle(out, (x0, y0), (max(x0, x1 - 1), max(y0, y1 - 1)), (255, 255, 0), 2)
    return out


def event_frames(media: Path, events: Sequence[Event], out_dir: Path) -> list[tuple[Event, Path]]:
    """A key frame of each event, labelled; a block-corruption event's frame carries the model's
    probability map as a heatmap."""
    if not events:
        return []
    times = [_key_time(e) for e in events]
    frames = iter_frames_at(media, times)
    out = []
    for i, (e, t) in enumerate(zip(events, times, strict=True)):
        img = frames.get(t)
        if img is None:
            continue
        img = img.copy()
        heat = e.details.get("heatmap")
        if isinstance(heat, dict):
            from harness.detectors.block import decode_map

            img = heatmap_overlay(img, decode_map(heat), e.details.get("region"))
        if e.type.startswith("caption_"):
            img = caption_panel(img, e)
        label = f"{e.type} {e.start_s:.2f}-{e.end_s:.2f} s (frame at {t:.2f} s)"
        if "peak_area_ratio" in e.details:
            label += f", area {e.details['peak_area_ratio']:.2f}"
        cv2.rectangle(img, (0, 0), (img.shape[1], 44), (0, 0, 0), -1)
        cv2.putText(img, label, (12, 31), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (80, 200, 255), 2)
        p = out_dir / f"event{i:02d}_{e.type}_{e.start_s:.2f}s.png"
        cv2.imwrite(str(p), img)
        out.append((e, p))
    return out


def caption_panel(img: np.ndarray, e: Event) -> np.ndarray:
    """The captured frame with a panel beneath it: the cue's expected text and frames, what the
    picture showed, and the timing errors, in the caption font (any script the cue uses)."""
    from PIL import Image, ImageDraw, ImageFont

    from harness.reference.captions import CaptionError, font_path

    d = e.details
    lines = [f"expected (cue {d.get('cue')}, title frames {d.get('expected_frames')}):"]
    lines += ["    " + x for x in str(d.get("expected_text", "")).split("\n")]
    if "shown_text" in d:
        lines.append(f"shown (title frames {d.get('shown_frames')}, OCR confidence {d.get('ocr_confidence', 0):.2f}):")
        lines += ["    " + x for x in str(d["shown_text"]).split("\n")]
    else:
        lines.append("shown: nothing")
    if "start_error_ms" in d:
        lines.append(
            f"start {d['start_error_ms']:+d} ms ({d['start_error_frames']:+d} frames), "
            f"end {d['end_error_ms']:+d} ms ({d['end_error_frames']:+d} frames); limit {d.get('limit_frames')} frames"
        )
    if "cer" in d:
        lines.append(f"character error rate {d['cer']:.3f} (limit {d.get('limit_cer')})")
    h, w = img.shape[:2]
    size = max(14, h // 30)
    try:
        font: Any = ImageFont.truetype(str(font_path()), size)
    except CaptionError:
        font = ImageFont.load_default()
    panel = Image.new("RGB", (w, int(len(lines) * size * 1.35 + size)), (24, 24, 24))
    draw = ImageDraw.Draw(panel)
    for k, line in enumerate(lines):
        draw.text((size, size // 2 + int(k * size * 1.35)), line, fill=(235, 235, 235), font=font)
    return np.vstack([img, np.asarray(panel)[:, :, ::-1]])


def cadence_frames(
    media: Path, places: Sequence[tuple[str, float, float]], out_dir: Path, limit: int = 6
) -> list[tuple[str, Path]]:
    """For each (label, t_before, t_after) of a cadence failure, the captured frames on each side,
    side by side and labelled: what was shown before the title frames went missing, and after."""
    places = list(places)[:limit]
    if not places:
        return []
    frames = iter_frames_at(media, [round(t, 3) for _, a, b in places for t in (a, b)])
    out = []
    for i, (label, a, b) in enumerate(places):
        pair = [frames.get(round(a, 3)), frames.get(round(b, 3))]
        if any(x is None for x in pair):
            continue
        halves = []
        for img, t, side in zip(pair, (a, b), ("before", "after"), strict=True):
            assert img is not None
            img = cv2.resize(img, (640, int(640 * img.shape[0] / img.shape[1])))
            cv2.rectangle(img, (0, 0), (img.shape[1], 30), (0, 0, 0), -1)
            cv2.putText(img, f"{side}: capture {t:.2f} s", (8, 21), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (80, 200, 255), 1)
            halves.append(img)
        img = cv2.hconcat(halves)
        cv2.rectangle(img, (0, img.shape[0] - 30), (img.shape[1], img.shape[0]), (0, 0, 0), -1)
        cv2.putText(img, label, (8, img.shape[0] - 9), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (80, 200, 255), 1)
        p = out_dir / f"cadence{i:02d}.jpg"
        cv2.imwrite(str(p), img, [cv2.IMWRITE_JPEG_QUALITY, 85])
        out.append((label, p))
    return out


def browser_mp4(bundle: Path, out: Path, width: int = 640) -> Path:
    """H.264 (yuv420p, faststart) + AAC MP4 of a capture bundle, small enough to attach to a report."""
    meta = json.loads((bundle / "meta.json").read_text())
    files = meta["files"]
    with av.open(str(out), "w", options={"movflags": "+faststart"}) as oc, av.open(str(bundle / files["video"])) as vc:
        ivs = vc.streams.video[0]
        ivs.thread_type = "AUTO"
        h = int(round(ivs.codec_context.height * width / ivs.codec_context.width / 2)) * 2
        ovs = oc.add_stream("libx264", rate=Fraction(1000, 1))
        ovs.width, ovs.height, ovs.pix_fmt = width, h, "yuv420p"
        ovs.time_base = Fraction(1, 1000)
        ovs.codec_context.time_base = Fraction(1, 1000)
        ovs.options = {"crf": "26", "preset": "veryfast", "profile": "high", "bf": "0"}
        oas = None
        wav = bundle / files["audio"] if files.get("audio") else None
        if wav is not None and wav.exists() and wav.stat().st_size > 44:
            oas = oc.add_stream("aac", rate=48000, layout="stereo")
            oas.bit_rate = 128000
        last = -1
        for fr in vc.decode(ivs):
            pts = int(round(float(fr.pts * fr.time_base) * 1000)) if fr.pts is not None else last + 40
            pts = max(pts, last + 1)
            nf = fr.reformat(width=width, height=h, format="yuv420p")
            nf.pts, nf.time_base = pts, Fraction(1, 1000)
            for p in ovs.encode(nf):
                oc.mux(p)
            last = pts
        for p in ovs.encode():
            oc.mux(p)
        if oas is not None and wav is not None:
            offset = int(round(float(meta.get("audio_start_s") or 0.0) * 48000))
            with av.open(str(wav)) as ac:
                rs = av.AudioResampler(format="fltp", layout="stereo", rate=48000)
                n = max(0, offset)
                fifo = av.AudioFifo()
                for fr in ac.decode(audio=0):
                    for o in rs.resample(fr):
                        o.pts = None
                        fifo.write(o)
                    while fifo.samples >= 1024:
                        blk = fifo.read(1024)
                        blk.pts, blk.time_base = n, Fraction(1, 48000)
                        n += 1024
                        for p in oas.encode(blk):
                            oc.mux(p)
                for p in oas.encode():
                    oc.mux(p)
    return out
