"""Choose the carried guide's settings (guide/dialogue/carry.py: CarrySettings) on val: seconds per image to
95 % pixel accuracy and 90 % per-image mIoU of the carrying annotators (guide/evaluation/annotators.py: CARRIED)
for each setting, first N val scenes in order, beside the hand tools and the per-image local clicks
(run once, ``--settings base``).

    OMP_NUM_THREADS=1 python experiments/carry_val.py --limit 30 --settings base,default,bias,gamma
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from guide.dialogue.carry import CarrySettings  # noqa: E402
from guide.evaluation.annotators import CARRIED  # noqa: E402
from guide.evaluation.evaluate import EvalSetup, evaluate_effort_seconds  # noqa: E402
from guide.models.hub import load_model  # noqa: E402

SETTINGS = {
    "default": CarrySettings(l2=0.0),  # the first default, before l2 was chosen
    "bias": CarrySettings(fit=("bias",), lr=0.03, l2=0.0),
    "gamma": CarrySettings(fit=("gamma",), lr=0.003, l2=0.0),
    "gamma-slow": CarrySettings(fit=("gamma", "bias"), lr=0.003, l2=0.0),
    "steps20": CarrySettings(steps=20, l2=0.0),
    "l2": CarrySettings(l2=0.01),  # = the default since the val runs below chose it
    "l2-0.03": CarrySettings(l2=0.03),
    "l2-0.003": CarrySettings(l2=0.003),
    "fast": CarrySettings(lr=0.03, l2=0.0),
}
BASE = ["hand: all tools", "guided: local clicks + all tools"]

if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--limit", type=int, default=30)
    p.add_argument("--settings", default="base,default")
    p.add_argument("--carried", default=",".join(CARRIED), help="which carrying annotators (comma-separated names)")
    p.add_argument("--out", default="checkpoints/scenes-lraspp/eval/carry-val")
    args = p.parse_args()
    torch.set_num_threads(1)
    model = load_model("checkpoints/scenes-lraspp")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    for name in args.settings.split(","):
        names = BASE if name == "base" else args.carried.split(",")
        report = evaluate_effort_seconds(model, setup=EvalSetup(split="val", limit=args.limit), annotators=names,
                                         carry=None if name == "base" else SETTINGS[name])
        Path(args.out, f"{name}-{args.limit}.json").write_text(json.dumps(report, indent=2) + "\n")
        print(name, {k: (round(v["seconds_per_image"], 2), v["reached"], round(v["miou"]["seconds_per_image"], 1),
                         v["miou"]["reached"], round(v.get("machine_seconds_carry_fit_per_image", 0.0), 2))
                     for k, v in report["annotators"].items()}, flush=True)
