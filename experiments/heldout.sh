#!/usr/bin/env bash
# Wording the guide never saw (issue 14): one find / one remove hint on 150 test scenes x 3 runs, worded with the
# training phrasebook (guide/text/templates.py), the first guides' 7+7 templates (paper) or the held-out one
# (guide/text/heldout.py, never trained on); READ=reader (default: the guide reads the reader's canonical
# rewording, as the app does) or READ=words (the guide reads the words as typed). PLACE_MASK=none: no place mask
# (the rows of the first and fine-tuned guides were measured so; default: the session's mask); CLASS_SCOPE=none:
# hints change pixels of any class (rows measured before the class scope; default: the session's).
#   bash experiments/heldout.sh MODEL NAME   # writes checkpoints/scenes-lraspp/eval/heldout-NAME-READ-{paper,templates,heldout}-{find,remove}.json
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
MODEL=${1:-checkpoints/scenes-lraspp}
NAME=${2:-shipped}
READ=${READ:-reader}
EVAL=checkpoints/scenes-lraspp/eval
for OP in find remove; do
  for PH in paper templates heldout; do
    $PY -m guide evaluate text --model "$MODEL" --split test --limit 150 --runs 3 --hints 0,1 --ops $OP \
        --phrasings $PH --read $READ --json "$EVAL/heldout-$NAME-$READ-$PH-$OP.json" ${THREADS:+--threads $THREADS} \
        ${PLACE_MASK:+--place-mask $PLACE_MASK} ${CLASS_SCOPE:+--class-scope $CLASS_SCOPE}
  done
done
