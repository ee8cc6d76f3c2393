"""The reader as it was at commit c30c3f9, before the rewrite docs/text.md describes, on the frozen
blind held-out set (operation, class and place accuracy).

    mkdir -p /tmp/old && git archive c30c3f9 guide | tar -x -C /tmp/old
    cp guide/text/heldout_blind.py /tmp/old/guide/text/
    python experiments/blind_before.py /tmp/old checkpoints/scenes-lraspp/eval/reader-blind-before.json

Same hints as ``python -m guide evaluate reader --phrasings blind`` (every frame x place phrase, the class
cycling; plus the whole sentences), read by the old tree's ``interpret``.
"""

import json
import sys
from pathlib import Path

old, out = sys.argv[1], sys.argv[2]
classes = json.loads((Path(__file__).resolve().parents[1] / "checkpoints/scenes-lraspp/config.json").read_text())["classes"]
sys.path.insert(0, old)
# The old tree's module names (its flat layout, before guide/ had one folder per layer).
from guide.text import heldout_blind as mod  # noqa: E402
from guide.text.evaluate_reader import canonical_places  # noqa: E402
from guide.text.understand import interpret  # noqa: E402
from guide.text.templates import UP, UPPER, article, place_kind  # noqa: E402
from guide.text.tokenizer import tokenize  # noqa: E402
from guide.text.vectors import load_vectors  # noqa: E402

assert Path(sys.modules["guide.text.understand"].__file__).is_relative_to(old), "not the old tree's reader"
vectors = load_vectors()
places = {"corner": mod.CORNER, "side_h": mod.SIDE_H, "side_v": mod.SIDE_V, "middle": mod.MIDDLE, "anywhere": mod.ANYWHERE}
rows = {"find": [], "remove": []}
for op, frames in (("find", mod.FIND_FRAMES), ("remove", mod.REMOVE_FRAMES)):
    for i, (_, frame) in enumerate(frames):
        j = 0
        for _, where in canonical_places():
            pk, v, h = place_kind(where)
            for _, pattern in places[pk]:
                place = pattern.format(v=v or "", u=UPPER.get(v or "", ""), d=UP.get(v or "", ""), h=h or "")
                k = (i + j) % len(classes)
                j += 1
                text = " ".join(frame.format(c=classes[k], a=article(classes[k]), w=place).split())
                r = interpret(tokenize(text, vectors), classes, vectors)
                rows[op].append((r.op == op, r.label == k, ("" if r.place == "everywhere" else r.place) == where))
    for _, text, o, name, where in mod.CASES:
        if o == op:
            r = interpret(tokenize(text, vectors), classes, vectors)
            rows[op].append((r.op == op, r.label is not None and classes[r.label] == name,
                             ("" if r.place == "everywhere" else r.place) == where))


def pct(a, i):
    return round(100 * sum(x[i] for x in a) / len(a), 1)


both = rows["find"] + rows["remove"]
report = {"reader_commit": "c30c3f9", "hints": len(both), "op": pct(both, 0), "class": pct(both, 1), "place": pct(both, 2),
          "all": round(100 * sum(all(x) for x in both) / len(both), 1), "find_op": pct(rows["find"], 0),
          "remove_op": pct(rows["remove"], 0)}
print(report)
Path(out).write_text(json.dumps(report, indent=2) + "\n")
