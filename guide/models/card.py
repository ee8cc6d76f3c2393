"""Model cards: the README.md of a model folder (Hub metadata + what a person needs to use it)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from guide.core.guided import ModelConfig
from guide.models.folder import CARD_NAME


def _table(rows: Sequence[Sequence[str]]) -> str:
    head, *body = [[str(c) for c in r] for r in rows]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])


def model_card(
    config: ModelConfig,
    *,
    title: str,
    license: str,
    summary: str,
    metrics_table: Sequence[Sequence[str]] = (),
    command: str = "",
    links: dict[str, str] | None = None,
) -> str:
    """The card as Markdown with Hub front matter (licence, library, task)."""
    side = "shorter" if config.resize == "shorter" else "longer"
    cap = f", longer side at most {config.max_side} px" if config.max_side else ""
    text_guide = (
        "This folder includes a text guide: typed hints work."
        if config.text_guide is not None
        else "This folder has **no text guide** yet: clicks / strokes, *Ask me* (twenty questions) and export work, "
        "typed hints are not read. Train one with `python -m guide train-guide --model FOLDER --data voc "
        "--root VOCdevkit/VOC2012 --split train --out FOLDER`."
    )
    parts = [
        "---",
        f"license: {license}",
        "library_name: guide-me",
        "pipeline_tag: image-segmentation",
        "tags: [semantic-segmentation, interactive-segmentation, guide-me]",
        "---",
        "",
        f"# {title}",
        "",
        summary,
        "",
        "## Use",
        "",
        "```python",
        "from guide import GuideSession, load_model",
        'model = load_model("OWNER/NAME@REVISION")   # or the path of this folder',
        "session = GuideSession(model)",
        "```",
        "",
        f"or `GUIDE_MODEL=OWNER/NAME@REVISION python app.py`. {text_guide}",
        "",
        "## Model",
        "",
        _table(
            [
                ("architecture", "classes", "input", "guided at", "trained on"),
                (
                    f"`{config.arch}`",
                    str(config.num_classes),
                    f"{side} side {config.input_size} px{cap}, mean {config.mean}, std {config.std}",
                    f"`{config.split_layer}`",
                    config.domain or "not stated",
                ),
            ]
        ),
        "",
        "Classes (index: name): " + ", ".join(f"{i}: {c}" for i, c in enumerate(config.classes)) + ".",
        "",
    ]
    if metrics_table:
        parts += ["## Reported results", "", _table(metrics_table), ""]
    if command:
        parts += ["## How this folder was made", "", "```bash", command, "```", ""]
    if links:
        parts += [f"- {k}: {v}" for k, v in links.items() if v] + [""]
    return "\n".join(parts)


def write_model_card(folder: str | Path, config: ModelConfig, **fields) -> Path:
    """Write ``model_card(config, **fields)`` to ``folder/README.md``; returns its path."""
    path = Path(folder) / CARD_NAME
    path.write_text(model_card(config, **fields))
    return path
