#!/usr/bin/env bash
# The default stress test cut to 2 and 8 examples per concept (ablation at 8) on one CUDA GPU: per-stage wall
# time and peak RSS (bench/b6_stress_test.py) and the fit's CUDA peak memory per number of examples (report).
#   bash bench/gpu_stress_test.sh                      # embedded gemma-3-270m
#   bash bench/gpu_stress_test.sh MODEL                # any embedded name, folder or hub id
#   bash bench/gpu_stress_test.sh --random-from DIR    # no weights on the machine: a
#        random-weight model of DIR's config + tokenizer (timings and memory only)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1
MODEL="${1:-gemma-3-270m}"
if [ "$MODEL" = "--random-from" ]; then
  MODEL="${TMPDIR:-/tmp}/steering-random-model"
  "$PY" bench/random_model.py "$2" "$MODEL"
fi
RESULTS=results/gpu_stress_test
"$PY" -c "import torch; print('CUDA:', torch.cuda.is_available(), torch.__version__)"
start=$(date +%s)
"$PY" -m snakemake --profile workflow/profiles/local --config \
  "model={\"name\": \"$MODEL\"}" "judge={\"model\": \"$MODEL\"}" \
  'n_examples=[2,8]' 'ablation={"n_examples":[8]}' "results_dir=$RESULTS"
echo "workflow wall time: $(( $(date +%s) - start )) s"
"$PY" bench/b6_stress_test.py --results "$RESULTS"
sed -n '/^## Steering effectiveness/,/^### Per examples/p;/^## Cost/,/^## Figures/p' "$RESULTS/report/report.md"
sed -n '/Conclusion/,$p' "$RESULTS/report/report.md"
