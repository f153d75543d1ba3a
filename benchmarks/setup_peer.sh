#!/usr/bin/env bash
# Install the peer benchmark client (guidellm, from PyPI) into its own venv, benchmarks/.peer-venv.
#
# Idempotent: a venv that already imports guidellm is left alone. torch (a guidellm
# dependency) is installed first, pinned to the CPU build, so pip does not pull a
# multi-GB CUDA build. py-spy (a sampling profiler, one binary) comes along for profiling
# the llmecon client. Override the versions with GUIDELLM_VERSION / TORCH_VERSION.
#
# Run: bash benchmarks/setup_peer.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${PEER_VENV:-$HERE/.peer-venv}"
PYTHON="${PYTHON:-python3.11}"
GUIDELLM_VERSION="${GUIDELLM_VERSION:-0.8.1}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"

if [ -x "$VENV/bin/guidellm" ] && "$VENV/bin/python" -c "import guidellm" 2>/dev/null; then
    echo "peer venv ready: $VENV ($("$VENV/bin/python" -m pip show guidellm | grep ^Version))"
    exit 0
fi

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# CPU torch first: pip finds the local CPU wheel (find-links) for this exact version.
"$VENV/bin/python" -m pip install --quiet "torch==$TORCH_VERSION"
"$VENV/bin/python" -m pip install --quiet "guidellm==$GUIDELLM_VERSION" "torch==$TORCH_VERSION" py-spy
"$VENV/bin/python" -c "import guidellm; print('guidellm', guidellm.__file__)"
echo "peer venv ready: $VENV"
