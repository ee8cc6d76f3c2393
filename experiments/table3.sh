#!/usr/bin/env bash
# Paper Table 3 on the embedded model: where the guiding block sits. The same find-hint text guide
# (guiding block, 1500 steps, batch 32, seed 0) trained at three earlier MobileNetV3 blocks; the
# features.16 row (the default, smallest-resolution encoding) is table2-guide from experiments/table2.sh.
# One find hint on the 300 test scenes, 5 runs.
#   bash experiments/table3.sh            # writes checkpoints/scenes-lraspp/eval/table3-*.json
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
STEPS=${STEPS:-1500}
EVAL=checkpoints/scenes-lraspp/eval

train() {  # layer
  $PY -m guide train-guide --model checkpoints/scenes-lraspp --ops find --steps "$STEPS" --threads 1 --val 0 --phrasings paper \
      --layer "$1" --out "runs/table3-$1" --work-dir "runs/table3-$1-work" > "runs/table3-$1.log" 2>&1
}
evaluate() {
  $PY -m guide evaluate text --model "runs/table3-$1" --split test --ops find --hints 0,1 --runs 5 --phrasings paper --place-mask none --class-scope none \
      --json "$EVAL/table3-$1.json"
}

mkdir -p runs
train features.6 & train features.10 & wait
train features.13
for layer in features.6 features.10 features.13; do evaluate "$layer"; done
