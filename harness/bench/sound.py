"""Sound of the benchmark's sources: espeak-ng speech, recorded voice prompts, synthesized music,
General MIDI music with rests through fluidsynth, and the noise gate that real productions put on
voice, which takes the pauses down to digital silence.

These are what a naive silence detector mistakes for a dropout: narration and prompts are gated
(speech decays over 50-100 ms into digital zero between phrases), and a piano phrase ends in a
rest where the last note rings out into silence. A dropout is a cut: the sound stops within
milliseconds from its normal level.

System packages: espeak-ng (speech), alsa-utils (its `/usr/share/sounds/alsa` prompts are real
recorded voice), fluidsynth and fluid-soundfont-gm (FluidR3 GM, MIT licence).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
import wave
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

RATE = 48000
ALSA_SOUNDS = Path("/usr/share/sounds/alsa")  # Debian alsa-utils: recorded voice prompts
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")  # Debian fluid-soundfont-gm


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GateSpec(_Model):
    """A downward noise gate as on a voice channel: opens at once when the level passes the
    threshold, holds, then closes by `range_db` over `release_s` (a linear fall in dB)."""

    threshold_dbfs: float = Field(-50.0, ge=-80, le=-20, description="opens above this peak level")
    hold_s: float = Field(0.03, ge=0, le=0.5, description="stays open this long after the level falls")
    release_s: float = Field(0.08, gt=0.005, le=1.0, description="time to close fully")
    range_db: float | None = Field(None, ge=20, le=100, description="attenuation when closed; none: to digital zero")


class AudioSpec(_Model):
    """Sound of a source: the footage's own track, synthesized music, espeak-ng speech, recorded
    voice prompts, or General MIDI music with rests."""

    kind: Literal["source", "music", "speech", "voice", "midi"] = Field(
        description="source: the footage's own track (looped); voice: alsa-utils' recorded prompts in a "
        "seeded order with gaps; midi: seeded phrases and rests played by fluidsynth"
    )
    text: str = Field("", description="what espeak-ng says (speech)")
    seed: int = Field(0, description="music's arrangement; speech's voice; voice's order; midi's phrases")
    level_dbfs: float | None = Field(None, ge=-90, le=0, description="programme RMS, dBFS")
    bass_db: float = Field(0.0, ge=0, le=18, description="extra gain below 120 Hz")
    room_tone_dbfs: float | None = Field(
        -62.0, description="pink noise added after levelling: real recordings are never digital zero"
    )
    reverb: bool = Field(False, description="midi: fluidsynth's reverb and chorus on (tails ring into the rests)")
    gate: GateSpec | None = Field(None, description="a noise gate after the room tone: pauses become digital zero")


def resample(x: np.ndarray, rate_in: int, rate_out: int = RATE) -> np.ndarray:
    from scipy.signal import resample_poly

    g = np.gcd(rate_in, rate_out)
    return resample_poly(x, rate_out // g, rate_in // g, axis=0).astype(np.float32)


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """(samples float32 (n, channels), rate) of a 16-bit PCM WAV."""
    with wave.open(str(path)) as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM WAV is read here")
        x = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768.0
        return x.reshape(-1, w.getnchannels()), w.getframerate()


def _tool(name: str, package: str, why: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise RuntimeError(f"{name} is not on PATH (Debian: apt-get install {package}); {why}")
    return exe


def speech(text: str, seed: int = 0) -> np.ndarray:
    """Mono float32 speech at 48 kHz from espeak-ng (Debian: apt-get install espeak-ng)."""
    exe = _tool("espeak-ng", "espeak-ng", "it speaks the bench's speech")
    with tempfile.TemporaryDirectory() as d:
        wav = Path(d) / "s.wav"
        voices = ["en", "en-us", "en-gb-x-rp"]
        subprocess.run([exe, "-v", voices[seed % 3], "-s", "150", "-w", str(wav), text], check=True)
        x, rate = read_wav(wav)
    return resample(x[:, 0], rate)


def recorded_voice(seconds: float, seed: int = 0) -> np.ndarray:
    """Mono float32: alsa-utils' recorded voice prompts ("Front Left", "Rear Center" ...), each
    already gated to digital zero between its words, in a seeded order at levels +-6 dB with
    0.15-1.5 s of digital silence between them, as an app's voice prompts or a narration play."""
    files = sorted(p for p in ALSA_SOUNDS.glob("*.wav") if p.stem != "Noise")
    if not files:
        raise RuntimeError(f"no voice prompts in {ALSA_SOUNDS} (Debian: apt-get install alsa-utils)")
    prompts = []
    for p in files:
        x, rate = read_wav(p)
        prompts.append(resample(x.mean(axis=1), rate))
    rng = np.random.default_rng(seed)
    n = int(round(seconds * RATE))
    out = np.zeros(n, np.float32)
    pos = int(rng.uniform(0.1, 0.5) * RATE)
    while pos < n:
        x = prompts[rng.integers(len(prompts))] * np.float32(10 ** (rng.uniform(-6, 6) / 20))
        out[pos : pos + len(x)] = x[: n - pos]
        pos += len(x) + int(rng.uniform(0.15, 1.5) * RATE)
    return out


# --- General MIDI through fluidsynth ----------------------------------------------------------

# programs with a natural release: piano, e-piano, marimba, nylon and steel guitar, pizzicato,
# harp, strings, flute, trumpet, vibraphone
_PROGRAMS = [0, 4, 12, 24, 25, 45, 46, 48, 73, 56, 11]
_SCALE = [0, 2, 4, 5, 7, 9, 11]


def _vlq(v: int) -> bytes:
    out = [v & 0x7F]
    v >>= 7
    while v:
        out.append(0x80 | (v & 0x7F))
        v >>= 7
    return bytes(reversed(out))


def midi_phrases(seconds: float, seed: int) -> bytes:
    """A format-0 Standard MIDI File: phrases of 2-8 notes (some chords) on one seeded instrument,
    each followed by a rest of 0.4-2.5 s in which the last notes ring out."""
    rng = np.random.default_rng(seed)
    tpq, tempo_us = 480, 500_000  # 120 bpm: a tick is 1/960 s
    ticks_s = tpq * 1e6 / tempo_us
    program = int(_PROGRAMS[seed % len(_PROGRAMS)])
    events: list[tuple[int, bytes]] = [(0, bytes([0xC0, program]))]
    t, root = 0.3, int(rng.integers(48, 62))
    while t < seconds - 0.5:
        for _ in range(int(rng.integers(2, 9))):
            step = float(rng.choice([0.125, 0.25, 0.25, 0.5, 0.75]))
            length = step * float(rng.uniform(0.4, 1.0))
            chord = [0] if rng.random() < 0.7 else [0, 4, 7]
            deg = int(rng.integers(0, 7))
            base = root + _SCALE[deg] + 12 * int(rng.integers(0, 2))
            vel = int(rng.integers(50, 120))
            for c in chord:
                note = min(120, base + c)
                events.append((int(t * ticks_s), bytes([0x90, note, vel])))
                events.append((int((t + length) * ticks_s), bytes([0x80, note, 0])))
            t += step
        t += float(rng.uniform(0.4, 2.5))
    events.sort(key=lambda e: (e[0], e[1][0] != 0x80))
    track = bytearray(b"\x00\xff\x51\x03" + tempo_us.to_bytes(3, "big"))
    last = 0
    for tick, msg in events:
        track += _vlq(tick - last) + msg
        last = tick
    track += b"\x00\xff\x2f\x00"
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, tpq) + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)


def midi_music(seconds: float, seed: int = 0, reverb: bool = False) -> np.ndarray:
    """Stereo float32 at 48 kHz: `midi_phrases` played by fluidsynth on the FluidR3 GM soundfont.
    Without reverb the rests fall to digital zero once the last note has decayed."""
    return play_midi(midi_phrases(seconds, seed), seconds, reverb=reverb, gain=0.6)


def noise_gate(x: np.ndarray, spec: GateSpec, rate: int = RATE) -> np.ndarray:
    """`x` (n, channels) through the gate of `spec`, one gain for all channels (a linked gate).
    The key is the peak level over 5 ms; the gain is computed every millisecond (and interpolated
    between): it opens within 1 ms, holds, then falls linearly in dB by `range_db` over
    `release_s`; a gate without a range reaches digital zero."""
    from scipy.ndimage import maximum_filter1d

    step = max(1, rate // 1000)
    m = -(-len(x) // step)
    peak = np.pad(np.abs(x).max(axis=1), (0, m * step - len(x))).reshape(m, step).max(axis=1)
    above = maximum_filter1d(peak, size=5) >= 10 ** (spec.threshold_dbfs / 20)
    depth = spec.range_db if spec.range_db is not None else 100.0
    fall = depth * step / (spec.release_s * rate)  # dB per control step
    hold = int(round(spec.hold_s * 1000))
    gain_db = np.empty(m)
    g, since = -depth, hold + 1
    for i, a in enumerate(above.tolist()):
        since = 0 if a else since + 1
        g = 0.0 if since <= hold else max(-depth, g - fall)
        gain_db[i] = g
    at = np.interp(np.arange(len(x)), np.arange(m) * step + step / 2, gain_db)
    gain = 10 ** (at / 20)
    if spec.range_db is None:
        gain[at <= -depth] = 0.0
    return (x * gain[:, None]).astype(np.float32)


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    """Stereo pink noise of unit RMS."""
    spec = np.fft.rfft(rng.standard_normal((n, 2)), axis=0)
    spec /= np.sqrt(np.maximum(np.arange(spec.shape[0]), 1))[:, None]
    x = np.fft.irfft(spec, n=n, axis=0)
    return x / np.sqrt(np.mean(x**2))


def rms_dbfs(x: np.ndarray) -> float:
    return float(20 * np.log10(max(1e-12, np.sqrt(np.mean(np.square(x, dtype=np.float64))))))


# --- multi-track General MIDI songs and ambience: the audio models' clean programme ------------

_CH_DRUMS = 9
_STYLES = {
    # style: (tempo bpm range, drums, bass octave, chord density, lead note lengths)
    "pop": ((92, 128), True, 36, 1.0, (0.25, 0.5)),
    "rock": ((110, 150), True, 28, 1.0, (0.125, 0.25)),
    "ballad": ((60, 80), False, 36, 0.5, (0.5, 1.0)),
    "funk": ((96, 112), True, 28, 1.0, (0.125, 0.25)),
    "ambient": ((50, 70), False, 36, 0.25, (1.0, 2.0)),
}


def _smf(events: list[tuple[int, bytes]], tempo_us: int, tpq: int = 480) -> bytes:
    events.sort(key=lambda e: (e[0], (e[1][0] & 0xF0) != 0x80))
    track = bytearray(b"\x00\xff\x51\x03" + tempo_us.to_bytes(3, "big"))
    last = 0
    for tick, msg in events:
        track += _vlq(tick - last) + msg
        last = tick
    track += b"\x00\xff\x2f\x00"
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, tpq) + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)


def midi_song(seconds: float, seed: int, style: str, programs: tuple[int, int, int]) -> bytes:
    """A format-0 Standard MIDI File: a seeded song in `style` (drums on channel 10 where the style
    has them, a bass line, chords, a lead) on General MIDI `programs` (lead, chords, bass)."""
    tempo_range, drums, bass_oct, density, lead_len = _STYLES[style]
    rng = np.random.default_rng(seed)
    bpm = float(rng.uniform(*tempo_range))
    tpq, tempo_us = 480, int(60e6 / bpm)
    beat = 60.0 / bpm
    tick = tpq / beat  # ticks a second

    def at(t: float) -> int:
        return int(round(t * tick))

    ev: list[tuple[int, bytes]] = []
    for ch, prog in enumerate(programs):
        ev.append((0, bytes([0xC0 | ch, prog & 0x7F])))
        ev.append((0, bytes([0xB0 | ch, 10, int(rng.integers(30, 98))])))  # pan

    def note(ch: int, n: int, t0: float, dur: float, vel: int) -> None:
        ev.append((at(t0), bytes([0x90 | ch, min(127, max(0, n)), min(127, max(1, vel))])))
        ev.append((at(t0 + dur), bytes([0x80 | ch, min(127, max(0, n)), 0])))

    key = int(rng.integers(0, 12))
    prog_chords = [[0, 4, 7], [9, 0, 4], [5, 9, 0], [7, 11, 2]]
    rng.shuffle(prog_chords)
    bar = 4 * beat
    t = 0.05
    while t < seconds:
        for chord in prog_chords:
            if t >= seconds:
                break
            if rng.random() < density:  # chords
                for iv in chord:
                    note(1, 48 + key + iv + (12 if iv < chord[0] else 0), t, bar * 0.95, int(rng.integers(45, 80)))
            for k in range(4):  # bass on the beats, sometimes eighths
                n = bass_oct + (key + chord[0]) % 12 + (7 if k == 2 and rng.random() < 0.5 else 0)
                note(2, n, t + k * beat, beat * 0.9, int(rng.integers(70, 110)))
                if style in ("rock", "funk") and rng.random() < 0.5:
                    note(2, n + 12 * int(rng.integers(0, 2)), t + (k + 0.5) * beat, beat * 0.4, 80)
            lt = t
            while lt < t + bar:  # lead
                step = float(rng.uniform(*lead_len)) * beat * 2
                if rng.random() < 0.8:
                    deg = int(rng.integers(0, 7))
                    note(
                        0,
                        60 + key + _SCALE[deg] + 12 * int(rng.integers(0, 2)),
                        lt,
                        step * 0.9,
                        int(rng.integers(60, 115)),
                    )
                lt += step
            if drums:
                for k in range(8):
                    bt = t + k * beat / 2
                    if k % 4 == 0 or (style == "funk" and rng.random() < 0.3):
                        ev.append((at(bt), bytes([0x99, 36, 110])))
                    if k % 4 == 2:
                        ev.append((at(bt), bytes([0x99, 38, int(rng.integers(90, 120))])))
                    ev.append((at(bt), bytes([0x99, 42 if rng.random() < 0.85 else 46, int(rng.integers(50, 90))])))
                if rng.random() < 0.15:
                    ev.append((at(t), bytes([0x99, 49, 100])))
            t += bar
    ev = [e for e in ev if e[0] < at(seconds)] + [(at(seconds), bytes([0xB0 | c, 123, 0])) for c in range(3)]
    return _smf(ev, tempo_us, tpq)


def play_midi(
    smf: bytes,
    seconds: float,
    reverb: bool = True,
    gain: float = 0.5,
    soundfont: Path = SOUNDFONT,
    package: str = "fluid-soundfont-gm",
) -> np.ndarray:
    """Stereo float32 at 48 kHz: a Standard MIDI File played by fluidsynth on `soundfont`
    (FluidR3 GM unless told; `package` is the Debian package to name when it is missing)."""
    exe = _tool("fluidsynth", "fluidsynth", "it plays the bench's MIDI music")
    if not soundfont.exists():
        raise RuntimeError(f"{soundfont} is missing (Debian: apt-get install {package})")
    with tempfile.TemporaryDirectory() as d:
        mid, wav = Path(d) / "m.mid", Path(d) / "m.wav"
        mid.write_bytes(smf)
        fx = ["-R", "1", "-C", "1"] if reverb else ["-R", "0", "-C", "0"]
        cmd = [exe, "-ni", "-q", *fx, "-g", str(gain), "-r", str(RATE), "-O", "s16", "-T", "wav", "-F", str(wav)]
        subprocess.run([*cmd, str(soundfont), str(mid)], check=True, capture_output=True)
        x, rate = read_wav(wav)
    if rate != RATE:
        x = resample(x, rate)
    n = int(round(seconds * RATE))
    return np.pad(x, ((0, max(0, n - len(x))), (0, 0)))[:n]


def _bursts(
    n: int,
    rate_hz: float,
    length_s: tuple[float, float],
    band: tuple[float, float],
    level_db: tuple[float, float],
    rng: np.random.Generator,
) -> np.ndarray:
    """Stereo: Poisson-timed short noise bursts, band-passed, each decaying, randomly panned."""
    from scipy.signal import butter, sosfilt

    out = np.zeros((n, 2))
    count = rng.poisson(rate_hz * n / RATE)
    for _ in range(count):
        m = int(rng.uniform(*length_s) * RATE)
        p = int(rng.integers(0, max(1, n - m)))
        env = np.exp(-np.arange(m) / (m / 4)) * np.minimum(1, np.arange(m) / 24)
        g = 10 ** (rng.uniform(*level_db) / 20)
        pan = rng.uniform(0.2, 0.8)
        burst = rng.standard_normal(m) * env * g
        out[p : p + m, 0] += burst * (1 - pan)
        out[p : p + m, 1] += burst * pan
    return sosfilt(butter(2, band, btype="band", fs=RATE, output="sos"), out, axis=0)


def ambience(kind: str, seconds: float, seed: int) -> np.ndarray:
    """Stereo float32 ambience at 48 kHz: "rain" (dense drops over a wash), "applause" (claps,
    swelling and fading), "wind" (gusting low noise), "traffic" (rumble and passing swells)."""
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(seed)
    n = int(round(seconds * RATE))
    t = np.arange(n) / RATE
    slow = np.interp(
        t, np.linspace(0, seconds, max(2, int(seconds / 2))), rng.uniform(0.3, 1.0, max(2, int(seconds / 2)))
    )
    if kind == "rain":
        wash = sosfilt(butter(2, [800, 9000], btype="band", fs=RATE, output="sos"), pink(n, rng), axis=0) * 0.02
        x = wash + _bursts(n, rng.uniform(300, 1500), (0.001, 0.006), (1500, 12000), (-42, -18), rng)
    elif kind == "applause":
        x = _bursts(n, rng.uniform(40, 150), (0.004, 0.012), (700, 6000), (-24, -8), rng) * slow[:, None]
    elif kind == "wind":
        x = sosfilt(butter(2, rng.uniform(200, 900), fs=RATE, output="sos"), pink(n, rng), axis=0) * slow[:, None] ** 2
    elif kind == "traffic":
        rumble = sosfilt(butter(2, 150, fs=RATE, output="sos"), pink(n, rng), axis=0) * 0.5
        swell = np.zeros(n)
        for c in rng.uniform(0, seconds, max(1, int(seconds / 6))):
            swell += np.exp(-(((t - c) / rng.uniform(1, 3)) ** 2))
        x = (
            rumble
            + sosfilt(butter(2, [300, 4000], btype="band", fs=RATE, output="sos"), pink(n, rng), axis=0)
            * (0.05 + swell)[:, None]
        )
    else:
        raise ValueError(f"ambience kind must be rain, applause, wind or traffic, got {kind!r}")
    return (x / max(1e-9, float(np.abs(x).max())) * 0.7).astype(np.float32)
