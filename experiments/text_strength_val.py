"""Is the text guide too timid on "remove" hints, or does it leak? (issue 14, goal: one remove hint >= +6 on test)

Scales the shipped guide's parameters for hints the reader reads as "remove"
(``GuideSession(text_strength={"remove": s})``), or keeps a hint's change to the logits
inside the place the reader read, widened by a margin (``text_place_mask={"remove": m}``),
and measures one remove hint on val only,
worded with the training phrasebook, read through the reader (the app's path), as
``python -m guide evaluate text --split val --limit 300 --runs 3 --hints 0,1 --ops remove
--phrasings templates --read reader --class-scope none`` does (the class scope came later; ``--class-scope default`` adds it). Prints and writes each strength's gain.

    python experiments/text_strength_val.py --strengths 1.0,1.25 --json OUT.json
    python experiments/text_strength_val.py --strengths 1.0 --place-margins none,0,0.17 --json OUT.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from guide.hub import load_model  # noqa: E402
from guide.session import TEXT_CLASS_SCOPE  # noqa: E402
from guide.text.evaluate import evaluate_text  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="checkpoints/scenes-lraspp")
    p.add_argument("--split", default="val")
    p.add_argument("--op", default="remove", choices=["find", "remove"])
    p.add_argument("--strengths", default="1.0,1.25")
    p.add_argument("--place-margins", default="none", help="comma-separated; none = no place mask (the paper)")
    p.add_argument("--class-scope", default="none", choices=["none", "default"],
                   help="none (README's table: measured before the class scope) or the session's default")
    p.add_argument("--limit", type=int, default=300)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--json", required=True)
    args = p.parse_args()
    torch.set_num_threads(1)
    model = load_model(args.model)
    res = {"split": args.split, "op": args.op, "limit": args.limit, "runs": args.runs, "gain": {}, "miou": {}}
    for s in (float(v) for v in args.strengths.split(",")):
        for m in args.place_margins.split(","):
            mask = None if m == "none" else {args.op: float(m)}
            r = evaluate_text(model, args.split, [0, 1], (args.op,), args.runs, args.limit, progress=False,
                              phrasings="templates", text_strength={args.op: s}, text_place_mask=mask,
                              text_class_scope=None if args.class_scope == "none" else TEXT_CLASS_SCOPE)
            key = f"strength {s} place {m}"
            res["gain"][key], res["miou"][key] = r["miou"][1] - r["miou"][0], r["miou"]
            print(f"{args.op} {key}: {100 * r['miou'][0]:.1f} -> {100 * r['miou'][1]:.1f} ({100 * res['gain'][key]:+.2f})", flush=True)
            Path(args.json).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
