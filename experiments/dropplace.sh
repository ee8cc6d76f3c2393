#!/usr/bin/env bash
# Place-less hints ("there is no coat"): how the shipped text guide handles them, and a fine-tune
# with 30 % of training hints stripped of their place phrase (14 min on a 2-core CPU).
# Evaluations keep every text turn (--keep-backfiring) to measure the guides themselves.
#   bash experiments/dropplace.sh          # writes checkpoints/scenes-lraspp/eval/dropplace-*.json
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
EVAL=checkpoints/scenes-lraspp/eval
TUNED=runs/scenes-lraspp-dropplace

ev() {  # model, json name, flags...
  local model=$1 name=$2; shift 2
  $PY -m guide evaluate text --model "$model" --split test --runs 5 --keep-backfiring --phrasings paper --place-mask none --class-scope none --json "$EVAL/dropplace-$name.json" "$@"
}

ev checkpoints/scenes-lraspp shipped-remove-no-place --ops remove --hints 0,1 --ablation no-place
ev checkpoints/scenes-lraspp shipped-find-no-place --ops find --hints 0,1 --ablation no-place
ev checkpoints/scenes-lraspp shipped-both --ops both --hints 0,1,2,3,4
[ -f "$TUNED/text_guide.safetensors" ] || $PY -m guide train-guide --model checkpoints/scenes-lraspp \
    --init checkpoints/scenes-lraspp --ops both --phrasings paper --drop-place 0.3 --lr 1e-4 --steps 3000 --val 0 \
    --out "$TUNED" --work-dir runs/dropplace-work
ev "$TUNED" tuned-remove-no-place --ops remove --hints 0,1 --ablation no-place
ev "$TUNED" tuned-find-no-place --ops find --hints 0,1 --ablation no-place
ev "$TUNED" tuned-both --ops both --hints 0,1,2,3,4
