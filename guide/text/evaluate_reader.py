"""Score the hint reader: ``python -m guide evaluate reader`` (issue 14).

The reader (:func:`guide.text.understand.interpret`) says what a hint asks: operation,
class and place. It is what the reply reports and what ``GuideSession.add_text``'s
take-back check uses. Scored on every frame x place phrase x class of a phrasebook
(default: the held-out one, ``guide/text/heldout.py``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from guide.hints import OPERATIONS
from guide.text.evaluate import PHRASINGS, phrasebook


def canonical_places(grid: int = 3) -> list[tuple[tuple[int, ...], str]]:
    """One cell set per canonical place phrase: the 9 single cells' phrases, the sides, the middle
    and no place (``spatial_phrase`` of those cells)."""
    from guide.text.queries import spatial_phrase

    cell_sets = [(c,) for c in range(grid * grid)] + [()]
    out: dict[str, tuple[int, ...]] = {}
    for cells in cell_sets:
        out.setdefault(spatial_phrase(cells, grid), cells)
    return [(cells, where) for where, cells in out.items()]


def reader_accuracy(classes: Sequence[str], phrasings: str = "heldout", vectors: Any = None) -> dict[str, Any]:
    """How often :func:`guide.text.understand.interpret` reads a phrasebook's hints right.

    Every frame of both operations x every place phrase of every canonical place x every
    class. Place: the canonical phrase ("" and "everywhere" both mean no place). Returns
    accuracies of op, class, place and all three, overall and per operation, plus the misses
    (first 40)."""
    from guide.text.templates import article, place_kind, place_phrase
    from guide.text.tokenizer import tokenize
    from guide.text.understand import interpret
    from guide.text.vectors import load_vectors

    vectors = vectors if vectors is not None else load_vectors()
    book = phrasebook(phrasings)
    counts: dict[str, np.ndarray] = {}
    misses: list[dict[str, Any]] = []
    for op in OPERATIONS:
        hits = []
        for frame in book.frames(op):
            for _, where in canonical_places():
                kind_count = len(getattr(book, place_kind(where)[0]))
                for p in range(kind_count):
                    place = place_phrase(book, where, p)
                    for k, name in enumerate(classes):
                        text = " ".join(frame.format(c=name, a=article(name), w=place).split())
                        r = interpret(tokenize(text, vectors), classes, vectors)
                        got_place = "" if r.place == "everywhere" else r.place
                        row = (r.op == op, r.label == k, got_place == where)
                        hits.append(row)
                        if not all(row) and len(misses) < 40 and k == 0:
                            misses.append({"text": text, "op": op, "place": where,
                                           "read": [r.op, None if r.label is None else classes[r.label], r.place]})
        counts[op] = np.array(hits, dtype=bool)
    allhits = np.concatenate(list(counts.values()))

    def summary(a: np.ndarray) -> dict[str, float]:
        return {"op": float(a[:, 0].mean()), "class": float(a[:, 1].mean()), "place": float(a[:, 2].mean()),
                "all": float(a.all(1).mean()), "hints": int(len(a))}

    return {"phrasings": phrasings, "classes": len(classes), **summary(allhits),
            "per_op": {op: summary(a) for op, a in counts.items()}, "misses": misses}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m guide evaluate reader",
                                description="accuracy of the hint reader (operation, class, place) on a phrasebook")
    p.add_argument("--model", default=None, help="model folder whose class names to use (default: the embedded model)")
    p.add_argument("--phrasings", default="heldout", choices=list(PHRASINGS))
    p.add_argument("--json", default=None, help="write the report here")
    args = p.parse_args(argv)
    from guide.hub import load_model

    classes = list(load_model(args.model).classes)
    report = reader_accuracy(classes, args.phrasings)
    print(f"reader on {args.phrasings} phrasings ({report['hints']} hints, {report['classes']} classes): "
          f"op {100 * report['op']:.1f} %, class {100 * report['class']:.1f} %, place {100 * report['place']:.1f} %, "
          f"all three {100 * report['all']:.1f} %")
    for op, r in report["per_op"].items():
        print(f"  {op:7s} op {100 * r['op']:.1f} %, class {100 * r['class']:.1f} %, place {100 * r['place']:.1f} %, "
              f"all {100 * r['all']:.1f} % ({r['hints']} hints)")
    for m in report["misses"][:15]:
        print(f"  missed: {m['text']!r} ({m['op']}, {m['place'] or 'no place'}) read as {m['read']}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
