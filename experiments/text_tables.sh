#!/usr/bin/env bash
# README's text tables (issue 14): one to four hints worded with the training phrasebook on the 300 test scenes,
# 5 runs, find / remove / both, through the app's Conversation (the guide reads the reader's canonical rewording);
# then the held-out wordings (experiments/heldout.sh) with the guide reading the reader's rewording and the words.
#   bash experiments/text_tables.sh          # writes checkpoints/scenes-lraspp/eval/text-{find,remove,both}-templates.json, heldout-*.json
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
EVAL=checkpoints/scenes-lraspp/eval
for OP in find remove both; do
  $PY -m guide evaluate text --model checkpoints/scenes-lraspp --split test --runs 5 --hints 0,1,2,3,4 --ops $OP \
      --phrasings templates --json "$EVAL/text-$OP-templates.json" ${THREADS:+--threads $THREADS}
done
READ=reader bash experiments/heldout.sh checkpoints/scenes-lraspp shipped
READ=words bash experiments/heldout.sh checkpoints/scenes-lraspp shipped
