#!/usr/bin/env bash
# Which text guide ships, and does the guide read the reader's rewording or the words? (issue 14)
# Chosen on val only: 200 val scenes x 3 runs, one find / one remove hint worded with the training phrasebook,
# for the fine-tuned guide (git show d99ac7a:checkpoints/scenes-lraspp/text_guide.safetensors) and the first one
# (paper templates, shipped again), each reading the reader's canonical rewording or the typed words.
#   bash experiments/reword_val.sh FIRST_MODEL_DIR TUNED_MODEL_DIR OUT   # OUT/{first,tuned}-{reader,words}-{find,remove}.json
# (model dirs: a copy of checkpoints/scenes-lraspp with that text_guide.safetensors and its config's "trained").
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
OUT=${3:-checkpoints/scenes-lraspp/eval/reword-val}
mkdir -p "$OUT"
for PAIR in "first:$1" "tuned:$2"; do NAME=${PAIR%%:*}; MODEL=${PAIR#*:}
  for READ in reader words; do for OP in find remove; do
    $PY -m guide evaluate text --model "$MODEL" --split val --limit 300 --runs 3 --hints 0,1 --ops $OP \
        --phrasings templates --read $READ --threads 1 --place-mask none --class-scope none --json "$OUT/$NAME-$READ-$OP.json"
  done; done
done
