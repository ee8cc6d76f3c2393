#!/usr/bin/env bash
# Issue 24's sample-efficiency curve: N annotated train scenes -> a text guide -> one find / one
# remove hint on the 300 test scenes, against the shipped guide (trained on all 3000 guide-train scenes).
# Same budget rule for every N: train-guide --steps 1500 --time-limit 12 (minutes, whichever comes
# first; the cosine schedule follows the time limit), 1 thread (a shared 2-core CPU), seed 0.
#   bash experiments/teach_curve.sh [N ...]        (default: 50 100 300 1000; the shipped baseline first)
# JSON: checkpoints/scenes-lraspp/eval/teach/{shipped,n50,...}-{find,remove}.json and n*-train.json.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/work/main/.venv/bin/python}
export OMP_NUM_THREADS=1
EVAL=checkpoints/scenes-lraspp/eval/teach
mkdir -p "$EVAL" runs/teach-curve
evaluate() {  # model folder, name
  for op in find remove; do
    [ -f "$EVAL/$2-$op.json" ] || $PY -m guide evaluate text --model "$1" --split test --runs 1 --hints 0,1 --ops $op \
      --phrasings templates --threads 1 --json "$EVAL/$2-$op.json"
  done
}
evaluate checkpoints/scenes-lraspp shipped
for n in "${@:-50 100 300 1000}"; do
  for N in $n; do
    data=runs/teach-curve/data-$N out=runs/teach-curve/guide-$N
    [ -f "$data/teach_dataset.json" ] || $PY experiments/teach_dataset.py --n "$N" --out "$data"
    if [ ! -f "$out/text_guide.safetensors" ]; then
      $PY -m guide train-guide --model checkpoints/scenes-lraspp --data voc --root "$data" --split train --out "$out" \
        --work-dir "runs/teach-curve/work-$N" --ops both --steps 1500 --time-limit 12 --threads 1 --seed 0 --val 100 --resume
      cp "runs/teach-curve/work-$N/train_log.json" "$EVAL/n$N-train.json"
      cp "$data/teach_dataset.json" "$EVAL/n$N-dataset.json"
    fi
    evaluate "$out" "n$N"
  done
done
