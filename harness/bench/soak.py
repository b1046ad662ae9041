"""Soak: play, record and analyse the simulated TV for N minutes and watch the harness's own
resources (`vqa bench soak --minutes N`).

Every `sample_s` the process's resident memory, threads, open files and child processes are
sampled from /proc. A harness that leaks shows it as a slope: the limits are on growth after the
first minute (start-up allocations, decoders and caches warming, are not leaks), and on handles
still open at the end beyond those open after the first minute. Every recording is analysed
against its reference title and must show no defect: a soak also proves that a long run on a
clean device stays clean.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from devices import open_device
from harness.analysis import analyze
from harness.config import load_inventory

RSS_GROWTH_LIMIT_MB = 50.0  # after the first minute, over the whole soak (issue #10)
HANDLE_SLACK = 2  # threads / files / children that may come and go around a sample


@dataclass
class Sample:
    t_s: float
    rss_mb: float
    threads: int
    open_files: int
    children: int


@dataclass
class SoakReport:
    device: str
    title: str
    minutes: float
    recordings: int = 0
    recorded_s: float = 0.0
    defects: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)

    def _window(self, start_s: float, end_s: float) -> list[Sample]:
        got = [s for s in self.samples if start_s <= s.t_s < end_s]
        return got or self.samples[-1:]

    def _peaks(self) -> tuple[dict[str, float], dict[str, float]]:
        """Peak of each figure over a window after the first minute (the baseline) and over the last
        window of the soak: windows of a minute, or ten once the soak is long enough. Peaks, because
        a sample may fall in a recording or between two; a leak raises the peaks."""
        last_t = self.samples[-1].t_s
        span = min(600.0, max(60.0, (last_t - 60.0) / 2))
        first = self._window(60.0, 60.0 + span) if last_t >= 120.0 else self._window(min(60.0, last_t), last_t + 1)
        last = self._window(max(0.0, last_t - span), last_t + 1)
        names = ("rss_mb", "threads", "open_files", "children")
        return (
            {n: max(getattr(s, n) for s in first) for n in names},
            {n: max(getattr(s, n) for s in last) for n in names},
        )

    @property
    def rss_growth_mb(self) -> float:
        if not self.samples:
            return 0.0
        base, last = self._peaks()
        return round(last["rss_mb"] - base["rss_mb"], 1)

    def leaks(self) -> list[str]:
        """What grew past its limit, one line each (empty: nothing leaked)."""
        if not self.samples:
            return ["no sample was taken"]
        base, last = self._peaks()
        out = []
        if self.rss_growth_mb >= RSS_GROWTH_LIMIT_MB:
            out.append(
                f"RSS grew {self.rss_growth_mb:.1f} MB after the first minute (limit {RSS_GROWTH_LIMIT_MB:g} MB)"
            )
        for name in ("threads", "open_files", "children"):
            a, b = int(base[name]), int(last[name])
            if b > a + HANDLE_SLACK:
                out.append(f"{name.replace('_', ' ')} went from {a} to {b} (peak in the second minute, in the last)")
        return out

    def table(self) -> str:
        rows = ["| t (s) | RSS (MB) | threads | open files | child processes |", "| ---: | ---: | ---: | ---: | ---: |"]
        rows += [
            f"| {s.t_s:.0f} | {s.rss_mb:.1f} | {s.threads} | {s.open_files} | {s.children} |" for s in self.samples
        ]
        verdict = self.leaks() or ["nothing leaked"]
        rows.append("")
        rows.append(
            f"{self.device} / {self.title}: {self.recordings} recordings, "
            f"{self.recorded_s:.0f} s recorded and analysed, "
            f"{len(self.defects)} defect(s); RSS growth after the first minute {self.rss_growth_mb:+.1f} MB; "
            + "; ".join(verdict)
        )
        return "\n".join(rows)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["rss_growth_mb"] = self.rss_growth_mb
        d["leaks"] = self.leaks()
        return d


def _proc_status(field_name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


def child_pids(pid: int) -> set[int]:
    """The processes `pid` started (its direct children), from /proc."""
    out = set()
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                stat = (p / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                out.add(int(p.name))
    return out


def sample(t_s: float) -> Sample:
    """This process's resources now, from /proc (Linux)."""
    return Sample(
        t_s=round(t_s, 1),
        rss_mb=round(_proc_status("VmRSS") / 1024.0, 1),
        threads=_proc_status("Threads"),
        open_files=len(os.listdir("/proc/self/fd")),
        children=len(child_pids(os.getpid())),
    )


def run_soak(
    minutes: float,
    device: str = "sim-tv01",
    title: str = "bbb-720p25",
    chunk_s: float = 20.0,
    sample_s: float = 10.0,
    inventory: str | None = None,
    work_dir: Path | None = None,
) -> SoakReport:
    """Record `chunk_s` at a time for `minutes`, analyse each recording and delete it (the disk stays
    bounded), relaunching the title when it ends; sample resources every `sample_s` meanwhile."""
    spec = load_inventory(inventory).get(device)
    dev = open_device(spec)
    report = SoakReport(device, title, minutes)
    work = Path(work_dir or tempfile.mkdtemp(prefix="vqa-soak-"))
    t0 = time.monotonic()
    stop = threading.Event()

    def sampler() -> None:
        while True:
            report.samples.append(sample(time.monotonic() - t0))
            if stop.wait(sample_s):
                report.samples.append(sample(time.monotonic() - t0))
                return

    watcher = threading.Thread(target=sampler, name="soak-sampler", daemon=True)
    dev.open()
    try:
        dev.rig.warm_up()
        watcher.start()
        end = t0 + minutes * 60.0
        while time.monotonic() < end:
            st = dev.status()
            if st is None or st.state != "playing" or st.position_s > _duration(dev, title) - chunk_s - 1.0:
                dev.launch(title)
                dev.wait_for_state("playing", timeout_s=15)
            seconds = min(chunk_s, max(1.0, end - time.monotonic()))
            bundle = work / f"rec{report.recordings:04d}"
            cap = dev.rig.record(bundle, seconds, {"device": dev.name, "title": title, "scenario": "soak"})
            result = analyze(cap.path, reference=title)
            m = result.measurements
            report.defects += [e.describe() for e in result.events]
            report.defects += [
                f"recording {report.recordings}: {k} = {m[k]:g}"
                for k in ("frames_dropped", "frames_repeated", "frames_out_of_order")
                if m.get(k)
            ]
            report.recordings += 1
            report.recorded_s += cap.duration_s
            shutil.rmtree(bundle, ignore_errors=True)
    finally:
        stop.set()
        if watcher.is_alive():
            watcher.join(timeout=sample_s + 5)
        dev.close()
        if work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    return report


def _duration(dev: Any, title: str) -> float:
    return next(t.duration_s for t in dev.titles if t.id == title)


@dataclass
class LongAnalysisReport:
    minutes: float
    size: str
    analysed_s: float = 0.0
    wall_s: float = 0.0
    samples: list[Sample] = field(default_factory=list)

    @property
    def rss_growth_mb(self) -> float:
        """Peak RSS in the last tenth of the analysis minus the peak in its second tenth."""
        n = len(self.samples)
        if n < 10:
            return 0.0
        early = self.samples[n // 10 : n // 5] or self.samples[:1]
        late = self.samples[-max(1, n // 10) :]
        return round(max(s.rss_mb for s in late) - max(s.rss_mb for s in early), 1)

    def table(self) -> str:
        n = len(self.samples)
        picks = sorted({0, n // 10, n // 4, n // 2, 3 * n // 4, n - 1}) if n else []
        rows = ["| analysed (s) | RSS (MB) |", "| ---: | ---: |"]
        rows += [f"| {self.samples[i].t_s:.0f} | {self.samples[i].rss_mb:.1f} |" for i in picks]
        rows.append("")
        rows.append(
            f"{self.minutes:g} min at {self.size}: analysed in {self.wall_s:.0f} s "
            f"({self.analysed_s / max(self.wall_s, 1e-9):.1f}x real time); RSS growth over the run "
            f"{self.rss_growth_mb:+.1f} MB"
        )
        return "\n".join(rows)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rss_growth_mb": self.rss_growth_mb}


def run_long_analysis(minutes: float, size: str = "320x180", work_dir: Path | None = None) -> LongAnalysisReport:
    """Analyse one synthetic capture `minutes` long (FFmpeg's test picture and tone, 25 fps) and
    sample RSS against the position reached: streaming analysis keeps it flat however long the file."""
    import subprocess

    work = Path(work_dir or tempfile.mkdtemp(prefix="vqa-long-"))
    media = work / f"long-{minutes:g}min-{size}.mkv"
    if not media.exists():
        secs = f"{minutes * 60:g}"
        cmd = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={secs}"]
        cmd += ["-f", "lavfi", "-i", f"sine=f=440:sample_rate=48000:duration={secs}", "-c:v", "libx264"]
        cmd += ["-preset", "ultrafast", "-g", "250", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le", str(media)]
        subprocess.run(cmd, check=True)
    report = LongAnalysisReport(minutes, size)
    t0 = time.monotonic()

    def progress(t: float, total: float) -> None:
        if not report.samples or t - report.samples[-1].t_s >= 30.0:
            report.samples.append(sample(t))

    result = analyze(media, progress=progress)
    report.wall_s = time.monotonic() - t0
    report.analysed_s = result.media.duration_s
    report.samples.append(sample(report.analysed_s))
    if work_dir is None:
        shutil.rmtree(work, ignore_errors=True)
    return report
