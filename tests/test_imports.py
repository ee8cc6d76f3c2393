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
    assert "guide.models.folder" in graph["guide.models.hub"] and "guide.models.hub" in graph["guide"]  # the walk sees real imports
    found = cycles(graph)
    detail = "; ".join(" ".join(f"{m}->{sorted(graph[m] & set(c))}" for m in c) for c in found)
    assert not found, f"import cycles: {detail}"


def test_the_walk_finds_a_cycle_when_there_is_one() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# docs/architecture.md's layers, lowest first: one folder of guide/ each. A module imports from its own
# layer and the layers below it only. guide/moved.py (old names -> new) imports nothing of guide's;
# guide/__init__.py and guide/__main__.py (the package's front door and its command line) may import any layer.
LAYERS = ["core", "data", "text", "models", "dialogue", "serving", "annotation", "evaluation", "training", "ui"]
TOP = {"guide.__main__": len(LAYERS), "guide.moved": -1}


def layer(module: str) -> int | None:
    if module in TOP:
        return TOP[module]
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) >= 2 and parts[1] in LAYERS else None


def test_every_module_lives_in_a_layer_folder() -> None:
    loose = sorted(m for m in modules() if m != "guide" and layer(m) is None)
    assert not loose, f"modules outside the layer folders of docs/architecture.md: {loose}"


def test_the_old_module_names_still_import_as_the_moved_modules() -> None:
    import importlib

    from guide.moved import MOVED
    assert len(MOVED) > 40 and all(new in modules() for new in MOVED.values())
    for old in ("guide.session", "guide.conversation", "guide.hub", "guide.text.queries"):
        assert importlib.import_module(old) is importlib.import_module(MOVED[old])
    from guide.conversation import Conversation
    from guide.dialogue.conversation import Conversation as Moved
    assert Conversation is Moved


def test_imports_go_down_the_layers() -> None:
    known = modules()
    upward = sorted((m, t) for m, p in known.items() if m != "guide" for t in imports(m, p, known)
                    if t != "guide" and layer(t) > layer(m))
    assert not upward, f"imports up the layers (docs/architecture.md): {upward}"
