"""How cheap could an annotator be on these scenes, with the tools of the app, if it knew the ground truth?
(issue 22's goal check: the best guided annotator at most 0.5x the seconds of the hand tools to 95 % pixel
accuracy.)

Per image (scenes, first N of a split, the unguided prediction of checkpoints/scenes-lraspp), the candidate
actions are the hand tools of guide/evaluation/annotators.py (polygon, brush, superpixel brush, relabel at
the 8 largest wrong regions) and, at the interior point and ``--points`` seeded random pixels of each of the
``--regions`` largest wrong regions, labelled with the true class there: a guided **click** (backprop,
paper §3.2), a **local click** (the click's change kept where it is connected to it) and a **relabel** of
the predicted segment. Each is tried and taken back.

* ``best_single``: pixel accuracy after the best single candidate of each kind, and of the **ideal brush**
  (one wrong region painted exactly, a lower bound no tool reaches): how many images one action finishes.
* ``--oracle``: an **annotator with foresight**. Before each step it tries every candidate and keeps
  the one that fixes the most pixels per second (policy "rate"), or, when some candidates reach the target,
  the cheapest of those (policy "finish"). Per image its seconds are the least of the two policies' and of
  the ``hand: all tools`` annotator's (it could have taken any of those paths). It is greedy, so it is not
  the best any annotator could do; it is far more than a person can (no person tries ~150 actions and takes
  back the failures for free).

Every action of the app costs a person at least ``COST.click`` = 2.4 s (guide/dialogue/cost.py; undo, 1 s,
fixes nothing).

    OMP_NUM_THREADS=1 python experiments/effort_bound.py --split val --limit 50 --oracle --json checkpoints/scenes-lraspp/eval/effort-bound-val.json
    OMP_NUM_THREADS=1 python experiments/effort_bound.py --split test --limit 100 --oracle --json checkpoints/scenes-lraspp/eval/effort-bound-test.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from guide.core.labels import VOID  # noqa: E402
from guide.dialogue.conversation import Conversation  # noqa: E402
from guide.dialogue.cost import COST  # noqa: E402
from guide.dialogue.session import GuideSession  # noqa: E402
from guide.evaluation.annotators import (  # noqa: E402
    CAP_SECONDS,
    HAND_TOOLS,
    PIXEL_TARGET,
    TOP_REGIONS,
    _metrics,
    annotate_seconds,
    hand_candidates,
)
from guide.evaluation.evaluate import _dataset  # noqa: E402
from guide.evaluation.simulated import interior_point, wrong_regions  # noqa: E402
from guide.models.hub import load_model  # noqa: E402

KINDS = ("click", "local click", "relabel", "superpixel", "brush", "polygon", "ideal brush")


def candidates(conv: Conversation, gt: np.ndarray, regions: int, points: int, rng: np.random.Generator) -> list[tuple]:
    """(kind, seconds, run) of every candidate action on ``conv`` now (module docstring)."""
    out = [(c.tool, c.seconds, c.run) for c in hand_candidates(conv, gt, HAND_TOOLS)]
    for region in wrong_regions(conv.labels(), gt)[:regions]:
        pixels = np.argwhere(region.mask)
        picks = pixels[rng.choice(len(pixels), min(points, len(pixels)), replace=False)]
        for y, x in [interior_point(region.mask), *(tuple(int(v) for v in p) for p in picks)]:
            k = int(gt[y, x])
            out.append(("click", COST.click, lambda c, y=y, x=x, k=k: c.click(y, x, k)))
            out.append(("local click", COST.click, lambda c, y=y, x=x, k=k: c.local_click(y, x, k)))
            out.append(("relabel", COST.relabel, lambda c, y=y, x=x, k=k: c.relabel_segment(y, x, k)))
    return out


def _after(conv: Conversation, run, gt: np.ndarray, keep: np.ndarray) -> float:
    """Pixel accuracy after ``run``, which is then taken back (all the steps it added)."""
    n = len(conv.steps)
    run(conv)
    acc = _metrics(conv.labels(), gt, keep, len(conv.classes))[0]
    while len(conv.steps) > n:
        conv.undo()
    return acc


def best_single(conv: Conversation, gt: np.ndarray, regions: int, points: int, rng: np.random.Generator) -> dict[str, float]:
    """Pixel accuracy after the best single candidate of each kind, and of the ideal brush."""
    keep = gt != VOID
    start = _metrics(conv.labels(), gt, keep, len(conv.classes))[0]
    best: dict[str, float] = {"ideal brush": start}
    for kind, _, run in candidates(conv, gt, regions, points, rng):
        best[kind] = max(best.get(kind, start), _after(conv, run, gt, keep))
    labels = conv.labels()
    for region in wrong_regions(labels, gt)[:TOP_REGIONS]:
        after = labels.copy()
        after[region.mask] = region.label
        best["ideal brush"] = max(best["ideal brush"], _metrics(after, gt, keep, len(conv.classes))[0])
    return best


def oracle(conv: Conversation, gt: np.ndarray, regions: int, points: int, rng: np.random.Generator,
           finish: bool, cap: float = CAP_SECONDS) -> tuple[float, list[str]]:
    """Seconds to ``PIXEL_TARGET`` and the actions taken by the annotator with foresight (module docstring),
    policy "finish" when ``finish`` else "rate"."""
    keep = gt != VOID
    acc, spent, kinds = _metrics(conv.labels(), gt, keep, len(conv.classes))[0], 0.0, []
    while acc < PIXEL_TARGET and spent < cap:
        tried = [(kind, secs, run, _after(conv, run, gt, keep)) for kind, secs, run in candidates(conv, gt, regions, points, rng)]
        finishing = [t for t in tried if t[3] >= PIXEL_TARGET] if finish else []
        if finishing:
            pick = min(finishing, key=lambda t: (t[1], -t[3]))
        else:
            better = [t for t in tried if t[3] > acc]
            if not better:
                return cap, kinds
            pick = max(better, key=lambda t: (t[3] - acc) / t[1])
        pick[2](conv)
        spent += pick[1]
        kinds.append(pick[0])
        acc = _metrics(conv.labels(), gt, keep, len(conv.classes))[0]
    return (spent if acc >= PIXEL_TARGET else cap), kinds


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--split", default="val")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--regions", type=int, default=6, help="largest wrong regions tried per image")
    p.add_argument("--points", type=int, default=7, help="random pixels tried per region, besides its interior point")
    p.add_argument("--oracle", action="store_true", help="also run the annotator with foresight (oracle(); slow)")
    p.add_argument("--json", required=True)
    args = p.parse_args()
    torch.set_num_threads(1)
    model = load_model("checkpoints/scenes-lraspp")
    dataset, n = _dataset(model, "scenes", args.split, None, args.limit)
    conv = Conversation(model, session=GuideSession(model), max_turns=200)
    rows = []
    for i in tqdm(range(n), desc=f"single actions ({args.split})"):
        image, gt = dataset[i]
        conv.set_image(image)
        trace = annotate_seconds(conv, gt, (), HAND_TOOLS, miou_target=0.0)
        hand = trace.to_reach("accuracy", PIXEL_TARGET, CAP_SECONDS)
        conv.set_image(image)
        start = _metrics(conv.labels(), gt, gt != VOID, len(conv.classes))[0]
        best = best_single(conv, gt, args.regions, args.points, np.random.default_rng(i)) if start < PIXEL_TARGET else {}
        row = {"start": round(start, 4), "hand_all_tools_seconds": hand[0], "hand_all_tools_actions": hand[1],
               "best_single": {k: round(best.get(k, start), 4) for k in KINDS}}
        if args.oracle:
            paths = {"hand: all tools": (hand[0], trace.kinds[: hand[1]])}
            for policy in ("rate", "finish"):
                conv.set_image(image)
                paths[policy] = oracle(conv, gt, args.regions, args.points, np.random.default_rng(i), finish=policy == "finish")
            policy = min(paths, key=lambda k: paths[k][0])
            row["oracle_seconds"], row["oracle_actions"], row["oracle_policy"] = *paths[policy], policy
            row["oracle_by_policy"] = {k: v[0] for k, v in paths.items()}
        rows.append(row)
    needs = [r for r in rows if r["start"] < PIXEL_TARGET]
    hand = float(np.mean([r["hand_all_tools_seconds"] for r in rows]))
    report = {
        "model": "checkpoints/scenes-lraspp", "split": args.split, "images": n, "pixel_target": PIXEL_TARGET,
        "candidates": {"regions": args.regions, "points_per_region": args.points, "plus": "each region's interior point",
                       "hand_tools_at_regions": TOP_REGIONS},
        "at_target_before_any_action": n - len(needs),
        "one_action_reaches_target": {k: sum(r["best_single"][k] >= PIXEL_TARGET for r in needs) for k in KINDS},
        "one_real_action_reaches_target": sum(max(v for k, v in r["best_single"].items() if k != "ideal brush") >= PIXEL_TARGET
                                              for r in needs),
        "hand_all_tools_seconds_per_image": round(hand, 3),
        "goal_seconds_per_image": round(hand / 2, 3),
        "cheapest_action_seconds": COST.click,
        **({"oracle_seconds_per_image": round(float(np.mean([r["oracle_seconds"] for r in rows])), 3),
            "oracle_actions_per_image": round(float(np.mean([len(r["oracle_actions"]) for r in rows])), 3)} if args.oracle else {}),
        "rows": rows,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print({k: v for k, v in report.items() if k != "rows"})
