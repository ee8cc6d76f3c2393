"""pyproject.toml (``pip install -e .``) names what exists: the command's entry point, the app's static
files, and requirements.txt as the one list of dependencies."""

from __future__ import annotations

from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent


def test_pyproject_points_at_what_exists() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    module, _, func = project["project"]["scripts"]["guide"].partition(":")
    import importlib

    assert callable(getattr(importlib.import_module(module), func))
    assert project["tool"]["setuptools"]["dynamic"]["dependencies"]["file"] == ["requirements.txt"]
    static = project["tool"]["setuptools"]["package-data"]["guide.ui"]
    shipped = {p.name for pattern in static for p in (ROOT / "guide" / "ui").glob(pattern)}
    assert {"app.css", "opacity.js", "shortcuts.js"} <= shipped
