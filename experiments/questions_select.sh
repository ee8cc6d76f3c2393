#!/usr/bin/env bash
# Twenty questions: choose the settings on val, then measure test once (README, "Twenty questions").
# Every setting plays 20 questions on the first $VAL val scenes; the one with the best mIoU after
# 20 questions is then run on the first 100 test scenes, beside the defaults. CPU only, --workers N.
# Usage: bash experiments/questions_select.sh OUTDIR [WORKERS] [VAL]
set -euo pipefail
out=${1:?output folder}; workers=${2:-4}; val=${3:-100}
mkdir -p "$out"
M=checkpoints/scenes-lraspp
declare -A S=(
  [base]=""                       # the defaults: margin 1, ask_region 3
  [m0.5]="--margin 0.5" [m2]="--margin 2"
  [r0]="--region 0" [r6]="--region 6"
  [s3]="--spread 3"
  [l2e-4]="--l2 1e-4"
  [lr0.1]="--lr 0.1"
  [m2r6]="--margin 2 --region 6" [m2s3]="--margin 2 --spread 3"
)
for name in "${!S[@]}"; do
  python3 -m guide evaluate questions --model $M --split val --limit "$val" --questions 0,10,20 \
    --workers "$workers" ${S[$name]} --json "$out/val-$name.json" > /dev/null 2>&1 || echo "val $name failed"
done
best=$(python3 - "$out" <<'PY'
import json, pathlib, sys
rows = []
for f in sorted(pathlib.Path(sys.argv[1]).glob("val-*.json")):
    r = json.loads(f.read_text())
    rows.append((r["miou"][r["questions"].index(20)], f.stem[4:]))
for m, n in sorted(rows, reverse=True):
    print(f"# val {n:<8} mIoU@20 {100 * m:.1f}", file=sys.stderr)
print(max(rows)[1])
PY
)
echo "best on val: $best (${S[$best]})"
for name in base "$best"; do
  python3 -m guide evaluate questions --model $M --split test --limit 100 --questions 0,1,5,10,15,20 \
    --workers "$workers" ${S[$name]} --json "$out/test-$name.json" | tail -4
done
