"""Choose twenty-questions settings on the val split (docs/results.md, "Twenty questions").

Plays twenty questions with several settings on the same val scenes, one scene at a
time, and prints every setting's dataset mIoU (confusion matrices summed over the
scenes so far) after 10 and 20 questions once per scene, so a run that is stopped
early still compares all settings on the same scenes. Results: ``--json``.

    python experiments/questions_val.py --limit 40 --settings base,m2,r6 --json runs/qval.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from guide.core.backprop import BackpropSettings  # noqa: E402
from guide.core.metrics import confusion_matrix, miou  # noqa: E402
from guide.data import get_dataset  # noqa: E402
from guide.dialogue.conversation import Conversation  # noqa: E402
from guide.dialogue.session import ASK_SPREAD  # noqa: E402
from guide.evaluation.simulated import play_twenty_questions  # noqa: E402
from guide.models.hub import load_model  # noqa: E402

#: Every setting below applies on top of the defaults before the val choice of lr 0.1 and spread 3 (lr 0.05, spread 0),
#: so the val tables in docs/results.md reproduce whatever today's defaults are.
BEFORE: tuple[dict, dict] = ({"lr": 0.05}, {"ask_spread": 0})
#: name -> (BackpropSettings overrides, GuideSession overrides). Anchors ("a32"...), a margin growing per
#: answer ("mg0.1") and asking inside the most uncertain area ("area0.5"...) measured worse
#: (docs/results.md); their code was removed after commit c30c3f9, which measured them.
SETTINGS: dict[str, tuple[dict, dict]] = {
    "base": ({}, {}),  # the defaults before that val choice (lr 0.05, spread 0)
    "current": ({"lr": BackpropSettings.lr}, {"ask_spread": ASK_SPREAD}),  # today's defaults
    "paper": ({"margin": 0.0}, {"ask_region": 0}),
    "m0.5": ({"margin": 0.5}, {}),
    "m2": ({"margin": 2.0}, {}),
    "m3": ({"margin": 3.0}, {}),
    "r0": ({}, {"ask_region": 0}),
    "r6": ({}, {"ask_region": 6}),
    "r10": ({}, {"ask_region": 10}),
    "s3": ({}, {"ask_spread": 3}),
    "s8": ({}, {"ask_spread": 8}),
    "l2e-4": ({"l2": 1e-4}, {}),
    "l2e-2": ({"l2": 1e-2}, {}),
    "lr0.1": ({"lr": 0.1}, {}),
    "m2r6": ({"margin": 2.0}, {"ask_region": 6}),
    # optimisation schedule
    "cold": ({"warm_start": False}, {}),
    "steps30": ({"max_steps": 30}, {}),
    "steps120": ({"max_steps": 120}, {}),
    "l2_3e-3": ({"l2": 3e-3}, {}),
    "s6": ({}, {"ask_spread": 6}),
    "lr0.1s3": ({"lr": 0.1}, {"ask_spread": 3}),
}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="checkpoints/scenes-lraspp")
    p.add_argument("--split", default="val")
    p.add_argument("--start", type=int, default=0)
    p.add_argument("--limit", type=int, default=40)
    p.add_argument("--settings", default="base,m2,r6")
    p.add_argument("--extra", default=None, help='more settings as JSON: {"name": [{backprop}, {session}]}')
    p.add_argument("--json", default=None)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    table = dict(SETTINGS)
    if args.extra:
        table.update({k: tuple(v) for k, v in json.loads(args.extra).items()})
    names = args.settings.split(",")
    model = load_model(args.model)
    dataset = get_dataset("scenes", args.split, size=model.config.input_size)
    K, counts = model.num_classes, [0, 10, 20]
    conversations = {n: Conversation(model, BackpropSettings(**{**BEFORE[0], **table[n][0]}), max_turns=max(counts),
                                     **{**BEFORE[1], **table[n][1]}) for n in names}
    cms = {n: {c: np.zeros((K, K), np.int64) for c in counts} for n in names}
    secs = {n: 0.0 for n in names}
    for i in range(args.start, min(args.start + args.limit, len(dataset))):
        image, label = dataset[i]
        for n in names:
            t = time.time()
            conversations[n].set_image(image)
            for c, pred in play_twenty_questions(conversations[n], label, counts).items():
                cms[n][c] += confusion_matrix(pred, label, K)
            secs[n] += time.time() - t
        done = i - args.start + 1
        line = "  ".join(f"{n}:{100 * miou(cms[n][10]):.1f}/{100 * miou(cms[n][20]):.1f}" for n in names)
        print(f"{done:3d} scenes  base {100 * miou(cms[names[0]][0]):.1f}  {line}", flush=True)
        if args.json:
            report = {"split": args.split, "start": args.start, "images": done, "questions": counts,
                      "settings": {n: {"backprop": table[n][0], "session": table[n][1],
                                       "miou": [miou(cms[n][c]) for c in counts],
                                       "seconds_per_image": secs[n] / done} for n in names}}
            Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
