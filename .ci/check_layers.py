"""Import rules of the code base (README, "Layout"): no module imports one of a higher layer, and
no import circle between modules. Every import counts, including those inside functions and under
TYPE_CHECKING. Exit 1 with one line per broken rule."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Lowest first. A module may import its own package and anything below; packages that share a layer
# may not import each other (the top-level modules of the first layer may).
LAYERS: list[list[str]] = [
    ["harness", "harness.config", "harness.events", "harness.media"],
    ["harness.measure"],
    ["harness.ml"],
    ["harness.reference", "harness.detectors", "harness.impairments"],
    ["harness.analysis"],
    ["harness.capture"],
    ["devices", "harness.report"],
    ["harness.bench"],
    ["harness.train"],
    ["harness.suite"],
    ["harness.farm"],
    ["harness.cli"],
]


def unit(module: str) -> str:
    """The layer entry a module belongs to: the longest listed prefix."""
    best = ""
    for layer in LAYERS:
        for u in layer:
            if (module == u or module.startswith(u + ".")) and len(u) > len(best):
                best = u
    return best


def level(u: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if u in layer)


def modules() -> dict[str, Path]:
    out = {}
    for top in ("harness", "devices"):
        for p in sorted((ROOT / top).rglob("*.py")):
            parts = list(p.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = p
    return out


def imports(path: Path, name: str, known: dict[str, Path]) -> set[str]:
    found: set[str] = set()
    pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = pkg.rsplit(".", node.level - 1)[0] if node.level > 1 else pkg
                base = f"{anchor}.{base}" if base else anchor
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name:
                found.add(t)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    known = modules()
    graph = {m: imports(p, m, known) for m, p in known.items()}
    problems = []
    for m, deps in sorted(graph.items()):
        um = unit(m)
        if not um:
            problems.append(f"{m}: not in any layer of .ci/check_layers.py")
            continue
        for d in sorted(deps):
            ud = unit(d)
            if ud == um or level(ud) == level(um) == 0:
                continue
            if level(ud) >= level(um):
                problems.append(f"{m} imports {d}: {ud} is not below {um}")
    # the package root re-exports events; its submodules importing `harness` for __version__ is no circle
    pruned = {m: {d for d in deps if d != "harness"} for m, deps in graph.items()}
    for comp in cycles(pruned):
        problems.append("import circle: " + " -> ".join(comp))
    for p in problems:
        print(p)
    n = sum(len(d) for d in graph.values())
    print(f"{len(known)} modules, {n} imports: " + ("rules broken" if problems else "layers hold, no circle"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
