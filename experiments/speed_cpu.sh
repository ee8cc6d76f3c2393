#!/usr/bin/env bash
# README "Speed" on this CPU, one after the other on an otherwise idle machine (issue 12):
# the embedded model, a text turn against the conversation's length, all six torchvision architectures
# at 520 px, the browser, 8 users.
#   bash experiments/speed_cpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
$PY -m guide bench --model checkpoints/scenes-lraspp --json checkpoints/scenes-lraspp/eval/bench-cpu.json
OMP_NUM_THREADS=1 $PY experiments/turn_growth.py --repeats 15 --json checkpoints/eval/turn-growth-cpu.json
$PY -m guide bench --all-archs --size 520 --device cpu --json checkpoints/eval/bench-520-cpu.json
$PY experiments/browser_bench.py --repeats 12 --json checkpoints/eval/browser-cpu.json
$PY experiments/load.py --users 8 --turns 12 --think 1.0 --json checkpoints/eval/load-cpu.json
