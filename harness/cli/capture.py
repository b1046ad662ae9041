"""`vqa capture` and `vqa doctor`: the lab-bench commands that touch a device's capture rig."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.cli.common import EXIT_CLEAN, EXIT_DEFECTS, CliError, held_device_spec, progress_bar

if TYPE_CHECKING:
    from harness.capture.rig import Capture


def _device(args: argparse.Namespace) -> Any:
    from devices import DeviceError, open_device

    spec = held_device_spec(args.inventory, args.device)
    try:
        return open_device(spec)
    except DeviceError as e:
        raise CliError(str(e)) from None


def _default_title(dev: Any, wanted: str | None) -> str | None:
    if wanted:
        return wanted
    titles = getattr(dev, "titles", None)
    return titles[0].id if titles else None


def _record(
    dev: Any, title: str | None, settle_s: float, out: Path, scenario: str, seconds: float, progress: bool = False
) -> Capture | None:
    """Open the device, launch `title` (if any), record `seconds` into `out` and close the device.
    Returns the Capture, or None after printing the device or capture error (the bundle recorded
    so far stays on disk)."""
    from devices import DeviceError
    from harness.capture.rig import CaptureError

    try:
        dev.open()
        dev.rig.warm_up()
        if title:
            dev.launch(title)
            time.sleep(settle_s)
        rec = dev.rig.start(out, {"device": dev.name, "title": title, "scenario": scenario})
        try:
            with progress_bar(progress) as prog:  # shown on a terminal only
                task = prog.add_task(f"recording {dev.name}", total=seconds)
                while rec.now_s < seconds:
                    time.sleep(min(0.2, max(0.0, seconds - rec.now_s)))
                    prog.update(task, completed=min(seconds, rec.now_s))
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: close the bundle so what was recorded plays
            rec.abort(f"interrupted after {rec.now_s:.1f} s")
            print(f"vqa: the recording so far is in {out} (complete: false)", file=sys.stderr)
            raise
        return rec.stop()
    except (DeviceError, CaptureError) as e:
        print(f"vqa: error: {e}", file=sys.stderr)
        return None
    finally:
        dev.close()


def cmd_capture(args: argparse.Namespace) -> int:
    dev = _device(args)
    out = Path(args.out or Path("reports") / "captures" / "manual" / time.strftime(f"%Y%m%d-%H%M%S-{dev.name}"))
    cap = _record(dev, args.title, args.settle, out, "manual", args.seconds, progress=sys.stderr.isatty())
    if cap is None:
        return EXIT_DEFECTS
    print(
        f"{cap.path}: {cap.meta['frames']} frames, {cap.meta['audio_samples'] / 48000:.2f} s of audio, "
        f"{cap.duration_s:.2f} s"
    )
    return EXIT_CLEAN


def _check(lines: list[tuple[bool, str, str]], ok: bool, part: str, text: str) -> bool:
    lines.append((ok, part, text))
    print(f"{'PASS' if ok else 'FAIL'} {part:<8} {text}", flush=True)
    return ok


def cmd_doctor(args: argparse.Namespace) -> int:
    """One line per check, each saying what to fix when it fails."""
    from devices import DeviceError
    from harness.capture.rig import CaptureError

    dev = _device(args)
    spec = dev.spec
    lines: list[tuple[bool, str, str]] = []
    try:
        try:
            dev.open()
            st = dev.status()
            _check(lines, True, "control", f"{spec.control} answered" + (f" (player {st.state})" if st else ""))
        except DeviceError as e:
            _check(lines, False, "control", str(e))
            return EXIT_DEFECTS
        title = _default_title(dev, args.title)
        if title:
            try:
                dev.launch(title)
                time.sleep(args.settle)
            except DeviceError as e:
                _check(lines, False, "control", f"could not start {title}: {e}")
        try:
            dev.rig.warm_up()
        except CaptureError as e:
            _check(lines, False, "video", str(e))
            return EXIT_DEFECTS
        frames: list[np.ndarray] = []
        audio: list[np.ndarray] = []
        video, sound = dev.rig.video, dev.rig.audio
        video.start(lambda img, t: frames.append(img[::8, ::8].copy()))
        if sound is not None:
            sound.start(lambda x, t: audio.append(x.copy()))
        time.sleep(args.seconds)
        video.stop()
        if sound is not None:
            sound.stop()
        _doctor_video(lines, spec, frames, args.seconds)
        _doctor_audio(lines, spec, audio, sound is not None)
    finally:
        dev.close()
    return EXIT_CLEAN if all(ok for ok, _, _ in lines) else EXIT_DEFECTS


def _doctor_video(lines: list[tuple[bool, str, str]], spec: Any, frames: list[np.ndarray], seconds: float) -> None:
    if not frames:
        _check(lines, False, "video", f"no frame from {spec.rig.video} in {seconds:g} s: check the cable and source")
        return
    h, w = frames[0].shape[:2]
    fps = len(frames) / seconds
    _check(
        lines,
        fps >= 10,
        "video",
        f"{spec.rig.video}: ~{w * 8}x{h * 8} at {fps:.1f} fps"
        + ("" if fps >= 10 else " (too few frames: check the capture format and the source's output rate)"),
    )
    gray = np.stack([f.mean(axis=2) for f in frames])
    flat = float(np.median(gray.reshape(len(gray), -1).std(axis=1)))
    moving = float(np.abs(np.diff(gray, axis=0)).mean()) if len(gray) > 1 else 0.0
    ok = flat > 3.0
    _check(
        lines,
        ok,
        "signal",
        f"picture detail {flat:.1f}, motion {moving:.2f}"
        + ("" if ok else " — a flat picture: a no-signal screen, or the device is off or on the wrong input"),
    )


def _doctor_audio(lines: list[tuple[bool, str, str]], spec: Any, audio: list[np.ndarray], has_audio: bool) -> None:
    if not has_audio:
        _check(lines, True, "audio", "no audio source in the rig (video-only device)")
        return
    if not audio:
        _check(lines, False, "audio", f"no audio from {spec.rig.audio}: check the audio interface and its input")
        return
    x = np.concatenate(audio)
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
    db = 20 * np.log10(max(rms, 1e-6))
    peak = float(np.abs(x).max())
    if db < -60:
        _check(
            lines,
            False,
            "audio",
            f"{spec.rig.audio}: silent ({db:.1f} dBFS): is the device playing, "
            "its volume up, and the cable on the interface's input?",
        )
    elif peak >= 0.999:
        _check(
            lines,
            False,
            "audio",
            f"{spec.rig.audio}: clipping (peak at full scale, {db:.1f} dBFS RMS): "
            "lower the device volume or the interface's input gain",
        )
    else:
        _check(lines, True, "audio", f"{spec.rig.audio}: {db:.1f} dBFS RMS, peak {20 * np.log10(peak):.1f} dBFS")


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Measure the capture chain's own A/V offset on a known-good path and store it for the rig."""
    from datetime import datetime, timezone

    from harness.analysis import analyze
    from harness.config import inventory_path, save_calibration

    dev = _device(args)
    title = _default_title(dev, args.title)
    if title is None:
        raise CliError(f"{dev.name}: pass --title with a frame-coded reference title to calibrate with")
    out = Path("reports") / "captures" / "calibration" / time.strftime(f"%Y%m%d-%H%M%S-{dev.name}")
    cap = _record(dev, title, args.settle, out, "calibration", args.seconds)
    if cap is None:
        return EXIT_DEFECTS
    result = analyze(cap.path)
    ref = result.reference
    old = float(cap.meta.get("calibration", {}).get("av_offset_ms", 0.0))
    raw = [o + old for o in (ref.offsets_ms if ref else [])]
    if len(raw) < 3:
        print(
            f"vqa: error: {dev.name}: only {len(raw)} sync events found in {cap.path}; "
            "is the device playing the title with sound?",
            file=sys.stderr,
        )
        return EXIT_DEFECTS
    mean, spread = float(np.mean(raw)), float(np.std(raw))
    values = {
        "av_offset_ms": round(mean, 2),
        "video_latency_ms": float(dev.spec.calibration.video_latency_ms),
        "measured_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "title": title,
        "events": len(raw),
        "spread_ms": round(spread, 2),
        "capture": str(cap.path),
    }
    store = save_calibration(inventory_path(args.inventory), dev.name, values)
    print(
        f"{dev.name}: capture chain A/V offset {mean:+.2f} ms (spread {spread:.2f} ms over {len(raw)} events, "
        f"positive = audio late); stored in {store}"
    )
    return EXIT_CLEAN


def register(sub: Any) -> None:
    c = sub.add_parser("capture", help="record a capture bundle from a device")
    c.add_argument("--device", required=True)
    c.add_argument("--inventory")
    c.add_argument("--seconds", type=float, default=10.0)
    c.add_argument("--title", help="reference title to launch first")
    c.add_argument("--settle", type=float, default=1.5, help="seconds between launch and recording")
    c.add_argument("--out", help="bundle directory (default reports/captures/manual/<time>-<device>)")
    c.set_defaults(func=cmd_capture)

    d = sub.add_parser("doctor", help="check a device's control, video and audio paths")
    d.add_argument("--device", required=True)
    d.add_argument("--inventory")
    d.add_argument("--seconds", type=float, default=2.0, help="how long to watch and listen")
    d.add_argument("--title", help="title to play while listening (simulated devices: the first title)")
    d.add_argument("--settle", type=float, default=1.5)
    d.set_defaults(func=cmd_doctor)

    k = sub.add_parser("calibrate", help="measure the capture chain's A/V offset and store it for the rig")
    k.add_argument("--device", required=True)
    k.add_argument("--inventory")
    k.add_argument("--title", help="frame-coded reference title (default: the device's first title)")
    k.add_argument("--seconds", type=float, default=20.0)
    k.add_argument("--settle", type=float, default=1.5)
    k.set_defaults(func=cmd_calibrate)
