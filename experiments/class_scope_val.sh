#!/usr/bin/env bash
# The text class scope on val (issue 14): a hint about a class changes only the pixels that class labels before
# or after it (session.TEXT_CLASS_SCOPE). One to four hints, find / remove / both, 200 val scenes x 3 runs, with the
# place mask 0.25 (the default before it), without the scope (the release before) and with it.
#   bash experiments/class_scope_val.sh [OUT]   # OUT/{find,remove,both}-0.25-scope-{none,default}.json
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
OUT=${1:-checkpoints/scenes-lraspp/eval/text-val}
mkdir -p "$OUT"
for OP in find remove both; do
  for S in none default; do
    $PY -m guide evaluate text --model checkpoints/scenes-lraspp --split val --runs 3 --hints 0,1,2,3,4 --ops $OP \
        --phrasings templates --threads 1 --place-mask 0.25 --class-scope $S \
        --json "$OUT/$OP-0.25-scope-$S.json" | tail -3
  done
done
