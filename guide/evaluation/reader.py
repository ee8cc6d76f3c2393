"""Score the hint reader: ``python -m guide evaluate reader``.

The reader (:func:`guide.text.reader.interpret`) says what a hint asks: operation,
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

from guide.core.hints import FIND, OPERATIONS, REMOVE
from guide.evaluation.text import PHRASINGS, phrasebook


def canonical_places(grid: int = 3) -> list[tuple[tuple[int, ...], str]]:
    """One cell set per canonical place phrase: the 9 single cells' phrases, the sides, the middle
    and no place (``spatial_phrase`` of those cells)."""
    from guide.text.generator import spatial_phrase

    cell_sets = [(c,) for c in range(grid * grid)] + [()]
    out: dict[str, tuple[int, ...]] = {}
    for cells in cell_sets:
        out.setdefault(spatial_phrase(cells, grid), cells)
    return [(cells, where) for where, cells in out.items()]


def reader_accuracy(classes: Sequence[str], phrasings: str = "heldout", vectors: Any = None) -> dict[str, Any]:
    """How often :func:`guide.text.reader.interpret` reads a phrasebook's hints right.

    Every frame of both operations x every place phrase of every canonical place x every
    class. Place: the canonical phrase ("" and "everywhere" both mean no place). Returns
    accuracies of op, class, place and all three, overall and per operation, plus the misses
    (first 40)."""
    from guide.text.reader import interpret
    from guide.text.templates import article, place_kind, place_phrase
    from guide.text.tokenizer import tokenize
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


def _pct(v: float | None) -> str:
    return "   -" if v is None else f"{100 * v:5.1f}"


def format_by_kind(report: dict[str, Any]) -> str:
    """:func:`reader_by_kind`'s report as a table (percent)."""
    head = f"{'':28s} {'hints':>6s} {'op':>5s} {'class':>5s} {'place':>5s} {'asked':>5s} {'ask ok':>6s} {'acted':>5s} {'silent wrong':>12s}"
    lines = [f"reader on {report['phrasings']} phrasings: {report['hints']} hints ({report['frames']['find']} find + "
             f"{report['frames']['remove']} remove frames x place phrases, {report['cases']} sentences), "
             f"{report['classes']} classes", head]

    def row(name: str, r: dict[str, Any]) -> str:
        return (f"{name:28s} {r['hints']:6d} {_pct(r['op'])} {_pct(r['class'])} {_pct(r['place'])} {_pct(r['asked'])} "
                f"{_pct(r['asked_right']):>6s} {_pct(r['acted_right'])} {_pct(r['silent_wrong']):>12s}")

    lines.append(row("all", report))
    for op, r in report["per_op"].items():
        lines.append(row(op, r))
    for k, r in report["per_kind"].items():
        lines.append(row(k, r))
    for k, r in report["per_place_kind"].items():
        lines.append(row("place " + k, r))
    for m in report["misses"][:25]:
        lines.append(f"  missed: {m['text']!r} ({m['op']}, {m['class']}, {m['place'] or 'no place'}) read as {m['read']}"
                     f"{' (asked)' if m['asked'] else ''}")
    return "\n".join(lines)


def kinded_book(name: str) -> Any:
    """The module of a phrasebook whose frames carry kinds ("blind": the frozen held-out set,
    ``guide/text/heldout_blind.py``; "dev": ``guide/text/devset.py``), else None."""
    if name == "blind":
        from guide.text import heldout_blind

        return heldout_blind
    if name == "dev":
        from guide.text import devset

        return devset
    return None


def reader_by_kind(classes: Sequence[str], phrasings: str = "blind", vectors: Any = None) -> dict[str, Any]:
    """Score the reader on a kinded phrasebook (:func:`kinded_book`), by kind of phrasing.

    Every frame x every place phrase of every canonical place, the class cycling through the
    model's classes (frame i, place phrase j: class (i + j) mod K), plus the book's whole
    sentences (``CASES``). Per hint: the reader's operation, class and place, whether it would
    ask first (``Reading.sure`` false: the conversation asks "Do you mean ...?") and whether
    what is acted on is right once a truthful user has answered the question (yes when the
    reading is right, "find/remove it instead" when only the operation is wrong, "no" when the
    class is wrong: nothing is done). ``silent_wrong``: a wrong operation acted on without asking."""
    from guide.text.reader import interpret
    from guide.text.templates import UP, UPPER, article, place_kind
    from guide.text.tokenizer import tokenize
    from guide.text.vectors import load_vectors

    vectors = vectors if vectors is not None else load_vectors()
    mod = kinded_book(phrasings)
    if mod is None:
        raise ValueError(f"{phrasings!r} has no kinds of phrasing; choose blind or dev")
    lowered = [c.lower() for c in classes]
    rows: list[dict[str, Any]] = []

    def score(text: str, kind: str, place_kind_name: str, op: str, k: int, where: str) -> None:
        r = interpret(tokenize(text, vectors), classes, vectors)
        got_place = "" if r.place == "everywhere" else r.place
        asked = not r.sure
        rows.append({"text": text, "kind": kind, "place_kind": place_kind_name, "op": op, "class": classes[k],
                     "place": where, "read": [r.op, None if r.label is None else classes[r.label], r.place],
                     "confidence": r.confidence, "doubt": r.doubt,
                     "op_ok": r.op == op, "class_ok": r.label == k, "place_ok": got_place == where, "asked": asked})

    places = {"corner": mod.CORNER, "side_h": mod.SIDE_H, "side_v": mod.SIDE_V, "middle": mod.MIDDLE,
              "anywhere": mod.ANYWHERE}
    for op, frames in ((FIND, mod.FIND_FRAMES), (REMOVE, mod.REMOVE_FRAMES)):
        for i, (kind, frame) in enumerate(frames):
            j = 0
            for _, where in canonical_places():
                pk, v, h = place_kind(where)
                for pkind, pattern in places[pk]:
                    place = pattern.format(v=v or "", u=UPPER.get(v or "", ""), d=UP.get(v or "", ""), h=h or "")
                    k = (i + j) % len(classes)
                    j += 1
                    name = classes[k]
                    text = " ".join(frame.format(c=name, a=article(name), w=place).split())
                    score(text, kind, f"{pk}:{pkind}", op, k, where)
    for kind, text, op, name, where in mod.CASES:
        if name.lower() in lowered:
            score(text, kind, "case", op, lowered.index(name.lower()), where)

    def summary(sel: list[dict[str, Any]]) -> dict[str, Any]:
        n = max(len(sel), 1)
        asked = [r for r in sel if r["asked"]]
        acted_ok = [r for r in sel if (r["op_ok"] and r["class_ok"]) or (r["asked"] and r["class_ok"])]
        return {"hints": len(sel), "op": sum(r["op_ok"] for r in sel) / n, "class": sum(r["class_ok"] for r in sel) / n,
                "place": sum(r["place_ok"] for r in sel) / n,
                "all": sum(r["op_ok"] and r["class_ok"] and r["place_ok"] for r in sel) / n,
                "asked": len(asked) / n,
                "asked_right": (sum(r["op_ok"] for r in asked) / len(asked)) if asked else None,
                "op_after_confirmation": sum(r["op_ok"] or r["asked"] for r in sel) / n,
                "acted_right": len(acted_ok) / n,
                "silent_wrong": sum((not r["op_ok"]) and not r["asked"] for r in sel) / n}

    framed = [r for r in rows if r["place_kind"] != "case"]
    kinds = sorted({(r["op"], r["kind"]) for r in framed})
    report = {"phrasings": phrasings, "classes": len(classes), "frames": {FIND: len(mod.FIND_FRAMES),
                                                                           REMOVE: len(mod.REMOVE_FRAMES)},
              "cases": len(rows) - len(framed), **summary(rows),
              "per_op": {op: summary([r for r in rows if r["op"] == op]) for op in OPERATIONS},
              "per_kind": {f"{op}/{kind}": summary([r for r in framed if r["op"] == op and r["kind"] == kind])
                           for op, kind in kinds},
              "per_place_kind": {pk: summary([r for r in rows if r["place_kind"] == pk])
                                 for pk in sorted({r["place_kind"] for r in rows})},
              "cases_detail": [r for r in rows if r["place_kind"] == "case"],
              "misses": [r for r in rows if not (r["op_ok"] and r["class_ok"] and r["place_ok"])][:300]}
    return report


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m guide evaluate reader",
                                description="accuracy of the hint reader (operation, class, place) on a phrasebook")
    p.add_argument("--model", default=None, help="model folder whose class names to use (default: the embedded model)")
    p.add_argument("--phrasings", default="heldout", choices=list(PHRASINGS),
                   help="blind: the frozen blind held-out set (guide/text/heldout_blind.py), dev: its "
                        "development set (guide/text/devset.py); both report by kind of phrasing")
    p.add_argument("--json", default=None, help="write the report here")
    args = p.parse_args(argv)
    from guide.models.hub import load_model

    classes = list(load_model(args.model).classes)
    if kinded_book(args.phrasings) is not None:
        report = reader_by_kind(classes, args.phrasings)
        print(format_by_kind(report))
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        return
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
