"""An idea for issue 22 that lost on val, kept to rerun: the network proposes, the person says yes or no.

The proposals come from what the network knows without ground truth (guide/dialogue/suggest.py): its
uncertain predicted segments (at least half their pixels under ``UNSURE_PROB``), most uncertain pixels
first, each with the network's second guess there. Shown one at a time; the simulated person answers
yes when it raises pixel accuracy (kept), else no (taken back). Each answer costs ``VERIFY`` seconds,
an assumed price below a click's 2.4 s: Papadopoulos et al., *We don't need no bounding-boxes*, CVPR 2016,
measured yes/no verification of a proposed box as far cheaper than drawing it (about 1.6 s as recalled;
the paper could not be reread here). After at most ``--proposals`` answers, or at 95 % pixel accuracy,
``hand: all tools`` (guide/evaluation/annotators.py) finishes the image.

* ``relabel``: a yes relabels the proposed segment to the second guess (no guiding);
* ``click``: a yes keeps the network guided by a click of the second guess at the proposal's pixel
  (backprop, the paper's question answered with the network's own guess).

``--rank second``: every predicted segment of at least ``MIN_SEGMENT`` px is a proposal, confident ones
too, ranked by the network's summed probability of its second guess there (the most pixels it would move
if the second guess were right), instead of uncertain segments only.

    OMP_NUM_THREADS=1 python experiments/verify_val.py relabel --limit 30 --json checkpoints/scenes-lraspp/eval/verify-val/relabel.json
    OMP_NUM_THREADS=1 python experiments/verify_val.py click --limit 30 --json checkpoints/scenes-lraspp/eval/verify-val/click.json
    OMP_NUM_THREADS=1 python experiments/verify_val.py relabel --rank second --limit 30 --json checkpoints/scenes-lraspp/eval/verify-val/relabel-second.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy import ndimage  # noqa: E402

from guide.core.guided import image_to_network  # noqa: E402
from guide.core.labels import VOID  # noqa: E402
from guide.dialogue.conversation import Conversation  # noqa: E402
from guide.dialogue.session import GuideSession  # noqa: E402
from guide.dialogue.suggest import MIN_SEGMENT, SEGMENT_SHARE, UNSURE_PROB, uncertainty  # noqa: E402
from guide.evaluation.annotators import HAND_TOOLS, PIXEL_TARGET, _metrics, annotate_seconds  # noqa: E402
from guide.evaluation.evaluate import _dataset  # noqa: E402
from guide.models.hub import load_model  # noqa: E402

VERIFY = 1.6  # seconds per yes/no (assumed; see the module docstring)


def proposals(conv: Conversation, rank: str = "uncertain") -> list[tuple[float, int, tuple[int, int]]]:
    """(score, second guess, (row, col)) per proposed predicted segment, best first (module docstring)."""
    labels = conv.labels()
    logits = conv.session.logits()[0]
    conf, second = uncertainty(logits, labels.shape)
    unsure = conf < UNSURE_PROB
    if rank == "second":  # the second guess's probability per image pixel (as uncertainty() maps pixels)
        top2 = logits.detach().float().softmax(0).topk(2, dim=0).values[1].cpu().numpy()
        rows, cols = image_to_network(np.arange(labels.shape[0]), np.arange(labels.shape[1]), labels.shape, top2.shape)
        p2 = top2[rows][:, cols]
        unsure = np.ones_like(unsure)  # every segment is a proposal; its second guess read over all its pixels
    out = []
    for k in np.unique(labels[unsure]):
        comp, m = ndimage.label(labels == k)
        index = np.arange(1, m + 1)
        sizes = ndimage.sum(np.ones_like(comp), comp, index)
        counts = ndimage.sum(unsure, comp, index)
        for i in np.flatnonzero((sizes >= MIN_SEGMENT) & (counts >= SEGMENT_SHARE * sizes)):
            part = comp == i + 1
            guesses = np.bincount(second[part & unsure].ravel(), minlength=len(conv.classes))
            guesses[k] = 0
            inner = ndimage.binary_erosion(part) if part.sum() > 4 * MIN_SEGMENT else part
            inner = inner if inner.any() else part
            r, c = np.unravel_index(np.argmin(np.where(inner, conf, np.inf)), conf.shape)
            score = float(p2[part].sum()) if rank == "second" else float(counts[i])
            out.append((score, int(np.argmax(guesses)), (int(r), int(c))))
    return sorted(out, key=lambda t: -t[0])


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["relabel", "click"])
    p.add_argument("--limit", type=int, default=30)
    p.add_argument("--proposals", type=int, default=5)
    p.add_argument("--rank", choices=["uncertain", "second"], default="uncertain")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    torch.set_num_threads(1)
    model = load_model("checkpoints/scenes-lraspp")
    dataset, n = _dataset(model, "scenes", "val", None, args.limit)
    conv = Conversation(model, session=GuideSession(model), max_turns=200)
    hand_all, verified, shown, yes = [], [], 0, 0
    for i in range(n):
        image, gt = dataset[i]
        keep = gt != VOID
        conv.set_image(image)
        hand_all.append(annotate_seconds(conv, gt, (), HAND_TOOLS, miou_target=0.0).to_reach("accuracy", PIXEL_TARGET, 120.0)[0])
        conv.set_image(image)
        acc, spent, tried = _metrics(conv.labels(), gt, keep, len(conv.classes))[0], 0.0, set()
        while acc < PIXEL_TARGET and len(tried) < args.proposals:
            fresh = [q for q in proposals(conv, args.rank) if q[2] not in tried]
            if not fresh:
                break
            _, k, (r, c) = fresh[0]
            tried.add((r, c))
            (conv.relabel_segment if args.mode == "relabel" else conv.click)(r, c, k)
            spent, shown = spent + VERIFY, shown + 1
            after = _metrics(conv.labels(), gt, keep, len(conv.classes))[0]
            if after > acc:
                acc, yes = after, yes + 1
            else:
                conv.undo()
        if acc < PIXEL_TARGET:
            spent += annotate_seconds(conv, gt, (), HAND_TOOLS, miou_target=0.0).to_reach("accuracy", PIXEL_TARGET, 120.0)[0]
        verified.append(spent)
    report = {"mode": args.mode, "rank": args.rank, "images": n, "verify_seconds": VERIFY, "max_proposals": args.proposals,
              "hand_all_tools_seconds_per_image": round(float(np.mean(hand_all)), 3),
              "verify_then_hand_seconds_per_image": round(float(np.mean(verified)), 3), "shown": shown, "yes": yes}
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(f"{args.mode} ({args.rank}): {n} val scenes, hand: all tools {np.mean(hand_all):.2f} s/image, verify then hand tools "
          f"{np.mean(verified):.2f} s/image ({shown} proposals shown, {yes} yes)")
