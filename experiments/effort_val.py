"""Choose the guided annotator's priors (guide/evaluation/annotators.py: PRIORS) on val: seconds per image
to 95 % pixel accuracy and 90 % per-image mIoU for each setting, first N val scenes.

    OMP_NUM_THREADS=1 python experiments/effort_val.py --limit 20 --out checkpoints/scenes-lraspp/eval/effort-val
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from guide.evaluation.evaluate import EvalSetup, evaluate_effort_seconds
from guide.models.hub import load_model

SETTINGS = {
    "prior1": {"click": 1.0, "answer": 0.5, "hint": 1.0, "local click": 1.0},
    "prior0.5": {"click": 0.5, "answer": 0.25, "hint": 0.5, "local click": 0.5},
    "prior0.25": {"click": 0.25, "answer": 0.1, "hint": 0.25, "local click": 0.25},
    "prior2": {"click": 2.0, "answer": 1.0, "hint": 2.0, "local click": 2.0},
}

if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--settings", default=",".join(SETTINGS))
    p.add_argument("--out", default="checkpoints/scenes-lraspp/eval/effort-val")
    p.add_argument("--tag", default="", help="suffix of the JSON names (a later run beside the first)")
    args = p.parse_args()
    torch.set_num_threads(1)
    model = load_model("checkpoints/scenes-lraspp")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    for name in args.settings.split(","):
        report = evaluate_effort_seconds(model, priors=SETTINGS[name], setup=EvalSetup(split="val", limit=args.limit))
        Path(args.out, f"{name}{args.tag}.json").write_text(json.dumps(report, indent=2) + "\n")
        print(name, {k: (round(v["seconds_per_image"], 1), v["reached"], round(v["miou"]["seconds_per_image"], 1), v["miou"]["reached"])
                     for k, v in report["annotators"].items()}, flush=True)
