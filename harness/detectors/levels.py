"""audio_levels: the classical level checks on one pass: loudness against a policy, true-peak
clipping, sudden level jumps, and channel faults (a missing channel, phase inversion, and on
reference titles swapped channels).

Everything is kept per 100 ms (BS.1770's block step): the K-weighted mean square and the true peak
of each channel, and from a 4800-point FFT of each channel its energy and the L/R cross term in
four bands (50-300 Hz, 0.3-1.2 kHz, 1.2-4.8 kHz, 4.8-16 kHz). Hours of capture cost a few MB.
Events come at `finish`, when the levels either side of each moment are known.

| param | default | meaning |
| --- | --- | --- |
| target_lufs | None | the loudness policy: integrated loudness (BS.1770-4, gated) must be within tolerance_lu of this; None: no policy. Broadcast: -23 (EBU R128) or -24 (ATSC A/85); streaming services -14 to -27. A title has no one right loudness, so there is no default. |
| tolerance_lu | 2.0 | R128 allows +-1 LU for live programme; ATSC +-2 dB: the wider one, as a device's volume path is not a mastering desk. |
| max_true_peak_dbtp | -1.0 | EBU R128's maximum true peak. The reference titles peak at -2.5 dBTP (music) and -5 dBTP (film sound); sound clipped at full scale reads 0 dBTP or more. |
| programme_lufs | -55 | a 100 ms block quieter than this is not programme (pauses, room tone, silence): no jump, channel or phase judgement is made on it. Speech and music sit at -40..-14; the room tone of a pause at -60 and below. |
| jump_db | 8 | a level jump: the median 100 ms level of the next jump_hold_s differs by this much from that of the jump_before_s before it. Produced programme steps too: Big Buck Bunny's sound rises 7.2 dB at a scene change, flat across its bands, so 6 dB would call that a fault; a gain fault worth reporting is 8 dB or more; ... |
| jump_hold_s | 1.0 | ... held: each half of this span is at least 0.7 of the step away (a drum hit is gone within it) ... |
| jump_before_s | 2.0 | ... against this much before (programme's own average, not one loud syllable) ... |
| jump_sudden_s | 0.3 | ... and the step is already there this close to it (a fade or a crescendo takes seconds) ... |
| jump_band_spread_db | 4 | ... and it is a gain change: every octave band with 1 % of the energy on both sides moves by the same amount within this spread. A pause's room tone, a new instrument or a voice entering change the spectrum; a gain stage does not. Measured: gain steps of 10-12 dB on the reference titles spread 1-3 dB (clipping included); a General MIDI phrase entering after a quiet start 4.2 dB. Programme with fewer than 3 such bands (Big Buck Bunny's sound, mostly below 400 Hz, steps 7-8 dB flat across its 2 bands at scene changes) cannot tell a gain step from a scene change: no jump is reported on it. |
| missing_db | -60 | a channel is missing when it is this far below the loudest one while that one carries programme (the channel's noise floor under a dead DAC is -90 dBFS and below; panning never gets near 60 dB) ... |
| missing_min_s | 0.5 | ... for at least this long (a hard-panned effect is shorter, and rarely 60 dB down). |
| inverted_corr | -0.5 | phase inversion: the L/R correlation over 1 s is below this ... Produced programme correlates at +0.5..+1 (centred dialogue, bass and drums; the reference titles +0.7); a flipped channel turns that into -0.5..-1. |
| inverted_band_corr | 0.0 | ... and no band carrying 1 % of the energy or more (two such bands at least) is in phase: decorrelated reverb and widened pads leave some band positive; a flipped channel none (the identity tones, one per side, pull their band towards 0, not above). |
| inverted_lag0_share | 0.8 | ... and the cross-correlation's largest magnitude within +-20 ms lies at lag 0 (its value there at least this share of the largest): a Haas-delayed or time-offset copy is anti-phase at lag 0 for some notes, but in phase at its delay; a flipped channel is the programme's own autocorrelation negated, largest at 0. |
| inverted_min_s | 1.0 | ... held for at least this long. A span runs from the first such second to the last one before the channels are clearly in phase again (correlation above +0.5): wide passages inside it (Big Buck Bunny's ambience correlates near 0 inverted or not) neither end it nor start a new one. The same holds for a missing channel across quiet programme. |
| inverted_balance_db | 12 | ... with the channels within this of each other (one loud channel and a faint one's crosstalk prove nothing). |
| channel_identity | "none" | "reference": the programme carries the reference titles' channel identity marks (`harness.measure.sync.mark_channels`); swaps are found from them and inversions say which channel. The analysis sets it when the capture shows a reference title whose manifest has the marks. |
| identity_margin_db | 10 | a side's identity tone is in a channel when it is this much above the same tone in the other channel. |
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from harness.detectors.base import Detector, Params, Series
from harness.events import Event
from harness.measure import loudness
from harness.measure.sync import IDENTITY_TILT_DB, IdentityMark, IdentityReader
from harness.media import AudioBlock

BANDS_HZ = ((50.0, 300.0), (300.0, 1200.0), (1200.0, 4800.0), (4800.0, 16000.0))
JUMP_BANDS_HZ = tuple((50.0 * 2**i, 50.0 * 2 ** (i + 1)) for i in range(8))  # octaves, 50 Hz - 12.8 kHz
NAMES = ("left", "right", "centre", "left surround", "right surround")
TINY = 1e-12


def _spans(flag: np.ndarray, present: np.ndarray) -> list[tuple[int, int]]:
    """[first, end) of the spans from a flagged index to the last flagged one before the next
    index where the opposite is clearly seen (`present`); indexes with no evidence either way
    (quiet programme, wide passages) neither start nor break a span."""
    out: list[tuple[int, int]] = []
    start = last = -1
    for i in range(len(flag)):
        if flag[i]:
            if start < 0:
                start = i
            last = i
        elif present[i] and start >= 0:
            out.append((start, last + 1))
            start = -1
    if start >= 0:
        out.append((start, last + 1))
    return out


class LevelsParams(Params):
    target_lufs: float | None = Field(None, ge=-70, le=0)
    tolerance_lu: float = Field(2.0, ge=0)
    max_true_peak_dbtp: float = Field(-1.0, le=6)
    programme_lufs: float = Field(-55.0, le=0)
    jump_db: float = Field(8.0, gt=0)
    jump_hold_s: float = Field(1.0, gt=0)
    jump_before_s: float = Field(2.0, gt=0)
    jump_sudden_s: float = Field(0.3, gt=0)
    jump_band_spread_db: float = Field(4.0, gt=0)
    missing_db: float = Field(-60.0, le=0)
    missing_min_s: float = Field(0.5, ge=0)
    inverted_corr: float = Field(-0.5, ge=-1, le=0)
    inverted_band_corr: float = Field(0.0, ge=-1, le=1)
    inverted_lag0_share: float = Field(0.8, ge=0, le=1)
    inverted_min_s: float = Field(1.0, ge=0)
    inverted_balance_db: float = Field(12.0, ge=0)
    channel_identity: Literal["none", "reference"] = "none"
    identity_margin_db: float = Field(10.0, ge=0)


def _db(x: np.ndarray | float) -> np.ndarray:
    return 10 * np.log10(np.maximum(x, TINY))


def _runs(flag: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate([[0], flag.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


class AudioLevels(Detector):
    name = "audio_levels"
    version = "1"
    consumes = "audio"
    Params = LevelsParams
    params: LevelsParams

    def __init__(self, params: BaseModel | dict[str, Any] | None = None) -> None:
        super().__init__(params)
        self._meter: loudness.LoudnessMeter | None = None
        self._peak: loudness.TruePeakMeter | None = None
        self._identity: IdentityReader | None = None
        self._t0: float | None = None
        self._rate = 48000
        self._rest = np.zeros((0, 1))
        self._bands: list[Series] = []  # per band: left, right energy and their cross term
        self._broad = [Series(), Series(), Series(), Series()]  # LL, RR, LR, max |xcorr| within 20 ms
        self._mono_bands: list[Series] = [Series() for _ in JUMP_BANDS_HZ]

    # ---- streaming --------------------------------------------------------------------------
    def feed_audio(self, block: AudioBlock) -> None:
        x = block.samples if block.samples.ndim == 2 else block.samples[:, None]
        if self._meter is None:
            self._rate, self._t0 = block.samplerate, block.start_s
            self._meter = loudness.LoudnessMeter(block.samplerate, x.shape[1])
            self._peak = loudness.TruePeakMeter(block.samplerate, x.shape[1])
            self._rest = np.zeros((0, x.shape[1]))
            self._bands = [Series() for _ in range(3 * len(BANDS_HZ))]
            if self.params.channel_identity == "reference" and x.shape[1] >= 2:
                self._identity = IdentityReader(block.samplerate, self.params.identity_margin_db)
        assert self._peak is not None
        self._meter.feed(x)
        self._peak.feed(x)
        if self._identity is not None:
            self._identity.feed(x, block.start_s)
        y = np.concatenate([self._rest, x]) if len(self._rest) else x.astype(np.float64)
        step = int(round(loudness.BLOCK_S * self._rate))
        k = len(y) // step
        self._rest = y[k * step :]
        if k:
            self._spectra(y[: k * step].reshape(k, step, -1))

    def _spectra(self, w: np.ndarray) -> None:
        """Per 100 ms block: band energies of the mono mix; for stereo, each channel's band
        energies, their cross term, and the broadband sums."""
        step = w.shape[1]
        f = np.fft.rfftfreq(step, 1 / self._rate)
        spec = np.fft.rfft(w, axis=1)
        mono = spec.mean(axis=2)
        for i, (lo, hi) in enumerate(JUMP_BANDS_HZ):
            sel = (f >= lo) & (f < hi)
            self._mono_bands[i].extend(np.sum(np.abs(mono[:, sel]) ** 2, axis=1))
        for i, (lo, hi) in enumerate(BANDS_HZ):
            sel = (f >= lo) & (f < hi)
            if w.shape[2] >= 2:
                a, b = spec[:, sel, 0], spec[:, sel, 1]
                self._bands[3 * i].extend(np.sum(np.abs(a) ** 2, axis=1))
                self._bands[3 * i + 1].extend(np.sum(np.abs(b) ** 2, axis=1))
                self._bands[3 * i + 2].extend(np.sum((a * np.conj(b)).real, axis=1))
        if w.shape[2] >= 2:
            lag = int(0.02 * self._rate)
            wide = np.fft.rfft(w[:, :, :2], n=2 * step, axis=1)
            xc = np.fft.irfft(wide[:, :, 0] * np.conj(wide[:, :, 1]), n=2 * step, axis=1)
            near = np.concatenate([xc[:, : lag + 1], xc[:, -lag:]], axis=1)
            self._broad[3].extend(np.abs(near).max(axis=1))
            self._broad[0].extend(np.sum(w[:, :, 0] ** 2, axis=1))
            self._broad[1].extend(np.sum(w[:, :, 1] ** 2, axis=1))
            self._broad[2].extend(np.sum(w[:, :, 0] * w[:, :, 1], axis=1))

    # ---- per-block values ---------------------------------------------------------------------
    def _times(self, n: int) -> np.ndarray:
        return (self._t0 or 0.0) + loudness.BLOCK_S * np.arange(n)

    def _block_lufs(self) -> np.ndarray:
        assert self._meter is not None
        return np.asarray(loudness.lufs(np.maximum(self._meter.blocks(), TINY)))

    def finish(self) -> list[Event]:
        if self._meter is None or not len(self._meter.blocks()):
            return []
        if self._identity is not None:
            self._identity.finish()
        events = self._loudness() + self._true_peak() + self._jumps()
        if self._meter.channels >= 2:
            events += self._missing() + self._inverted() + self._swaps()
        return sorted(events, key=lambda e: (e.start_s, e.type))

    def _loudness(self) -> list[Event]:
        p = self.params
        assert self._meter is not None
        if p.target_lufs is None:
            return []
        i = self._meter.integrated()
        if np.isfinite(i) and abs(i - p.target_lufs) <= p.tolerance_lu:
            return []
        st = self._meter.short_term()
        st = st[np.isfinite(st)]
        t = self._times(len(self._meter.blocks()))
        details = {
            "integrated_lufs": round(i, 2) if np.isfinite(i) else None,
            "target_lufs": p.target_lufs,
            "tolerance_lu": p.tolerance_lu,
            "short_term_max_lufs": round(float(st.max()), 2) if len(st) else None,
            "short_term_min_lufs": round(float(st.min()), 2) if len(st) else None,
            "loudness_range_lu": round(self._meter.loudness_range(), 2),
        }
        off = abs(i - p.target_lufs) - p.tolerance_lu if np.isfinite(i) else 10.0
        conf = float(np.clip(0.5 + off / 4, 0.5, 1.0))
        return [Event("audio_loudness", float(t[0]), float(t[-1]) + loudness.BLOCK_S, conf, self.name, details)]

    def _true_peak(self) -> list[Event]:
        p = self.params
        assert self._peak is not None
        peaks = self._peak.peaks()
        if not len(peaks):
            return []
        db = 20 * np.log10(np.maximum(peaks, 1e-9))
        over = db.max(axis=1) > p.max_true_peak_dbtp
        t = self._times(len(db))
        out = []
        for a, b in self._merge(_runs(over), gap=10):
            top = float(db[a:b].max())
            ch = int(np.argmax(db[a:b].max(axis=0)))
            details = {
                "true_peak_dbtp": round(top, 2),
                "limit_dbtp": p.max_true_peak_dbtp,
                "channel": NAMES[ch] if ch < len(NAMES) else ch,
                "blocks_over": int(over[a:b].sum()),
            }
            conf = float(np.clip(0.5 + (top - p.max_true_peak_dbtp) / 2, 0.5, 1.0))
            out.append(
                Event("audio_true_peak", float(t[a]), float(t[b - 1]) + loudness.BLOCK_S, conf, self.name, details)
            )
        return out

    @staticmethod
    def _merge(runs: list[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for a, b in runs:
            if out and a - out[-1][1] <= gap:
                out[-1] = (out[-1][0], b)
            else:
                out.append((a, b))
        return out

    # ---- level jumps ------------------------------------------------------------------------
    def jump_steps(self, flat_bands: bool = True) -> list[tuple[int, float, dict[str, Any]]]:
        """(block index, step dB, details) of each sudden, held, spectrally flat level step.

        Levels are medians of the 100 ms block levels over each span, so a loud syllable, a drum
        hit or a sync chirp does not move them, and a short pause does not either."""
        p = self.params
        assert self._meter is not None
        n = len(self._meter.blocks())
        hold, before = round(p.jump_hold_s / loudness.BLOCK_S), round(p.jump_before_s / loudness.BLOCK_S)
        near, h = max(1, round(p.jump_sudden_s / loudness.BLOCK_S)), max(1, hold // 2)
        if n < before + hold + 1:
            return []
        lv = self._block_lufs()
        bands = _db(np.stack([s.array()[:n] for s in self._mono_bands]))
        share = np.power(10, bands / 10)
        share /= np.maximum(share.sum(axis=0, keepdims=True), TINY)
        quiet = lv < p.programme_lufs - 10

        def med(x: np.ndarray, a: int, b: int) -> Any:
            return np.median(x[..., a:b], axis=-1)

        found = []
        for k in range(before + 1, n - hold + 1):
            pre, post = float(med(lv, k - 1 - before, k - 1)), float(med(lv, k, k + hold))
            step = post - pre
            if abs(step) < p.jump_db or min(pre, post) < p.programme_lufs:
                continue
            sign = np.sign(step)
            halves = [float(med(lv, k, k + h)) - pre, float(med(lv, k + hold - h, k + hold)) - pre]
            sudden = float(med(lv, k, k + near) - med(lv, k - 1 - near, k - 1))
            if min(halves[0] * sign, halves[1] * sign, sudden * sign) < 0.7 * abs(step):
                continue
            if quiet[k - 1 - before : k + hold].mean() > 0.2:
                continue  # pauses or silence on either side: not a gain change of the programme
            used = (med(share, k - 1 - before, k - 1) >= 0.01) & (med(share, k, k + hold) >= 0.01)
            band_steps = med(bands[used], k, k + hold) - med(bands[used], k - 1 - before, k - 1)
            spread = float(band_steps.max() - band_steps.min()) if len(band_steps) >= 2 else 0.0
            if flat_bands and (spread > p.jump_band_spread_db or len(band_steps) < 3):
                continue
            details = {
                "step_db": round(step, 2),
                "before_lufs": round(pre, 2),
                "after_lufs": round(post, 2),
                "band_steps_db": [round(float(x), 1) for x in band_steps],
            }
            found.append((k, step, details))
        # one step per jump: the largest within the hold span
        out: list[tuple[int, float, dict[str, Any]]] = []
        for f in found:
            if out and f[0] - out[-1][0] <= hold:
                if abs(f[1]) > abs(out[-1][1]):
                    out[-1] = f
            else:
                out.append(f)
        return out

    def _jumps(self) -> list[Event]:
        steps = self.jump_steps()
        if not steps:
            return []
        # the way back need not be flat across bands: a jump up may have clipped the programme
        backs = self.jump_steps(flat_bands=False)
        assert self._meter is not None
        t = self._times(len(self._meter.blocks()) + 1)
        out, i = [], 0
        while i < len(steps):
            k, step, d = steps[i]
            end_k = len(t) - 1
            back = None
            # the level going back by about the same amount ends the jump
            for b in backs:
                if b[0] > k and np.sign(b[1]) != np.sign(step):
                    if abs(abs(b[1]) - abs(step)) <= max(3.0, 0.3 * abs(step)):
                        back = b
                        end_k = b[0] - 1
                    break
            details = {**d, "direction": "up" if step > 0 else "down"}
            if back is not None:
                details["back_step_db"] = back[2]["step_db"]
            conf = float(np.clip(0.5 + (abs(step) - self.params.jump_db) / 12, 0.5, 1.0))
            # the step lies in block k - 1 (the one between the two spans)
            out.append(Event("audio_level_jump", float(t[k - 1]), float(t[end_k]), conf, self.name, details))
            i += 1
            hold = round(self.params.jump_hold_s / loudness.BLOCK_S)
            while back is not None and i < len(steps) and steps[i][0] <= back[0] + hold:
                i += 1
        return out

    # ---- channel faults ---------------------------------------------------------------------
    def channel_levels(self) -> np.ndarray:
        """(blocks, channels): each channel's K-weighted level per 100 ms (LUFS of that channel)."""
        assert self._meter is not None
        return np.asarray(loudness.lufs(np.maximum(self._meter.channel_blocks(), TINY)))

    def _missing(self) -> list[Event]:
        p = self.params
        lv = self.channel_levels()
        t = self._times(len(lv) + 1)
        need = max(1, round(p.missing_min_s / loudness.BLOCK_S))
        out = []
        top = lv.max(axis=1)
        for c in range(lv.shape[1]):
            others = np.delete(lv, c, axis=1).max(axis=1)
            flag = (lv[:, c] - others <= p.missing_db) & (others >= p.programme_lufs)
            present = (lv[:, c] - others > p.missing_db + 20) & (lv[:, c] >= p.programme_lufs)
            for a, b in _spans(flag, present):
                if b - a < need:
                    continue
                gap = float(np.median(lv[a:b, c] - top[a:b]))
                details = {
                    "channel": NAMES[c] if c < len(NAMES) else c,
                    "channel_index": c,
                    "below_other_db": round(max(gap, -120.0), 1),
                    "other_level_lufs": round(float(np.median(others[a:b])), 1),
                }
                out.append(Event("audio_channel_missing", float(t[a]), float(t[b]), 0.95, self.name, details))
        return out

    def correlation(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Over each 1 s window (start times, broadband L/R correlation, per-band correlations
        (windows, bands) with NaN where a band carries under 1 % of the energy)."""
        ll, rr, lr = (s.array() for s in self._broad[:3])
        w = round(1.0 / loudness.BLOCK_S)
        if len(ll) < w:
            return np.zeros(0), np.zeros(0), np.zeros((0, len(BANDS_HZ)))

        def win(x: np.ndarray) -> np.ndarray:
            c = np.concatenate([[0.0], np.cumsum(x)])
            return c[w:] - c[:-w]

        L, R, X = win(ll), win(rr), win(lr)
        rho = X / np.sqrt(np.maximum(L * R, TINY))
        nb = len(BANDS_HZ)
        bl = np.stack([win(self._bands[3 * i].array()) for i in range(nb)], axis=1)
        br = np.stack([win(self._bands[3 * i + 1].array()) for i in range(nb)], axis=1)
        bx = np.stack([win(self._bands[3 * i + 2].array()) for i in range(nb)], axis=1)
        band = bx / np.sqrt(np.maximum(bl * br, TINY))
        share = (bl + br) / np.maximum((bl + br).sum(axis=1, keepdims=True), TINY)
        band[share < 0.01] = np.nan
        return self._times(len(rho)), rho, band

    def _inverted(self) -> list[Event]:
        p = self.params
        t, rho, band = self.correlation()
        if not len(t):
            return []
        lv = self.channel_levels()
        w = round(1.0 / loudness.BLOCK_S)
        c = np.concatenate([np.zeros((1, 2)), np.cumsum(np.power(10, lv[:, :2] / 10), axis=0)])
        win_lv = _db((c[w:] - c[:-w]) / w)
        programme = win_lv.max(axis=1) >= p.programme_lufs
        balanced = np.abs(win_lv[:, 0] - win_lv[:, 1]) <= p.inverted_balance_db
        judged = (~np.isnan(band)).sum(axis=1)
        bands_neg = np.all(np.isnan(band) | (band < p.inverted_band_corr), axis=1) & (judged >= 2)
        c3 = np.concatenate([[0.0], np.cumsum(self._broad[3].array())])
        c2 = np.concatenate([[0.0], np.cumsum(self._broad[2].array())])
        lag0 = np.abs(c2[w:] - c2[:-w]) / np.maximum(c3[w:] - c3[:-w], TINY)
        flag = (rho < p.inverted_corr) & bands_neg & programme & balanced & (lag0 >= p.inverted_lag0_share)
        present = (rho > -p.inverted_corr) & programme
        out = []
        for a, b in _spans(flag, present):
            start, end = float(t[a]), float(t[b - 1]) + 1.0
            if end - start < p.inverted_min_s - 1e-6:
                continue
            details: dict[str, Any] = {
                "correlation": round(float(np.median(rho[a:b])), 3),
                "band_correlation": [
                    None if np.all(np.isnan(col)) else round(float(np.nanmedian(col)), 2) for col in band[a:b].T
                ],
            }
            ch = self._inverted_channel(start, end)
            if ch is not None:
                details["channel"], details["channel_index"] = NAMES[ch], ch
            conf = float(np.clip(-np.median(rho[a:b]), 0.5, 1.0))
            out.append(Event("audio_phase_inverted", start, end, conf, self.name, details))
        return out

    def _inverted_channel(self, start: float, end: float) -> int | None:
        """On reference titles: the channel whose chirps came out negated within [start, end)."""
        marks = [m for m in self.identity_marks() if start <= m.t_s < end]
        votes = [int(np.argmin(m.chirp)) for m in marks if min(m.chirp) < -0.5 and max(m.chirp) > 0.5]
        return max(set(votes), key=votes.count) if votes else None

    # ---- swapped channels (reference titles) -------------------------------------------------
    def identity_marks(self) -> list[IdentityMark]:
        return self._identity.marks if self._identity is not None else []

    def _balance(self) -> np.ndarray:
        lv = self.channel_levels()
        b = lv[:, 0] - lv[:, 1]
        quiet = lv[:, :2].max(axis=1) < self.params.programme_lufs
        return np.where(quiet, 0.0, np.clip(b, -20, 20))

    def _change(self, a_s: float, b_s: float, into_swap: bool) -> float:
        """The time within [a_s, b_s] where the balance flips sign (the swap's edge): the split that
        best separates left-heavy blocks (the title's own tilt) from right-heavy ones."""
        bal = self._balance()
        t = self._times(len(bal))
        sel = np.flatnonzero((t >= a_s) & (t < b_s))
        if not len(sel):
            return a_s
        x = bal[sel] if into_swap else -bal[sel]
        c = np.concatenate([[0.0], np.cumsum(x)])
        score = c - (c[-1] - c)  # split j: blocks before j keep the tilt, those after are flipped
        j = int(np.argmax(score))
        return float(t[sel[j]]) if j < len(sel) else float(b_s)

    def _swaps(self) -> list[Event]:
        marks = self.identity_marks()
        assert self._meter is not None
        t_end = float(self._times(len(self._meter.blocks()) + 1)[-1])
        t_start = float(self._t0 or 0.0)
        out = []
        i = 0
        while i < len(marks):
            if marks[i].state != "swapped":
                i += 1
                continue
            j = i
            while j + 1 < len(marks) and marks[j + 1].state == "swapped":
                j += 1
            prev = marks[i - 1].t_s if i > 0 else t_start
            nxt = marks[j + 1].t_s if j + 1 < len(marks) else t_end
            start = self._change(prev, marks[i].t_s + 0.05, into_swap=True)
            end = self._change(marks[j].t_s, nxt, into_swap=False)
            details = {
                "marks_swapped": j - i + 1,
                "first_swapped_mark_s": round(marks[i].t_s, 3),
                "last_swapped_mark_s": round(marks[j].t_s, 3),
                "last_normal_mark_s": round(prev, 3) if i > 0 else None,
                "next_normal_mark_s": round(nxt, 3) if j + 1 < len(marks) else None,
                "expected_tilt_db": IDENTITY_TILT_DB,
                "balance_db": round(float(np.median(self._balance()[self._block_range(start, end)])), 1),
                "tones_db": [list(map(lambda v: round(v, 1), ch)) for ch in marks[i].tones_db],
            }
            out.append(Event("audio_channel_swap", start, max(end, start + loudness.BLOCK_S), 0.99, self.name, details))
            i = j + 1
        return out

    def _block_range(self, a_s: float, b_s: float) -> slice:
        t0 = self._t0 or 0.0
        a = max(0, int(round((a_s - t0) / loudness.BLOCK_S)))
        b = max(a + 1, int(round((b_s - t0) / loudness.BLOCK_S)))
        return slice(a, b)

    def signals(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        if self._meter is None or len(self._meter.blocks()) < 30:
            return {}
        st = self._meter.short_term()
        t = self._times(len(self._meter.blocks()) + 1)[30:]
        out = {"short-term loudness LUFS": (t[: len(st)], np.maximum(st, -80.0))}
        if self._meter.channels >= 2:
            tc, rho, _ = self.correlation()
            out["L/R correlation"] = (tc, rho)
        return out
