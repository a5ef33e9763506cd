#!/usr/bin/env bash
# Create the virtual environment and install membot with everything it needs.
# The CPU build of PyTorch is installed first so that the embedding model's
# dependencies do not pull a multi-gigabyte CUDA build.
set -euo pipefail
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  "$VENV/bin/python" -m pip install --quiet "torch==${TORCH_VERSION}" \
    || "$VENV/bin/python" -m pip install --quiet "torch==${TORCH_VERSION}" \
         --index-url https://download.pytorch.org/whl/cpu
fi
"$VENV/bin/python" -m pip install --quiet -e ".[dev]"
echo "membot installed in $VENV"
