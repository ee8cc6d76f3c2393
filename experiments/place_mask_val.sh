#!/usr/bin/env bash
# The text place mask on val (issue 14): one to four hints, find / remove / both, 200 val scenes x 3 runs,
# without a mask (the paper; the release before issue 14) and with --place-mask 0.25 (chosen on val for one
# remove hint; the default since). Both without the class scope (chosen after it: experiments/class_scope_val.sh).
#   bash experiments/place_mask_val.sh [OUT]   # OUT/{find,remove,both}-{none,0.25}.json
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
OUT=${1:-checkpoints/scenes-lraspp/eval/text-val}
mkdir -p "$OUT"
for OP in find remove both; do
  for M in none 0.25; do
    $PY -m guide evaluate text --model checkpoints/scenes-lraspp --split val --runs 3 --hints 0,1,2,3,4 --ops $OP \
        --phrasings templates --threads 1 --place-mask $M --class-scope none \
        --json "$OUT/$OP-$M.json" | tail -3
  done
done
