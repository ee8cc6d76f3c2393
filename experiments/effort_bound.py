"""How cheap could any annotator be on these scenes? A lower bound on seconds per image to 95 % pixel
accuracy, from the best *single* action per image chosen with the ground truth (issue 22's goal check).

Per image (scenes, first N of a split, the unguided prediction of checkpoints/scenes-lraspp):

* at the target already: 0 actions;
* else the best single action of each kind, an oracle choosing among candidates: a guided **click**
  (backprop, paper §3.2), a **local click** (the click's change kept where it is connected to it) and a
  **relabel** of the predicted segment, each at the interior point and at ``--points`` seeded random
  pixels of each of the ``--regions`` largest wrong regions, labelled with the true class there; and
  the **ideal brush** (one wrong region painted exactly, no real tool does this). If one of them
  reaches the target, the image needs at least 1 action, else at least 2.

Every action of the app costs at least ``COST.click`` = 2.4 s of a person (guide/dialogue/cost.py; undo
1 s fixes nothing), so no annotator, guided or not, can spend less than 2.4 s x (the minimum actions)
per image: ``bound_seconds_per_image``. It is set beside ``hand: all tools`` on the same images (run here
through guide/evaluation/annotators.py) and half of it, issue 22's goal. With ``--oracle``, also an
annotator with foresight (:func:`oracle`): ``oracle_seconds_per_image``.

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
from guide.evaluation.annotators import HAND_TOOLS, PIXEL_TARGET, _metrics, annotate_seconds, hand_candidates  # noqa: E402
from guide.evaluation.evaluate import _dataset  # noqa: E402
from guide.evaluation.simulated import interior_point, wrong_regions  # noqa: E402
from guide.models.hub import load_model  # noqa: E402

KINDS = ("click", "local click", "relabel", "ideal brush")


def _guided(conv: Conversation, gt: np.ndarray, regions: int, points: int, rng: np.random.Generator) -> list[tuple]:
    """Candidate guided actions (kind, seconds, run) at the interior point and ``points`` random pixels of
    each of the ``regions`` largest wrong regions, labelled with the true class there."""
    out = []
    for region in wrong_regions(conv.labels(), gt)[:regions]:
        pixels = np.argwhere(region.mask)
        picks = pixels[rng.choice(len(pixels), min(points, len(pixels)), replace=False)]
        for y, x in [interior_point(region.mask), *(tuple(int(v) for v in p) for p in picks)]:
            k = int(gt[y, x])
            out.append(("click", COST.click, lambda c, y=y, x=x, k=k: c.click(y, x, k)))
            out.append(("local click", COST.click, lambda c, y=y, x=x, k=k: c.local_click(y, x, k)))
    return out


def _gain(conv: Conversation, run, gt: np.ndarray, keep: np.ndarray, acc: float) -> float:
    """Pixel accuracy gained by ``run``, then taken back (all the steps it added)."""
    n = len(conv.steps)
    run(conv)
    gain = _metrics(conv.labels(), gt, keep, len(conv.classes))[0] - acc
    while len(conv.steps) > n:
        conv.undo()
    return gain


def oracle(conv: Conversation, gt: np.ndarray, regions: int, points: int, rng: np.random.Generator,
           cap: float = 120.0) -> tuple[float, list[str]]:
    """Seconds to ``PIXEL_TARGET`` for an annotator with foresight: each step it tries every candidate
    (the hand tools of guide/evaluation/annotators.py, and guided clicks and local clicks at the
    candidate pixels, each tried and taken back for free) and keeps the one that fixes the most pixels
    per second. No person can do this; it says what guiding could give at best with these tools."""
    keep = gt != VOID
    acc, spent, kinds = _metrics(conv.labels(), gt, keep, len(conv.classes))[0], 0.0, []
    while acc < PIXEL_TARGET and spent < cap:
        hand = [(c.tool, c.seconds, c.run) for c in hand_candidates(conv, gt, HAND_TOOLS)]
        best = None
        for kind, secs, run in hand + _guided(conv, gt, regions, points, rng):
            gain = _gain(conv, run, gt, keep, acc)
            if gain > 0 and (best is None or gain / secs > best[0]):
                best = (gain / secs, kind, secs, run)
        if best is None:
            return cap, kinds
        best[3](conv)
        spent += best[2]
        kinds.append(best[1])
        acc = _metrics(conv.labels(), gt, keep, len(conv.classes))[0]
    return (spent if acc >= PIXEL_TARGET else cap), kinds


def best_single(conv: Conversation, gt: np.ndarray, regions: int, points: int, rng: np.random.Generator) -> dict[str, float]:
    """Pixel accuracy after the best single action of each kind (module docstring), each tried and undone."""
    keep = gt != VOID
    k_classes = len(conv.classes)
    start = _metrics(conv.labels(), gt, keep, k_classes)[0]
    best = {k: start for k in KINDS}
    for region in wrong_regions(conv.labels(), gt)[:regions]:
        pixels = np.argwhere(region.mask)
        picks = pixels[rng.choice(len(pixels), min(points, len(pixels)), replace=False)]
        for y, x in [interior_point(region.mask), *(tuple(int(v) for v in p) for p in picks)]:
            label = int(gt[y, x])
            for kind, act in (("click", conv.click), ("local click", conv.local_click), ("relabel", conv.relabel_segment)):
                act(y, x, label)
                best[kind] = max(best[kind], _metrics(conv.labels(), gt, keep, k_classes)[0])
                conv.undo()
        after = conv.labels().copy()
        after[region.mask] = region.label
        best["ideal brush"] = max(best["ideal brush"], _metrics(after, gt, keep, k_classes)[0])
    return best


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
    for i in tqdm(range(n), desc=f"single-action bound ({args.split})"):
        image, gt = dataset[i]
        conv.set_image(image)
        hand = annotate_seconds(conv, gt, (), HAND_TOOLS, miou_target=0.0).to_reach("accuracy", PIXEL_TARGET, 120.0)[0]
        conv.set_image(image)
        start = _metrics(conv.labels(), gt, gt != VOID, len(conv.classes))[0]
        best = {k: start for k in KINDS} if start >= PIXEL_TARGET else best_single(conv, gt, args.regions, args.points,
                                                                                     np.random.default_rng(i))
        actions = 0 if start >= PIXEL_TARGET else 1 if max(best.values()) >= PIXEL_TARGET else 2
        row = {"start": round(start, 4), "hand_all_tools_seconds": hand, "min_actions": actions,
               "best_single": {k: round(v, 4) for k, v in best.items()}}
        if args.oracle:
            conv.set_image(image)
            row["oracle_seconds"], row["oracle_actions"] = oracle(conv, gt, args.regions, args.points, np.random.default_rng(i))
        rows.append(row)
    hand = float(np.mean([r["hand_all_tools_seconds"] for r in rows]))
    bound = COST.click * float(np.mean([r["min_actions"] for r in rows]))
    reach = {k: sum(r["min_actions"] > 0 and r["best_single"][k] >= PIXEL_TARGET for r in rows) for k in KINDS}
    report = {
        "model": "checkpoints/scenes-lraspp", "split": args.split, "images": n, "pixel_target": PIXEL_TARGET,
        "candidates": {"regions": args.regions, "points_per_region": args.points, "plus": "each region's interior point"},
        "at_target_before_any_action": sum(r["min_actions"] == 0 for r in rows),
        "one_action_reaches_target": reach,
        "no_single_action_reaches_target": sum(r["min_actions"] == 2 for r in rows),
        "hand_all_tools_seconds_per_image": round(hand, 3),
        "goal_seconds_per_image": round(hand / 2, 3),
        "bound_seconds_per_image": round(bound, 3),
        "cheapest_action_seconds": COST.click,
        **({"oracle_seconds_per_image": round(float(np.mean([r["oracle_seconds"] for r in rows])), 3)} if args.oracle else {}),
        "rows": rows,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print({k: v for k, v in report.items() if k != "rows"})
