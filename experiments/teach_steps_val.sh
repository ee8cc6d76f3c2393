#!/usr/bin/env bash
# Issue 24, the step budget chosen on val (scenes `val` split, 300 scenes): N = 300 annotated train scenes,
# 2,000 steps of batch 32 at lr 1e-3 (the 1,000-step run is experiments/teach_lr_val.sh's), seed 0, 1 thread.
# Test is not read here. Needs runs/teach-curve/data-300 (experiments/teach_dataset.py --n 300).
#   bash experiments/teach_steps_val.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/work/main/.venv/bin/python}
export OMP_NUM_THREADS=1
EVAL=checkpoints/scenes-lraspp/eval/teach/val
data=runs/teach-curve/data-300
[ -f "$data/teach_dataset.json" ] || $PY experiments/teach_dataset.py --n 300 --out "$data"
out=runs/teach-curve/guide-300-lr1e-3-steps2000
$PY -m guide train-guide --model checkpoints/scenes-lraspp --data voc --root "$data" --split train --out "$out" \
  --work-dir runs/teach-curve/work-300-lr1e-3-steps2000 --ops both --steps 2000 --lr 1e-3 --threads 1 --seed 0 --val 0
cp runs/teach-curve/work-300-lr1e-3-steps2000/train_log.json "$EVAL/n300-lr1e-3-steps2000-train.json"
for op in find remove; do
  $PY -m guide evaluate text --model "$out" --split val --runs 1 --hints 0,1 --ops $op --phrasings templates --threads 1 \
    --json "$EVAL/n300-lr1e-3-steps2000-$op.json"
done
