"""The simulated TV: plays reference titles in real time and answers keys, with injectable faults.

Its HDMI-like output pushes BGR frames and float32 audio at the title's own rate, paced by the
monotonic clock, to whatever sources subscribe; the capture rig records them through the same
`VideoSource` / `AudioSource` interface a capture card uses.
"""

from __future__ import annotations

import functools
import math
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from devices.base import Device, DeviceError, PlayerStatus
from harness.capture.rig import AudioCallback, AudioSource, CaptureRig, VideoCallback, VideoSource
from harness.config import DeviceSpec, FaultSpec, SimulatorSpec
from harness.impairments import audio as audio_faults
from harness.impairments import video as video_faults
from harness.impairments.bitstream import damage_frames
from harness.impairments.captions import schedule as caption_schedule
from harness.impairments.common import AudioClip, VideoClip
from harness.measure.captions import CaptionTrack
from harness.measure.framecode import LAYOUT
from harness.reference import captions as caption_renderer
from harness.reference.titles import Title, TitleError, ensure_titles

AUDIO_RATE = 48000
HOME_FPS = 25.0


class SimOutput:
    """The device's output connector: fans frames and audio out to subscribers."""

    def __init__(self) -> None:
        self.video_subs: list[VideoCallback] = []
        self.audio_subs: list[AudioCallback] = []
        self.lock = threading.Lock()

    def emit_video(self, img: np.ndarray, t: float) -> None:
        with self.lock:
            subs = list(self.video_subs)
        for cb in subs:
            cb(img, t)

    def emit_audio(self, samples: np.ndarray, t: float) -> None:
        with self.lock:
            subs = list(self.audio_subs)
        for cb in subs:
            cb(samples, t)


class _SimVideo(VideoSource):
    stamped = True  # frames carry their display time (see VideoSource.stamped)

    def __init__(self, out: SimOutput, uri: str):
        self.out, self.uri = out, uri
        self.cb: VideoCallback | None = None

    def start(self, on_frame: VideoCallback) -> None:
        self.cb = on_frame
        with self.out.lock:
            self.out.video_subs.append(on_frame)

    def stop(self) -> None:
        with self.out.lock:
            if self.cb is not None and self.cb in self.out.video_subs:
                self.out.video_subs.remove(self.cb)


class _SimAudio(AudioSource):
    stamped = True

    def __init__(self, out: SimOutput, uri: str):
        self.out, self.uri = out, uri
        self.cb: AudioCallback | None = None
        self.samplerate, self.channels = AUDIO_RATE, 2

    def start(self, on_audio: AudioCallback) -> None:
        self.cb = on_audio
        with self.out.lock:
            self.out.audio_subs.append(on_audio)

    def stop(self) -> None:
        with self.out.lock:
            if self.cb is not None and self.cb in self.out.audio_subs:
                self.out.audio_subs.remove(self.cb)


class _TitleDecoder:
    """Sequential decoding with seeking; frame i of the title as BGR."""

    def __init__(self, title: Title):
        self.title = title
        self.c = av.open(str(title.path))
        self.s = self.c.streams.video[0]
        self.s.thread_type = "AUTO"
        self._it = None
        self._next = 0
        self.last: np.ndarray | None = None

    def _restart(self, index: int) -> None:
        ts = int(index / self.title.fps / self.s.time_base)
        self.c.seek(ts, stream=self.s, backward=True, any_frame=False)
        self._it = self.c.decode(self.s)
        self._next = -1

    def frame(self, index: int) -> np.ndarray:
        index = max(0, min(index, self.title.frames - 1))
        if self.last is not None and index == self._next - 1:
            return self.last
        if self._it is None or index < self._next or index > self._next + 50 or self._next < 0 and index < 0:
            self._restart(index)
        assert self._it is not None
        for fr in self._it:
            i = int(round(float(fr.pts * fr.time_base) * self.title.fps))
            self._next = i + 1
            if i >= index:
                self.last = fr.to_ndarray(format="bgr24")
                return self.last
        return self.last if self.last is not None else np.zeros((self.title.height, self.title.width, 3), np.uint8)

    def close(self) -> None:
        self.c.close()


def _code_box(h: int, w: int) -> tuple[int, int, int, int]:
    """Rows y0:y1 and columns x0:x1 of the frame code box (quiet zone included) plus one cell."""
    cell = LAYOUT.cell_px(h, w)
    bottom = LAYOUT.bottom_fraction * h
    top = bottom - (2 * LAYOUT.quiet_y + LAYOUT.cell_rows) * cell
    left = LAYOUT.strip_left(h, w) - LAYOUT.quiet_x * cell
    return (
        max(0, math.floor(top - cell)),
        min(h, math.ceil(bottom + cell)),
        max(0, math.floor(left - cell)),
        min(w, math.ceil(w - left + cell)),
    )


class _DamagedPictures:
    """The in-process block_corruption fault: for the title being played, each fault window's
    pictures as a real H.264 decoder shows them after the window's bitstream was damaged
    (`harness.impairments.bitstream.damage_frames`: one GOP from the window's first frame, 4 slices,
    packets corrupted or dropped by severity, decoded with concealment).

    Computed before playback, off the player thread (about 1 s for a 1.5 s window of 720p on 2
    cores): by `launch` in the caller's thread, or for a title selected on the launcher in a thread
    of its own; should the player reach a window first, it waits for it (its frames carry their
    display time, so the recording shows no defect from the wait). Kept for the title last
    prepared only, as I420 (1.4 MB a 720p frame: 52 MB for 1.5 s at 25 fps). A failure to compute
    them is raised by `launch`; on the player thread it is kept in `error` and the clean picture
    is shown.

    The title's frame code box is put back, clean, into every damaged picture: concealment copies
    it from earlier frames and a lost packet holds the last picture, so the frame code reader saw
    codes repeat or vanish, and the reference tracker reported dropped and repeated title frames
    that the device never made (2 of 4 seeds at severity 1 did). With the code intact, the window
    is judged on its picture only, by the block_corruption detector.
    """

    def __init__(self, faults: list[FaultSpec]):
        self.faults = [f for f in faults if f.type == "block_corruption"]
        self._lock = threading.Lock()
        self._ready: tuple[str, list[tuple[int, list[np.ndarray]]]] | None = None  # title, (first frame, pictures)
        self.error: str | None = None
        self._failed: set[str] = set()  # titles whose pictures could not be computed: not retried

    @staticmethod
    def window(title: Title, fault: FaultSpec) -> tuple[int, int]:
        """Title frames [a, b) of the fault's window, at least two (the keyframe and one more)."""
        a = min(title.frames, max(0, math.ceil(fault.at_s * title.fps - 1e-6)))
        b = min(title.frames, max(a + 2, math.ceil((fault.at_s + fault.duration_s) * title.fps - 1e-6)))
        return a, b

    def prepare(self, title: Title) -> None:
        """Compute the title's damaged windows, unless they are ready (blocks the caller)."""
        if not self.faults:
            return
        with self._lock:
            ready = self._ready
            if ready is not None and ready[0] == title.id:
                return
            # the last title's pictures stay until these are ready: it may still be playing
            self._ready = (title.id, [self._damage(title, f) for f in self.faults])

    def prepare_in_background(self, title: Title) -> None:
        ready = self._ready
        if self.faults and (ready is None or ready[0] != title.id):
            threading.Thread(target=self._prepare_quietly, args=(title,), name="sim-damage", daemon=True).start()

    def _prepare_quietly(self, title: Title) -> bool:
        if title.id in self._failed:
            return False
        try:
            self.prepare(title)
            return True
        except Exception as e:  # the player goes on with clean pictures
            self._failed.add(title.id)
            self.error = f"block_corruption pictures for {title.id}: {e}"
            return False

    def _damage(self, title: Title, fault: FaultSpec) -> tuple[int, list[np.ndarray]]:
        a, b = self.window(title, fault)
        if b - a < 2:  # the window lies past the title's end
            return a, []
        dec = _TitleDecoder(title)
        try:
            clean = [dec.frame(i) for i in range(a, b)]
        finally:
            dec.close()
        broken, _ = damage_frames(clean, fault.severity, fault.seed, fps=title.fps)
        y0, y1, x0, x1 = _code_box(*clean[0].shape[:2])
        pictures = []
        for c, d in zip(clean, broken, strict=True):
            d = d.copy()  # a held picture is one array in several slots
            d[y0:y1, x0:x1] = c[y0:y1, x0:x1]
            even = d.shape[0] % 2 == 0 and d.shape[1] % 2 == 0
            pictures.append(cv2.cvtColor(d, cv2.COLOR_BGR2YUV_I420) if even else d)
        return a, pictures

    def picture(self, title: Title, index: int) -> np.ndarray | None:
        """The damaged picture of title frame `index` (BGR), or None outside every window."""
        if not self.faults:
            return None
        ready = self._ready
        if ready is None or ready[0] != title.id:
            if not any(a <= index < b for a, b in (self.window(title, f) for f in self.faults)):
                return None
            ready = self._ready if self._prepare_quietly(title) else None
            if ready is None or ready[0] != title.id:
                return None
        for a, pictures in ready[1]:
            if a <= index < a + len(pictures):
                p = pictures[index - a]
                return cv2.cvtColor(p, cv2.COLOR_YUV2BGR_I420) if p.ndim == 2 else p
        return None


_AUDIO_IMPAIRMENTS: dict[str, Callable[..., Any]] = {
    "audio_hum": audio_faults.hum,
    "audio_hiss": audio_faults.hiss,
    "audio_distortion": audio_faults.clipping,
    "audio_clicks": audio_faults.clicks,
    "channel_missing": audio_faults.channel_missing,
    "channel_swap": audio_faults.channel_swap,
    "phase_invert": audio_faults.phase_invert,
    "level_jump": audio_faults.level_jump,
}


def title_sound(title: Title, faults: list[FaultSpec]) -> np.ndarray:
    """The title's sound (n, 2) float32 as the device plays it: the audio faults applied over their
    title windows, once, when the title loads, so the real-time player does no extra work. Faults
    apply in the order listed; samples outside every window are the title's own."""
    x = np.fromfile(title.audio_path, dtype=np.float32).reshape(-1, 2)
    for f in faults:
        if not f.is_audio or f.duration_s <= 0 or f.at_s >= len(x) / AUDIO_RATE:
            continue
        kw: dict[str, Any] = {}
        if f.type in ("channel_missing", "phase_invert"):
            kw["channel"] = f.channel
        if f.type == "level_jump":
            kw["direction"] = f.direction
        duration = min(f.duration_s, len(x) / AUDIO_RATE - f.at_s)
        clip, _ = _AUDIO_IMPAIRMENTS[f.type](AudioClip(x, AUDIO_RATE), f.at_s, duration, f.severity, f.seed, **kw)
        x = np.clip(clip.samples, -1.0, 1.0)  # the device's output stage: nothing past full scale
    return np.ascontiguousarray(x, dtype=np.float32)


@dataclass(eq=False)  # compared by identity
class _Key:
    at: float  # monotonic time of the press
    action: Callable[[float], None]
    done: threading.Event = field(default_factory=threading.Event)
    error: Exception | None = None


class SimulatedDevice(Device):
    def __init__(self, spec: DeviceSpec, titles: list[Title] | None = None):
        super().__init__(spec)
        self.sim: SimulatorSpec = spec.simulator or SimulatorSpec()
        self._titles = titles
        self.output = SimOutput()
        self._rig: CaptureRig | None = None
        if self.sim.stream is None:
            self._rig = CaptureRig(
                spec.rig,
                _SimVideo(self.output, spec.rig.video),
                _SimAudio(self.output, spec.rig.audio or "sim://") if spec.rig.audio else None,
                spec.calibration.model_dump(),
            )
        self._streamer: Any = None
        self._player: Any = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.state = "home"
        self.focus = 0
        self.title: Title | None = None
        self.position_s = 0.0
        self._until = 0.0  # display-clock end of loading / seeking
        # Keys wait here until the player reaches the first frame displayed at or after the press:
        # the output stamps frames with their display time, so a player running behind must not
        # show a key's effect on a frame it displays before the key was pressed.
        self._keys: deque[_Key] = deque()
        self._keys_lock = threading.Lock()
        self._ready: tuple[_TitleDecoder, np.ndarray] | None = None  # a title opened by launch()
        self._decoder: _TitleDecoder | None = None
        self._audio: np.ndarray | None = None
        self._held: np.ndarray | None = None
        self._home_cache: dict[int, np.ndarray] = {}
        # a streamed device loses TS packets instead (UdpTsStreamer.damage)
        self._damage = _DamagedPictures(self.sim.faults if self.sim.stream is None else [])
        self._reset_cadence()
        self.frames_late = 0  # frames the late_player_skips fault skipped
        self._catching_up = False
        self.captions_on = self.sim.captions
        self._captions: CaptionTrack | None = None  # the playing title's, faults applied

    @property
    def rig(self) -> CaptureRig:
        """In-process sources, or for a streamed device the real capture backends."""
        if self._rig is None:
            from harness.capture.backends import open_rig

            self._rig = open_rig(self.spec)
        return self._rig

    @property
    def titles(self) -> list[Title]:
        if self._titles is None:
            try:
                self._titles = ensure_titles()
            except TitleError as e:
                raise DeviceError(f"{self.name}: reference titles unavailable: {e}") from None
        return self._titles

    # ---- lifecycle -------------------------------------------------------------------------
    def open(self) -> None:
        if self._thread is None:
            _ = self.titles
            if self.sim.stream is not None:
                self._start_stream()
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=f"sim-{self.name}", daemon=True)
            self._thread.start()

    def _start_stream(self) -> None:
        from devices.sim_stream import PulsePlayer, UdpTsStreamer
        from harness.capture.pulse import PulseError, ensure_null_sink

        st = self.sim.stream
        assert st is not None
        try:
            ensure_null_sink(st.audio_sink)
        except PulseError as e:
            raise DeviceError(f"{self.name}: audio output: {e}") from None
        self._streamer = UdpTsStreamer(st.video_url, self.name, crf=st.crf)
        self._player = PulsePlayer(st.audio_sink, self.name)
        self._player.start()
        self._streamer.start()
        with self.output.lock:
            self.output.video_subs.append(self._streamer.push)
            self.output.audio_subs.append(self._player.push)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self.sim.stream is not None and self._rig is not None:
            self._rig.close()
            self._rig = None
        for part in (self._streamer, self._player):
            if part is not None:
                part.stop()
        self._streamer = self._player = None
        if self._decoder is not None:
            self._decoder.close()
            self._decoder = None
        if self._ready is not None:
            self._ready[0].close()
            self._ready = None

    # ---- control ---------------------------------------------------------------------------
    # A key is taken within about one frame; this long means the player loop is stuck.
    KEY_TIMEOUT_S = 10.0

    def _submit(self, action: Callable[[float], None]) -> None:
        """Queue a control action for the player loop and wait until a frame has taken it; an
        error raised by the action (a title that cannot be opened) is raised here, to the caller."""
        if self._thread is None:
            raise DeviceError(f"{self.name}: device is not open (control {self.spec.control})")
        key = _Key(time.monotonic(), action)
        with self._keys_lock:
            self._keys.append(key)
        if not key.done.wait(self.KEY_TIMEOUT_S):
            with self._keys_lock:  # a key given up on must not act later
                pending = key in self._keys
                if pending:
                    self._keys.remove(key)
            if pending or not key.done.wait(self.KEY_TIMEOUT_S):
                raise DeviceError(
                    f"{self.name}: the simulated player did not take a key within {self.KEY_TIMEOUT_S:g} s "
                    f"({self._player_whereabouts()})"
                )
        if key.error is not None:
            raise key.error

    def _player_whereabouts(self) -> str:
        th = self._thread
        if th is None or not th.is_alive():
            return "its player thread has ended"
        frame = sys._current_frames().get(th.ident or -1)
        stack = traceback.extract_stack(frame)[::-1] if frame is not None else []
        return "player thread at " + " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in stack[:4])

    def _take_keys(self, t: float) -> None:
        """Apply, in order, the keys pressed at or before display time `t` (lock held)."""
        while True:
            with self._keys_lock:
                if not self._keys or self._keys[0].at > t:
                    return
                key = self._keys.popleft()
            try:
                key.action(key.at)
            except Exception as e:  # handed to the caller; the player goes on
                key.error = e
            key.done.set()

    def _send_key(self, key: str) -> None:
        self._submit(lambda at: self._key(key, at))

    def _key(self, key: str, at: float) -> None:
        st = self.state
        if key == "captions":  # in any state, as a remote's CC key
            self.captions_on = not self.captions_on
            return
        if st == "home":
            if key in ("left", "up"):
                self.focus = (self.focus - 1) % len(self.titles)
            elif key in ("right", "down"):
                self.focus = (self.focus + 1) % len(self.titles)
            elif key in ("select", "play", "play_pause"):
                self._start(self.titles[self.focus], 0.0, at)
            return
        if key in ("home", "back", "stop"):
            self.state = "home"
            self.title = None
        elif key == "pause" or (key == "play_pause" and st == "playing"):
            if st == "playing":
                self.state = "paused"
        elif key == "play" or (key == "play_pause" and st == "paused"):
            if st == "paused":
                self.state = "playing"
        elif key in ("fast_forward", "right") and st in ("playing", "paused"):
            self._seek(self.sim.seek_step_s, at)
        elif key in ("rewind", "left") and st in ("playing", "paused"):
            self._seek(-self.sim.seek_step_s, at)

    def launch(self, title_id: str) -> None:
        if title_id not in {t.id for t in self.titles}:
            try:  # a measurement title that is not on the launcher: build/load it on demand
                self.titles.extend(ensure_titles([title_id]))
            except TitleError:
                pass
        for i, t in enumerate(self.titles):
            if t.id == title_id:
                self._prepare(t)
                self._submit(functools.partial(self._go_home, i))
                self.press("select")
                return
        raise DeviceError(f"{self.name}: no title {title_id!r}; known: {', '.join(t.id for t in self.titles)}")

    def _go_home(self, focus: int, at: float) -> None:
        self.focus, self.state, self.title = focus, "home", None

    def status(self) -> PlayerStatus:
        with self._lock:
            return PlayerStatus(self.state, self.title.id if self.title else None, round(self.position_s, 3))

    def _prepare(self, title: Title) -> None:
        """Open a title's picture and read its sound here, in the caller's thread, so the player
        thread does not stop showing frames while it loads (as `select` would otherwise make it)."""
        try:
            self._damage.prepare(title)
        except (av.error.FFmpegError, ValueError) as e:
            raise DeviceError(f"{self.name}: block_corruption pictures for {title.id}: {e}") from None
        if self._decoder is not None and self._decoder.title.id == title.id:
            return
        ready = (_TitleDecoder(title), title_sound(title, self.sim.faults))
        with self._keys_lock:
            old, self._ready = self._ready, ready
        if old is not None:
            old[0].close()

    def _start(self, title: Title, position: float, at: float) -> None:
        if self._decoder is None or self._decoder.title.id != title.id:
            if self._decoder is not None:
                self._decoder.close()
            with self._keys_lock:
                ready, self._ready = self._ready, None
            if ready is not None and ready[0].title.id == title.id:
                self._decoder, self._audio = ready
            else:
                if ready is not None:
                    ready[0].close()
                self._decoder = _TitleDecoder(title)
                self._audio = title_sound(title, self.sim.faults)
        self._damage.prepare_in_background(title)  # at once when launch() has prepared it
        self._captions = self._caption_track(title)
        self.title = title
        self.position_s = position
        self._held = None
        self._reset_cadence()
        self.state = "loading"
        self._until = at + self.sim.startup_delay_s

    def captions_state(self) -> bool | None:
        return self.captions_on

    def _caption_track(self, title: Title) -> CaptionTrack | None:
        try:
            cues = caption_renderer.title_cues(title.id)
        except caption_renderer.CaptionError:
            return None  # a broken cue file: no captions, as a player that cannot parse them
        if not cues:
            return None
        return CaptionTrack(caption_schedule(cues, self.sim.faults, title.duration_s))

    def _captioned(self, img: np.ndarray | None, pos: float) -> np.ndarray | None:
        """The picture with the caption on screen at title position `pos` (captions on)."""
        if img is None or not self.captions_on or self._captions is None:
            return img
        text = self._captions.at(pos)
        return img if text is None else caption_renderer.draw(img, text)

    def _seek(self, delta: float, at: float) -> None:
        assert self.title is not None
        self.position_s = float(np.clip(self.position_s + delta, 0.0, self.title.duration_s - 1.0 / self.title.fps))
        self._resume_state = self.state
        self._reset_cadence()
        self.state = "seeking"
        self._until = at + self.sim.seek_rebuffer_s

    def _reset_cadence(self) -> None:
        self._skew = 0  # video frames ahead (+) or behind (-) the title clock, from drops and repeats
        self._hold_ticks = 0
        self._applied: set[int] = set()

    def _frame_index(self, pos: float, fps: float) -> int:
        """Which title frame the renderer shows at title position `pos`, after cadence faults."""
        idx = int(round(pos * fps)) + self._skew
        for f in self.sim.faults:
            if f.type == "stutter" and f.at_s <= pos < f.at_s + f.duration_s:
                start = int(round(f.at_s * fps))
                idx -= (idx - start) % 2  # every other frame held twice, the one between never shown
        return idx

    def _cadence_faults(self, pos: float, fps: float) -> None:
        for i, f in enumerate(self.sim.faults):
            if (
                f.type in ("drop_frames", "repeat_frames")
                and i not in self._applied
                and pos - 1.0 / fps < f.at_s <= pos
            ):
                self._applied.add(i)
                if f.type == "drop_frames":
                    self._skew += f.count
                else:
                    self._hold_ticks += f.count
            elif f.type == "capture_loss" and i not in self._applied and pos - 1.0 / fps < f.at_s <= pos:
                self._applied.add(i)
                if self._streamer is not None:  # in-process sources have no chain to lose frames in
                    self._streamer.lose(f.count)
            elif f.type == "block_corruption" and i not in self._applied and self._streamer is not None:
                assert self.title is not None
                a, b = _DamagedPictures.window(self.title, f)
                shown = int(round(pos * fps))
                if a <= shown < b:  # from here to the window's end the TS packets travel a lossy link
                    self._applied.add(i)
                    y0, y1, _, _ = _code_box(self.title.height, self.title.width)
                    self._streamer.damage(b - shown, f.severity, f.seed, spare_rows=(y0, y1))

    # ---- the player loop -------------------------------------------------------------------
    def _late_player_stall(self) -> float:
        """Seconds the late_player_skips fault stalls the player, once, as playback crosses its at_s."""
        if self.state != "playing" or self.title is None:
            return 0.0
        for i, f in enumerate(self.sim.faults):
            if f.type == "late_player_skips" and i not in self._applied and f.at_s <= self.position_s < f.at_s + 1.0:
                self._applied.add(i)  # one-shot, as drop_frames: again only after a new start or a seek
                return f.duration_s
        return 0.0

    def _fault(self, kind: str, pos: float) -> FaultSpec | None:
        for f in self.sim.faults:
            if f.type == kind and f.active(pos):
                return f
        return None

    def _run(self) -> None:
        k = 0
        t_base = time.monotonic()
        fps = HOME_FPS
        audio_done = 0
        while not self._stop.is_set():
            with self._lock:
                cur_fps = self.title.fps if self.title is not None else HOME_FPS
            if cur_fps != fps:  # a new frame rate restarts the schedule
                fps, t_base, k, audio_done = cur_fps, time.monotonic(), 0, 0
            due = t_base + k / fps
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            n_audio = int(round((k + 1) * AUDIO_RATE / fps)) - audio_done
            audio_done += n_audio
            with self._lock:
                self._take_keys(due)
                stall_s = self._late_player_stall()
            if stall_s:
                time.sleep(stall_s)
                self._catching_up = True
            # Frames carry their display time, so a player that runs late on a busy host, for however
            # long, still shows every frame at its own time: the recording sees no defect. Only the
            # `late_player_skips` fault skips frames until the player is back on time, as a real
            # player that drops late frames does.
            if self._catching_up and time.monotonic() - due <= 1.0 / fps:
                self._catching_up = False
            with self._lock:
                img, snd = self._tick(fps, n_audio, render=not self._catching_up, t=due)
            if img is None and self._held is not None:
                img = self._held  # late_player_skips: the last picture stays on the output
                self.frames_late += 1
            if img is not None:
                self.output.emit_video(img, due)
            self.output.emit_audio(snd, due)
            k += 1

    def _tick(self, fps: float, n_audio: int, render: bool, t: float) -> tuple[np.ndarray | None, np.ndarray]:
        """The frame and sound displayed at display-clock time `t`."""
        silence = np.zeros((n_audio, 2), np.float32)
        if self.state in ("loading", "seeking") and t >= self._until:
            self.state = "playing" if self.state == "loading" else getattr(self, "_resume_state", "playing")
        st = self.state
        if st == "home" or self.title is None:
            return (self._home() if render else None), silence
        if st == "loading":
            return np.zeros((self.title.height, self.title.width, 3), np.uint8), silence
        assert self._decoder is not None and self._audio is not None
        if st in ("paused", "seeking"):
            still = self._held if self._held is not None else self._picture(int(round(self.position_s * fps)))
            return self._captioned(still, self.position_s), silence
        # playing
        pos = self.position_s
        if pos >= self.title.duration_s - 1e-6:
            self.state, self.title = "home", None
            return self._home(), silence
        snd = self._audio_at(pos, n_audio)
        frozen = self._fault("frozen_video", pos)
        img: np.ndarray | None
        hold = self._hold_ticks > 0  # a repeat fault crossed on an earlier tick
        self._cadence_faults(pos, fps)
        if hold and self._held is not None:  # a repeated frame
            self._hold_ticks -= 1
            self._skew -= 1
            img = self._held
        elif frozen is not None and self._held is not None and getattr(self, "_held_fault", None) is frozen:
            img = self._held
        elif self._fault("black_frames", pos) is not None:
            img = np.zeros((self.title.height, self.title.width, 3), np.uint8)
        elif (solid := self._fault("solid_color", pos)) is not None:
            img = self._filled(self._picture(self._frame_index(pos, fps)), solid)
        elif render or frozen is not None:
            img = self._picture(self._frame_index(pos, fps))
            self._held_fault = frozen
        else:
            img = None
        if img is not None and img is not self._held:
            self._held = img
        if self._fault("audio_dropout", pos) is not None:
            snd[:] = 0.0
        self.position_s = pos + 1.0 / fps
        return self._captioned(img, pos), snd

    def _picture(self, index: int) -> np.ndarray:
        """Title frame `index` as the device shows it: inside a block_corruption window, what its
        decoder made of the damaged bitstream (the clean frame is decoded anyway, to keep pace)."""
        assert self._decoder is not None and self.title is not None
        img = self._decoder.frame(index)
        damaged = self._damage.picture(self.title, index)
        return img if damaged is None else damaged

    @staticmethod
    def _filled(img: np.ndarray, f: FaultSpec) -> np.ndarray:
        """The picture with a solid_color fault's fill, as the impairment library draws it."""
        clip, _ = video_faults.solid_color(VideoClip([img], 25.0), 0.0, 1.0, f.severity, f.seed, f.color)
        return clip.frames[0]

    def _audio_at(self, pos: float, n: int) -> np.ndarray:
        assert self._audio is not None
        off = self._fault("av_offset", pos)
        # positive: audio late; drift grows with title position
        delay_s = (off.offset_ms + off.drift_ms_per_min * pos / 60.0) / 1000.0 if off is not None else 0.0
        start = int(round((pos - delay_s) * AUDIO_RATE))
        out = np.zeros((n, 2), np.float32)
        a, b = max(0, start), min(len(self._audio), start + n)
        if b > a:
            out[a - start : b - start] = self._audio[a:b]
        return out

    def _home(self) -> np.ndarray:
        """A launcher screen: title tiles, the focused one highlighted with a slow pulse."""
        phase = int(time.monotonic() * 8) % 16
        key = self.focus * 16 + phase
        if key not in self._home_cache:
            w, h = 1280, 720
            img = np.full((h, w, 3), (48, 30, 24), np.uint8)
            cv2.putText(img, f"{self.name}  home", (60, 90), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (235, 235, 235), 2)
            for i, t in enumerate(self.titles):
                x = 60 + i * 380
                color = (60, 140, 230) if i == self.focus else (90, 90, 90)
                thick = 4 + (abs(phase - 8) if i == self.focus else 0)
                cv2.rectangle(img, (x, 200), (x + 340, 400), color, thick)
                cv2.putText(img, t.id, (x + 20, 310), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (235, 235, 235), 2)
            self._home_cache[key] = img
        return self._home_cache[key]

    def describe(self) -> dict[str, Any]:
        d = {"simulator": self.sim.model_dump(), "titles": [t.id for t in self.titles]}
        if self._damage.error is not None:
            d["fault_error"] = self._damage.error
        return d
