#!/usr/bin/env bash
# Paper Table 2 on the embedded model: guiding block vs FiLM (gamma only), each with and
# without the 256-channel residual block, trained on find hints at one equal budget
# (1500 steps, batch 32, seed 0), then one find hint on the 300 test scenes, 5 runs.
# Two trainings at a time with one thread each (fits a 2-core CPU: ~40 min in all).
#   bash experiments/table2.sh            # writes checkpoints/scenes-lraspp/eval/table2-*.json
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
STEPS=${STEPS:-1500}
EVAL=checkpoints/scenes-lraspp/eval

train() {  # name, extra train-guide flags...
  local name=$1; shift
  $PY -m guide train-guide --model checkpoints/scenes-lraspp --ops find --steps "$STEPS" --threads 1 --val 0 --phrasings paper \
      --out "runs/table2-$name" --work-dir "runs/table2-$name-work" "$@" > "runs/table2-$name.log" 2>&1
}
evaluate() {
  $PY -m guide evaluate text --model "runs/table2-$1" --split test --ops find --hints 0,1 --runs 5 --phrasings paper --place-mask none --class-scope none \
      --json "$EVAL/table2-$1.json"
}

mkdir -p runs
train guide & train film --variant film & wait
train guide-res --residual & train film-res --variant film --residual & wait
for name in guide film guide-res film-res; do evaluate "$name"; done
