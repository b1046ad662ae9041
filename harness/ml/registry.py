"""Model registry: model cards (`models/<name>.json`, rendered to `models/<name>.md`) and the checks
that a card's ONNX file is the one it was written for.

A card is the model's provenance: what it does, its tensors, how frames are prepared, the decision
thresholds, how it was trained (command, seed, data recipe and digest) and its metrics. Its sha256
and size are computed from the ONNX file by `write_card`, never typed by hand; `verify` refuses a
file whose sha256 differs, with one line naming the file and the command that rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
_REPO = MODELS_DIR.parent

Status = Literal["ok", "missing", "altered"]


class ModelError(Exception):
    """A model that cannot be used: the message is one line naming the file and how to rebuild it."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))

    @classmethod
    def for_file(cls, path: Path, problem: str, name: str, card: ModelCard | None = None) -> ModelError:
        """`<path>: <problem>; rebuild it with <command>`, the command from the card when there is one."""
        return cls(f"{_shown(path)}: {problem}; {_rebuild_hint(name, card, path)}")


class TensorSpec(BaseModel):
    """One input or output of the graph; string dims are symbolic (batch "N", "H", "W")."""

    model_config = ConfigDict(extra="forbid")

    name: str
    shape: list[int | str]
    dtype: str
    description: str = ""


class Training(BaseModel):
    """How the ONNX file was produced, so that anyone can produce it again."""

    model_config = ConfigDict(extra="forbid")

    command: str
    size: Literal["quick", "full"]
    seed: int
    time_s: float
    device: str
    torch_version: str
    data_recipe: str
    data_digest: str
    samples: dict[str, int] = Field(default_factory=dict)


class ModelCard(BaseModel):
    """A model's card. `file` defaults to `<name>.onnx`; `sha256` and `size_bytes` are filled in by
    `write_card` from the file itself."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: str
    task: str
    file: str = ""
    sha256: str = Field(default="", pattern=r"^([0-9a-f]{64})?$")
    size_bytes: int = Field(default=0, ge=0)
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    preprocessing: dict[str, Any] = Field(default_factory=dict)
    decision: dict[str, Any] = Field(default_factory=dict)
    training: Training
    metrics: dict[str, Any] = Field(default_factory=dict)
    license: str
    notes: str = ""
    created: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}")

    @model_validator(mode="after")
    def _default_file(self) -> ModelCard:
        if not self.file:
            self.file = f"{self.name}.onnx"
        return self


def resolve_models_dir(models_dir: Path | str | None = None) -> Path:
    """The models folder: the argument, else `$VQA_MODELS_DIR`, else the repository's `models/`."""
    if models_dir is not None:
        return Path(models_dir)
    env = os.environ.get("VQA_MODELS_DIR")
    return Path(env) if env else MODELS_DIR


def _shown(path: Path) -> str:
    """A path as a person would type it: relative to the working directory when under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _rebuild_hint(name: str, card: ModelCard | None, path: Path) -> str:
    """`rebuild it with <command>`, plus `git checkout` when the file is the repository's own."""
    command = card.training.command if card is not None and card.training.command else ""
    hint = f"rebuild it with `{command or 'vqa train ' + name.replace('_', '-') + ' --size full'}`"
    try:
        tracked = path.resolve().relative_to(_REPO.resolve())
    except ValueError:
        return hint
    return f"{hint} or restore it with `git checkout -- {tracked.as_posix()}`"


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def card_path(name: str, models_dir: Path | str | None = None) -> Path:
    """Where the card of model `name` lives."""
    return resolve_models_dir(models_dir) / f"{name}.json"


def model_file(card: ModelCard, models_dir: Path | str | None = None) -> Path:
    """Where the card's ONNX file lives (`file` is relative to the card)."""
    return resolve_models_dir(models_dir) / card.file


def card_names(models_dir: Path | str | None = None) -> list[str]:
    """Names of the cards in the folder (every `*.json`), sorted; none when the folder is absent."""
    d = resolve_models_dir(models_dir)
    return sorted(p.stem for p in d.glob("*.json")) if d.is_dir() else []


def load_card(name: str, models_dir: Path | str | None = None) -> ModelCard:
    """The card `<name>.json`, or ModelError for a missing or unreadable card."""
    path = card_path(name, models_dir)
    if not path.is_file():
        known = ", ".join(card_names(models_dir)) or "none"
        raise ModelError.for_file(path, f"no model card named {name!r} (cards there: {known})", name, None)
    try:
        card = ModelCard.model_validate(json.loads(path.read_text()))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValidationError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ModelError.for_file(path, f"unreadable model card ({first})", name, None) from None
    if card.name != name:
        raise ModelError.for_file(path, f"card names model {card.name!r}, not {name!r}", name, card)
    if not card.sha256:
        raise ModelError.for_file(path, "card has no sha256 (cards are written by write_card, not by hand)", name, card)
    return card


def list_cards(models_dir: Path | str | None = None) -> list[ModelCard]:
    """Every card in the folder, by name; ModelError at the first unreadable one."""
    return [load_card(n, models_dir) for n in card_names(models_dir)]


def verify(card: ModelCard, models_dir: Path | str | None = None) -> Path:
    """The card's ONNX file, after checking that it exists and has the card's sha256."""
    path = model_file(card, models_dir)
    if not path.is_file():
        raise ModelError.for_file(path, f"missing (named by {card.name}.json)", card.name, card)
    actual = file_sha256(path)
    if actual != card.sha256:
        problem = (
            f"sha256 mismatch (card says {card.sha256[:8]}..., file is {actual[:8]}...): "
            "the file was altered or truncated"
        )
        raise ModelError.for_file(path, problem, card.name, card)
    return path


def status(card: ModelCard, models_dir: Path | str | None = None) -> Status:
    """ "ok" when the ONNX file matches the card, "missing" when absent, "altered" when its sha256 differs."""
    path = model_file(card, models_dir)
    if not path.is_file():
        return "missing"
    return "ok" if file_sha256(path) == card.sha256 else "altered"


def write_card(card: ModelCard, onnx_path: Path | str, models_dir: Path | str | None = None) -> ModelCard:
    """Fill in file, sha256 and size from the ONNX file (which must lie in the models folder), write
    `<name>.json` and `<name>.md` there, and return the completed card."""
    d = resolve_models_dir(models_dir)
    src = Path(onnx_path)
    try:
        rel = src.resolve().relative_to(d.resolve())
    except ValueError:
        raise ValueError(f"{src}: the ONNX file must lie in the models folder {d}") from None
    done = card.model_copy(
        update={"file": rel.as_posix(), "sha256": file_sha256(src), "size_bytes": src.stat().st_size}
    )
    done = ModelCard.model_validate(done.model_dump())
    (d / f"{done.name}.json").write_text(json.dumps(done.model_dump(mode="json"), indent=2) + "\n")
    (d / f"{done.name}.md").write_text(render_card_markdown(done))
    return done


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text.replace("|", "\\|").replace("\n", " ")


def _flatten(prefix: tuple[str, ...], value: Any, out: list[tuple[tuple[str, ...], Any]]) -> None:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _flatten((*prefix, str(k)), v, out)
    else:
        out.append((prefix, value))


def _metrics_table(metrics: dict[str, Any]) -> list[str]:
    """Nested metrics as one table: a row per path to the leaves (source / severity), a column per leaf name."""
    leaves: list[tuple[tuple[str, ...], Any]] = []
    _flatten((), metrics, leaves)
    rows: dict[str, dict[str, Any]] = {}
    columns: list[str] = []
    for path, value in leaves:
        row, col = (" / ".join(path[:-1]), path[-1]) if len(path) > 1 else (path[0], "value")
        rows.setdefault(row, {})[col] = value
        if col not in columns:
            columns.append(col)
    lines = ["| | " + " | ".join(columns) + " |", "| --- |" + " --- |" * len(columns)]
    for row, cells in rows.items():
        lines.append(f"| {_cell(row)} | " + " | ".join(_cell(cells[c]) if c in cells else "" for c in columns) + " |")
    return lines


def render_card_markdown(card: ModelCard) -> str:
    """The card as Markdown: every field in a table, the tensors and the metrics as tables of their own."""
    t = card.training
    fields: list[tuple[str, Any]] = [
        ("name", card.name),
        ("version", card.version),
        ("task", card.task),
        ("file", f"`{card.file}`"),
        ("sha256", f"`{card.sha256}`"),
        ("size", f"{card.size_bytes} bytes ({card.size_bytes / 1e6:.2f} MB)"),
        ("created", card.created),
        ("license", card.license),
        ("preprocessing", card.preprocessing),
        ("decision", card.decision),
        ("training command", f"`{t.command}`"),
        ("training size", t.size),
        ("training seed", t.seed),
        ("training time", f"{t.time_s:.1f} s"),
        ("training device", t.device),
        ("torch version", t.torch_version),
        ("data recipe", t.data_recipe),
        ("data digest", f"`{t.data_digest}`"),
        ("samples", t.samples),
    ]
    lines = [
        f"# Model card: {card.name} {card.version}",
        "",
        f"Rendered from `{card.name}.json` by `harness.ml.registry`; edit the JSON, not this file.",
        "",
        "| field | value |",
        "| --- | --- |",
        *(f"| {k} | {_cell(v)} |" for k, v in fields),
    ]
    for title, specs in (("Inputs", card.inputs), ("Outputs", card.outputs)):
        lines += ["", f"## {title}", "", "| name | shape | dtype | description |", "| --- | --- | --- | --- |"]
        lines += [f"| {s.name} | {_cell(s.shape)} | {s.dtype} | {_cell(s.description)} |" for s in specs]
    lines += ["", "## Metrics", ""]
    lines += _metrics_table(card.metrics) if card.metrics else ["none recorded"]
    if card.notes:
        lines += ["", "## Notes", "", card.notes]
    return "\n".join(lines) + "\n"
