#!/usr/bin/env bash
# Issue 23: the reader and the text guide on the frozen blind held-out phrasings (guide/text/heldout_blind.py,
# frozen in commit 61b8b95, never tuned on) and on the development phrasings (guide/text/devset.py, tuned on).
#   bash experiments/blind.sh   # writes checkpoints/scenes-lraspp/eval/reader-{blind,dev}.json and blind-{templates,dev,blind}-{find,remove}.json
# One hint, the first 150 test scenes x 3 runs, as the held-out table of README (experiments/heldout.sh); the simulated
# user answers any confirmation question truthfully. The share of the canonical gain is blind / templates.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
MODEL=${MODEL:-checkpoints/scenes-lraspp}
EVAL=checkpoints/scenes-lraspp/eval
for PH in dev blind; do
  $PY -m guide evaluate reader --model "$MODEL" --phrasings $PH --json "$EVAL/reader-$PH.json"
done
for OP in find remove; do
  for PH in templates dev blind; do
    $PY -m guide evaluate text --model "$MODEL" --split test --limit 150 --runs 3 --hints 0,1 --ops $OP \
        --phrasings $PH --json "$EVAL/blind-$PH-$OP.json" ${THREADS:+--threads $THREADS}
  done
done
$PY - "$EVAL" <<'PY'
import json, sys
e = sys.argv[1]
for op in ("find", "remove"):
    gain = {}
    for ph in ("templates", "dev", "blind"):
        m = json.load(open(f"{e}/blind-{ph}-{op}.json"))["miou"]
        gain[ph] = m[1] - m[0]
    print(f"{op}: gain templates {100 * gain['templates']:+.2f}, dev {100 * gain['dev']:+.2f} "
          f"({100 * gain['dev'] / gain['templates']:.0f} %), blind {100 * gain['blind']:+.2f} "
          f"({100 * gain['blind'] / gain['templates']:.0f} % of the canonical gain)")
PY
