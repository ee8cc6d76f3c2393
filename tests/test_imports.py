"""The package's layers import only downward: no import cycle among guide's modules, counting
imports inside functions too (a lazy import hides a cycle from Python, not from a reader).
Imports under ``if TYPE_CHECKING:`` are type hints only and do not count."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def modules() -> dict[str, Path]:
    found = {}
    for path in (ROOT / "guide").rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The guide modules ``name`` imports anywhere but under ``if TYPE_CHECKING:``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                   for stmt in node.body for n in ast.walk(stmt)}
    out = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                out.add(full if full in known else base)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return {m for m in out if m in known and m != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_guide_has_no_import_cycles() -> None:
    known = modules()
    graph = {name: imports(name, path, known) for name, path in known.items()}
    assert "guide.folder" in graph["guide.hub"] and "guide.hub" in graph["guide"]  # the walk sees real imports
    found = cycles(graph)
    detail = "; ".join(" ".join(f"{m}->{sorted(graph[m] & set(c))}" for m in c) for c in found)
    assert not found, f"import cycles: {detail}"


def test_the_walk_finds_a_cycle_when_there_is_one() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# docs/architecture.md's layers, top first: a module imports from its own layer and those above it only.
LAYERS = [
    {"errors", "online", "labels", "hints", "classnames", "export"},
    {"block", "split", "backprop", "pointtail", "questions", "model", "models", "metrics"},
    {"settings"},
    {"data"},
    {"folder", "hub", "pretrained", "card", "domain"},
    {"text"},
    {"session", "conversation", "cost", "tools", "suggest", "carry"},
    {"pool", "uivalues", "render", "gradio_cache", "space"},
    {"dataset", "batch", "annotate", "store", "tabstore", "hubpush"},
    {"evaluate", "clicks", "annotators", "bench", "train", "trainstate", "teach", "__main__", "text.evaluate",
     "text.evaluate_reader", "text.train"},
    {"ui"},
]
ALLOWED_UPWARD = {("guide.hub", "guide.text.encoder")}  # a model folder's text guide is built when it has one


def layer(module: str) -> int | None:
    parts = module.split(".")[1:]
    for depth in (2, 1):
        name = ".".join(parts[:depth])
        for k, members in enumerate(LAYERS):
            if name in members:
                return k
    return None


def test_imports_go_down_the_layers() -> None:
    known = modules()
    unplaced = sorted(m for m in known if m != "guide" and layer(m) is None)
    assert not unplaced, f"modules in no layer of docs/architecture.md: {unplaced}"
    upward = sorted((m, t) for m, p in known.items() if m != "guide" for t in imports(m, p, known)
                    if t != "guide" and layer(t) > layer(m) and (m, t) not in ALLOWED_UPWARD)
    assert not upward, f"imports up the layers (docs/architecture.md): {upward}"
