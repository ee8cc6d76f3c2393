#!/usr/bin/env bash
# The text place mask and class scope on val (issue 14): one to four hints, find / remove / both, 200 val scenes
# x 3 runs, worded with the training phrasebook. Three settings, each chosen after the one before:
#   none    no place mask, no class scope (the paper; the release before issue 14)  -> OUT/OP-none.json
#   0.25    the place mask 0.25 (chosen on val for one remove hint), no scope        -> OUT/OP-0.25.json
#   scope   the mask and the class scope (session.TEXT_CLASS_SCOPE; today's default) -> OUT/OP-0.25-scope-default.json
#   bash experiments/text_val.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
OUT=${1:-checkpoints/scenes-lraspp/eval/text-val}
mkdir -p "$OUT"
for OP in find remove both; do
  for SETTING in "none none $OP-none" "0.25 none $OP-0.25" "0.25 default $OP-0.25-scope-default"; do
    read -r M S NAME <<< "$SETTING"
    $PY -m guide evaluate text --model checkpoints/scenes-lraspp --split val --runs 3 --hints 0,1,2,3,4 --ops $OP \
        --phrasings templates --threads 1 --place-mask $M --class-scope $S \
        --json "$OUT/$NAME.json" | tail -3
  done
done
