#!/usr/bin/env bash
# Issue 24, choosing the learning rate on val (scenes `val` split, 300 scenes), N = 300 annotated
# train scenes, 1,000 steps of batch 32 each, seed 0, 1 thread. Test is not read here.
#   bash experiments/teach_lr_val.sh [LR ...]      (default: 3e-4 1e-3; 2e-3 was started and stopped for time)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/work/main/.venv/bin/python}
export OMP_NUM_THREADS=1
EVAL=checkpoints/scenes-lraspp/eval/teach/val
mkdir -p "$EVAL" runs/teach-curve
data=runs/teach-curve/data-300
[ -f "$data/teach_dataset.json" ] || $PY experiments/teach_dataset.py --n 300 --out "$data"
for op in find remove; do
  [ -f "$EVAL/shipped-$op.json" ] || $PY -m guide evaluate text --model checkpoints/scenes-lraspp --split val --runs 1 \
    --hints 0,1 --ops $op --phrasings templates --threads 1 --json "$EVAL/shipped-$op.json"
done
for lr in ${@:-3e-4 1e-3}; do
  out=runs/teach-curve/guide-300-lr$lr
  if [ ! -f "$out/text_guide.safetensors" ]; then
    $PY -m guide train-guide --model checkpoints/scenes-lraspp --data voc --root "$data" --split train --out "$out" \
      --work-dir "runs/teach-curve/work-300-lr$lr" --ops both --steps 1000 --lr "$lr" --threads 1 --seed 0 --val 0
    cp "runs/teach-curve/work-300-lr$lr/train_log.json" "$EVAL/n300-lr$lr-train.json"
  fi
  for op in find remove; do
    [ -f "$EVAL/n300-lr$lr-$op.json" ] || $PY -m guide evaluate text --model "$out" --split val --runs 1 --hints 0,1 \
      --ops $op --phrasings templates --threads 1 --json "$EVAL/n300-lr$lr-$op.json"
  done
done
