"""IR code sets (`devices/codesets/*.yaml`): one IR signal per key, in Pronto hex or raw timings.

Both formats end up as what a Global Caché `sendir` needs: a carrier frequency in Hz, the on/off
durations in carrier periods, and the 1-based offset where the repeat part of the signal starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

CODESET_DIR = Path(__file__).resolve().parent / "codesets"

# A Pronto frequency word counts units of 0.241246 µs (the Pronto's 4.145152 MHz clock).
PRONTO_CLOCK_US = 0.241246


class CodesetError(Exception):
    """A code set file is missing or invalid; the message names the file and the problem."""


@dataclass(frozen=True)
class IrSignal:
    """One IR signal as `sendir` wants it: carrier Hz, on/off counts in carrier periods, repeat offset."""

    frequency_hz: int
    timings: tuple[int, ...]
    repeat_offset: int = 1


def pronto_to_signal(pronto: str) -> IrSignal:
    """Convert learned Pronto hex (`0000 FREQ N1 N2 burst-pairs...`) into a sendir signal.

    Pronto durations are already in carrier periods, so they pass through unchanged; the
    frequency is 1000000 / (word * 0.241246) Hz; the repeat part (N2 pairs) starts at word
    2*N1 + 1 of the timings, which is sendir's offset when there is a once part.
    """
    try:
        words = [int(w, 16) for w in pronto.split()]
    except ValueError:
        raise ValueError(f"Pronto code has a word that is not 4-digit hex: {pronto!r}") from None
    if len(words) < 6:
        raise ValueError("Pronto code is too short (needs 0000 FREQ N1 N2 and at least one burst pair)")
    kind, freq_word, n_once, n_repeat = words[:4]
    if kind != 0x0000:
        raise ValueError(f"only learned (raw, 0000) Pronto codes are supported, not type {kind:04X}")
    if freq_word == 0:
        raise ValueError("Pronto frequency word is 0")
    body = words[4:]
    if len(body) != 2 * (n_once + n_repeat):
        raise ValueError(
            f"Pronto code announces {n_once}+{n_repeat} burst pairs ({2 * (n_once + n_repeat)} words) "
            f"but has {len(body)} words"
        )
    if any(w == 0 for w in body):
        raise ValueError("Pronto code has a zero-length burst")
    frequency = round(1_000_000 / (freq_word * PRONTO_CLOCK_US))
    offset = 2 * n_once + 1 if n_once and n_repeat else 1
    return IrSignal(frequency, tuple(body), offset)


class RawCode(BaseModel):
    """A signal in sendir's own terms: carrier frequency and on/off durations in carrier periods."""

    model_config = ConfigDict(extra="forbid")
    frequency: int = Field(ge=15_000, le=500_000, description="carrier frequency in Hz")
    timings: list[int] = Field(min_length=2, description="on, off, on, off ... in carrier periods")
    repeat_offset: int = Field(1, ge=1, description="1-based index of the first timing repeated")

    @model_validator(mode="after")
    def _pairs(self) -> RawCode:
        if len(self.timings) % 2:
            raise ValueError("timings must be on/off pairs (an even count)")
        if any(t <= 0 for t in self.timings):
            raise ValueError("timings must be positive")
        if self.repeat_offset > len(self.timings) or self.repeat_offset % 2 == 0:
            raise ValueError("repeat_offset must be odd (an 'on' duration) and within the timings")
        return self


class KeyCode(BaseModel):
    """One key's signal: exactly one of `pronto` (hex words) or `raw`."""

    model_config = ConfigDict(extra="forbid")
    pronto: str | None = None
    raw: RawCode | None = None

    @model_validator(mode="after")
    def _one(self) -> KeyCode:
        if (self.pronto is None) == (self.raw is None):
            raise ValueError("give exactly one of 'pronto' or 'raw'")
        if self.pronto is not None:
            pronto_to_signal(self.pronto)  # raises ValueError with the reason
        return self

    def signal(self) -> IrSignal:
        if self.pronto is not None:
            return pronto_to_signal(self.pronto)
        assert self.raw is not None
        return IrSignal(self.raw.frequency, tuple(self.raw.timings), self.raw.repeat_offset)


class Codeset(BaseModel):
    """A device family's IR codes, keyed by the harness's key names."""

    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    repeat: int = Field(1, ge=1, le=50, description="sendir repeat count: how many times the signal is sent")
    keys: dict[str, KeyCode]

    def signals(self) -> dict[str, IrSignal]:
        return {k: v.signal() for k, v in self.keys.items()}


def available_codesets(directory: Path = CODESET_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.yaml"))


def load_codeset(name: str, directory: Path = CODESET_DIR) -> Codeset:
    """Load and validate `<directory>/<name>.yaml`; CodesetError names the file and the problem."""
    path = directory / f"{name}.yaml"
    if not name or "/" in name or not path.is_file():
        raise CodesetError(f"no IR code set {name!r} in {directory} (available: {', '.join(available_codesets())})")
    try:
        raw = yaml.safe_load(path.read_text())
        return Codeset.model_validate(raw)
    except yaml.YAMLError as e:
        raise CodesetError(f"IR code set {path} is not valid YAML: {e}".replace("\n", " ")) from None
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise CodesetError(f"IR code set {path} is invalid at {where}: {first['msg']}") from None
