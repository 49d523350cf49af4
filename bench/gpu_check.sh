#!/usr/bin/env bash
# GPU check (< 8 minutes on one GPU): the fp16/bf16 library tests on CUDA, B1 and B2 on
# gemma-3-270m, CUDA peak memory, then the default stress test cut to 2 and 8 examples per concept.
# Never needed for CI. Usage: bash bench/gpu_check.sh [extra args for gpu_check.py]
# (STRESS_MODEL=... names the stress test's model; see bench/gpu_stress_test.sh)
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1
"$PY" -c "import torch; print('CUDA:', torch.cuda.is_available(), torch.__version__)"
STEERING_TEST_DEVICE=cuda timeout 240 "$PY" -m pytest -q -x -p no:cacheprovider \
  -m "not slow and not cluster and not workflow" tests/core/test_hooks.py tests/core/test_generation.py \
  tests/fit/test_prototype_regressions.py 2>&1 | tail -15 || echo "library tests: see above"
timeout 240 "$PY" bench/gpu_check.py "$@"
if "$PY" -c "import snakemake" 2>/dev/null; then
  timeout 420 bash bench/gpu_stress_test.sh "${STRESS_MODEL:-gemma-3-270m}"
else
  echo "snakemake is not installed here: stress-test part skipped"
fi
