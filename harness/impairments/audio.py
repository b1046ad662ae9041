"""Audio impairments on float32 (n, channels) samples: dropout, clicks, hum, hiss, distortion,
level jumps and channel faults.

Every function takes an `AudioClip`, a window in seconds, a severity in [0, 1] and a seed, and
returns (new clip, Truth); samples outside the window are bit-identical to the input. Levels are
in dBFS (full scale = 1.0); SNRs in dB against the programme's own power in the window.
"""

from __future__ import annotations

import numpy as np

from harness.impairments.common import AudioClip, Truth, check_severity, index_window, interpolate, rng_for, truth


def _prepare(clip: AudioClip, at_s: float, duration_s: float, severity: float) -> tuple[np.ndarray, int, int, float]:
    s = check_severity(severity)
    x = np.asarray(clip.samples, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"audio must be (samples, channels), got shape {x.shape}")
    a, b = index_window(at_s, duration_s, clip.rate, len(x))
    return x.copy(), a, b, s


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def audio_dropout(
    clip: AudioClip, at_s: float, duration_s: float, severity: float = 1.0, seed: int = 0
) -> tuple[AudioClip, Truth]:
    """Dropout: the sound falls away (hard cut, every channel).

    Attenuation: 0.33 -> -40 dB (a fade a quiet passage might hide), 0.66 -> -80 dB, 1.0 -> digital
    silence (exact zeros); in between, -120 * severity dB. No randomness.
    """
    x, a, b, s = _prepare(clip, at_s, duration_s, severity)
    gain_db = -120.0 * s
    gain = 0.0 if s >= 1.0 else 10 ** (gain_db / 20)
    x[a:b] *= np.float32(gain)
    return AudioClip(x, clip.rate), truth(
        "audio_dropout", "audio_dropout", a, b, clip.rate, s, gain_db=None if gain == 0 else gain_db
    )


def clicks(
    clip: AudioClip, at_s: float, duration_s: float, severity: float = 1.0, seed: int = 0
) -> tuple[AudioClip, Truth]:
    """Clicks and pops: short impulses added at random positions.

    Rate interpolate(severity, 1, 20) per second and peak interpolate(severity, 0.1, 0.9):
    0.33 -> ~7/s at 0.36, 0.66 -> ~14/s at 0.63, 1.0 -> 20/s at 0.9. Half are one-sample clicks,
    half 3 ms decaying pops (a DC step that rings out); sign random. Truth params: `positions`
    (sample index of each onset), `amplitudes`, `kinds`.
    """
    x, a, b, s = _prepare(clip, at_s, duration_s, severity)
    rng = rng_for(seed, "clicks")
    n = max(1, int(round(interpolate(s, 1.0, 20.0) * (b - a) / clip.rate)))
    pop_len = int(0.003 * clip.rate)
    # spaced at least 10 ms apart so each one stays a separate, countable event
    slots = max(1, (b - a - pop_len) // int(0.01 * clip.rate))
    idx = np.sort(rng.choice(slots, size=min(n, slots), replace=False))
    positions = (a + idx * int(0.01 * clip.rate)).tolist()
    peak = interpolate(s, 0.1, 0.9)
    amps, kinds = [], []
    for p in positions:
        amp = float(peak * rng.choice([-1.0, 1.0]))
        if rng.random() < 0.5:
            x[p] += amp
            kinds.append("click")
        else:
            m = min(pop_len, b - p)
            x[p : p + m] += (amp * np.exp(-np.arange(m) / (pop_len / 5)))[:, None].astype(np.float32)
            kinds.append("pop")
        amps.append(amp)
    return AudioClip(x, clip.rate), truth(
        "audio_clicks", "clicks", a, b, clip.rate, s, positions=positions, amplitudes=amps, kinds=kinds
    )


HUM_HARMONICS_DB = (0.0, -6.0, -4.0, -12.0, -9.0)  # fundamental, 2nd..5th: odd ones strong, as rectifier buzz is


def hum(
    clip: AudioClip,
    at_s: float,
    duration_s: float,
    severity: float = 1.0,
    seed: int = 0,
    mains_hz: float | None = None,
) -> tuple[AudioClip, Truth]:
    """Mains hum: 50 or 60 Hz with harmonics 2-5 at HUM_HARMONICS_DB relative to the fundamental.

    Fundamental level interpolate(severity, -60, -20) dBFS: 0.33 -> -47, 0.66 -> -34, 1.0 -> -20.
    `mains_hz` None lets the seed pick 50 or 60; harmonic phases are random; 10 ms fades in and out
    keep the edges from clicking.
    """
    x, a, b, s = _prepare(clip, at_s, duration_s, severity)
    rng = rng_for(seed, "hum")
    f0 = float(mains_hz) if mains_hz is not None else float(rng.choice([50.0, 60.0]))
    level_db = interpolate(s, -60.0, -20.0)
    t = np.arange(b - a) / clip.rate
    tone = np.zeros(b - a)
    for k, rel in enumerate(HUM_HARMONICS_DB, start=1):
        amp = 10 ** ((level_db + rel) / 20) * np.sqrt(2)  # sine RMS = level
        tone += amp * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi))
    ramp = min(len(tone) // 2, int(0.01 * clip.rate))
    if ramp:
        env = np.ones_like(tone)
        env[:ramp] = np.linspace(0, 1, ramp)
        env[-ramp:] = np.linspace(1, 0, ramp)
        tone *= env
    x[a:b] += tone[:, None].astype(np.float32)
    return AudioClip(x, clip.rate), truth(
        "audio_hum",
        "hum",
        a,
        b,
        clip.rate,
        s,
        mains_hz=f0,
        level_dbfs=level_db,
        harmonics_db=list(HUM_HARMONICS_DB),
    )


def _noise(n: int, channels: int, color: str, rng: np.random.Generator) -> np.ndarray:
    """White, or pink (power falling 3 dB per octave: white shaped by 1/sqrt(f) in the frequency domain)."""
    white = rng.standard_normal((n, channels))
    if color == "white":
        return white
    spec = np.fft.rfft(white, axis=0)
    f = np.arange(spec.shape[0], dtype=np.float64)
    f[0] = 1.0
    spec /= np.sqrt(f)[:, None]
    spec[0] = 0.0
    return np.fft.irfft(spec, n=n, axis=0)


def hiss(
    clip: AudioClip,
    at_s: float,
    duration_s: float,
    severity: float = 1.0,
    seed: int = 0,
    color: str | None = None,
    snr_db: float | None = None,
) -> tuple[AudioClip, Truth]:
    """Hiss: white or pink noise at an exact SNR against the programme in the window.

    SNR interpolate(severity, 55, 10) dB: 0.33 -> 40 dB (faint), 0.66 -> 25 dB, 1.0 -> 10 dB
    (obvious). `snr_db` overrides it; `color` None lets the seed pick "white" or "pink". The noise
    is scaled so that signal power / noise power over the window, all channels together, is the SNR
    exactly (before float32 rounding). A silent window gets noise at -snr dBFS instead.
    """
    x, a, b, s = _prepare(clip, at_s, duration_s, severity)
    rng = rng_for(seed, "hiss")
    c = color if color is not None else str(rng.choice(["white", "pink"]))
    if c not in ("white", "pink"):
        raise ValueError(f"color must be 'white' or 'pink', got {c!r}")
    snr = float(snr_db) if snr_db is not None else interpolate(s, 55.0, 10.0)
    noise = _noise(b - a, x.shape[1], c, rng)
    sig = _rms(x[a:b]) or 1.0
    noise *= sig / 10 ** (snr / 20) / _rms(noise)
    x[a:b] += noise.astype(np.float32)
    return AudioClip(x, clip.rate), truth("audio_hiss", "hiss", a, b, clip.rate, s, color=c, snr_db=snr)


def clipping(
    clip: AudioClip, at_s: float, duration_s: float, severity: float = 1.0, seed: int = 0
) -> tuple[AudioClip, Truth]:
    """Hard clipping: samples beyond a threshold are flattened to it.

    The threshold is set so that a chosen share of the window's samples clip:
    interpolate(severity, 0.2 %, 15 %) -> 0.33: 5 %, 0.66: 10 %, 1.0: 15 %. Truth params:
    `threshold` (linear), `clipped_ratio` (the share actually clipped). No randomness.
    """
    x, a, b, s = _prepare(clip, at_s, duration_s, severity)
    ratio = interpolate(s, 0.002, 0.15)
    seg = x[a:b]
    thr = float(np.quantile(np.abs(seg), 1.0 - ratio))
    clipped = np.abs(seg) >= thr
    x[a:b] = np.clip(seg, -thr, thr)
    return AudioClip(x, clip.rate), truth(
        "audio_distortion",
        "clipping",
        a,
        b,
        clip.rate,
        s,
        threshold=thr,
        target_ratio=ratio,
        clipped_ratio=float(clipped.mean()),
    )


def soft_clipping(
    clip: AudioClip, at_s: float, duration_s: float, severity: float = 1.0, seed: int = 0
) -> tuple[AudioClip, Truth]:
    """Soft clipping: y = peak * tanh(d * x) / tanh(d * peak), an overdriven analogue stage.

    Keeps the window's peak, squashes everything below it. Drive d = interpolate(severity, 1, 10) /
    peak: 0.33 -> 4, 0.66 -> 7, 1.0 -> 10 (times 1 / peak). Truth params: `drive`, `peak`. No randomness.
    """
    x, a, b, s = _prepare(clip, at_s, duration_s, severity)
    seg = x[a:b].astype(np.float64)
    peak = float(np.abs(seg).max()) or 1.0
    drive = interpolate(s, 1.0, 10.0) / peak
    x[a:b] = (peak * np.tanh(drive * seg) / np.tanh(drive * peak)).astype(np.float32)
    return AudioClip(x, clip.rate), truth(
        "audio_distortion", "soft_clipping", a, b, clip.rate, s, drive=drive, peak=peak
    )


def bitcrush(
    clip: AudioClip, at_s: float, duration_s: float, severity: float = 1.0, seed: int = 0
) -> tuple[AudioClip, Truth]:
    """Bit crushing: samples quantised to `bits` bits over [-1, 1) (step 2 / 2**bits).

    bits = round(interpolate(severity, 16, 4)): 0.33 -> 12 bits, 0.66 -> 8, 1.0 -> 4. No randomness.
    """
    x, a, b, s = _prepare(clip, at_s, duration_s, severity)
    bits = int(round(interpolate(s, 16.0, 4.0)))
    step = 2.0 / 2**bits
    x[a:b] = (np.clip(np.round(x[a:b] / step), -(2 ** (bits - 1)), 2 ** (bits - 1) - 1) * step).astype(np.float32)
    return AudioClip(x, clip.rate), truth("audio_distortion", "bitcrush", a, b, clip.rate, s, bits=bits, step=step)


def level_jump(
    clip: AudioClip,
    at_s: float,
    duration_s: float,
    severity: float = 1.0,
    seed: int = 0,
    direction: str | None = None,
) -> tuple[AudioClip, Truth]:
    """Sudden level jump: the whole window louder or quieter by a fixed gain, with hard edges.

    |gain| = interpolate(severity, 1, 20) dB: 0.33 -> 7 dB, 0.66 -> 13.5 dB, 1.0 -> 20 dB.
    `direction` "up"/"down"; None lets the seed pick. Going up can push samples past full scale;
    they are kept (a file writer will clip them, which is what a device would do too).
    """
    x, a, b, s = _prepare(clip, at_s, duration_s, severity)
    rng = rng_for(seed, "level_jump")
    d = direction if direction is not None else str(rng.choice(["up", "down"]))
    if d not in ("up", "down"):
        raise ValueError(f"direction must be 'up' or 'down', got {d!r}")
    gain_db = interpolate(s, 1.0, 20.0) * (1 if d == "up" else -1)
    x[a:b] *= np.float32(10 ** (gain_db / 20))
    return AudioClip(x, clip.rate), truth("loudness", "level_jump", a, b, clip.rate, s, gain_db=gain_db)


def _channel(x: np.ndarray, seed: int, name: str, channel: int | None) -> int:
    if x.shape[1] < 2:
        raise ValueError(f"{name} needs at least two channels, got {x.shape[1]}")
    ch = int(channel) if channel is not None else int(rng_for(seed, name).integers(0, x.shape[1]))
    if not 0 <= ch < x.shape[1]:
        raise ValueError(f"channel {ch} out of range for {x.shape[1]} channels")
    return ch


def channel_missing(
    clip: AudioClip,
    at_s: float,
    duration_s: float,
    severity: float = 1.0,
    seed: int = 0,
    channel: int | None = None,
) -> tuple[AudioClip, Truth]:
    """Missing channel: one channel drops to -120 * severity dB (exact silence at 1.0).

    0.33 -> -40 dB, 0.66 -> -80 dB, 1.0 -> silent. `channel` None lets the seed pick it.
    """
    x, a, b, s = _prepare(clip, at_s, duration_s, severity)
    ch = _channel(x, seed, "channel_missing", channel)
    gain = 0.0 if s >= 1.0 else 10 ** (-120.0 * s / 20)
    x[a:b, ch] *= np.float32(gain)
    return AudioClip(x, clip.rate), truth(
        "channel_fault", "channel_missing", a, b, clip.rate, s, fault="missing", channel=ch, gain_db=-120.0 * s
    )


def channel_swap(
    clip: AudioClip, at_s: float, duration_s: float, severity: float = 1.0, seed: int = 0
) -> tuple[AudioClip, Truth]:
    """Swapped channels: left and right (channels 0 and 1) exchanged.

    A swap is all or nothing, so severity has no effect; nor has the seed.
    """
    x, a, b, s = _prepare(clip, at_s, duration_s, severity)
    _channel(x, seed, "channel_swap", 0)
    x[a:b, [0, 1]] = x[a:b, [1, 0]]
    return AudioClip(x, clip.rate), truth(
        "channel_fault", "channel_swap", a, b, clip.rate, s, fault="swapped", channels=[0, 1]
    )


def phase_invert(
    clip: AudioClip,
    at_s: float,
    duration_s: float,
    severity: float = 1.0,
    seed: int = 0,
    channel: int | None = None,
) -> tuple[AudioClip, Truth]:
    """Phase-inverted channel: one channel's polarity flipped (a miswired output stage).

    An inversion is all or nothing, so severity has no effect; `channel` None lets the seed pick.
    """
    x, a, b, s = _prepare(clip, at_s, duration_s, severity)
    ch = _channel(x, seed, "phase_invert", channel)
    x[a:b, ch] *= np.float32(-1.0)
    return AudioClip(x, clip.rate), truth(
        "channel_fault", "phase_invert", a, b, clip.rate, s, fault="inverted", channel=ch
    )
