#!/usr/bin/env bash
# The GPU checks, as one short script (run on a CUDA machine from the repo root; results under $OUT or ./gpu-out):
# the core tests on CUDA (the tiny models, the point tail against the dense tail, sessions), then the
# 520 px bench of all six architectures. Packages the GPU image lacks (gradio, gensim, pycocotools) are
# not needed by these tests; the app and text tests run in CI on the CPU.
set -uo pipefail
out=${OUT:-gpu-out}; mkdir -p "$out"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__, torch.cuda.get_device_name())" | tee -a "$out/gpu.txt"
GUIDE_TEST_DEVICE=cuda timeout 200 python3 -m pytest -q -p no:cacheprovider -k "not model_bench" \
  tests/test_pointtail.py tests/test_session.py tests/test_backprop.py tests/test_block.py tests/test_split.py tests/test_bench.py 2>&1 | tee "$out/tests-cuda.log"
timeout 240 python3 -m guide bench --all-archs --size 520 --device cuda --json "$out/bench-520-cuda.json" 2>&1 | tee "$out/bench-520-cuda.log"
