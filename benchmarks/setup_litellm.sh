#!/usr/bin/env bash
# Install LiteLLM's proxy (`litellm[proxy]`, from PyPI) into its own venv, benchmarks/.litellm-venv,
# for benchmarks/gateway_overhead.py (llmecon's gateway side by side with LiteLLM's proxy).
#
# Idempotent: a venv that already imports litellm.proxy at the pinned version is left alone.
# The version is pinned (override with LITELLM_VERSION): 1.108.4 is the newest release whose
# `proxy` extra resolves from the registry here (1.108.8 and later pin litellm-enterprise /
# litellm-proxy-extras / litellm-proxy builds it does not serve), and a pin never floats onto a
# bad upload (1.107.0 was compromised and pulled). py-spy (a sampling
# profiler, one binary from PyPI) comes along for profiling either gateway.
#
# No database is installed or configured: gateway_overhead.py writes LiteLLM a config.yaml with
# a model_list and a master_key only (see the docstring there for what that leaves out).
#
# Run: bash benchmarks/setup_litellm.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${LITELLM_VENV:-$HERE/.litellm-venv}"
PYTHON="${PYTHON:-python3.11}"
LITELLM_VERSION="${LITELLM_VERSION:-1.108.4}"

installed() {
    [ -x "$VENV/bin/litellm" ] && "$VENV/bin/python" - "$LITELLM_VERSION" <<'PY' 2>/dev/null
import importlib.metadata as m
import sys

import litellm.proxy.proxy_server  # noqa: F401  (the proxy's own imports, not just the SDK)

sys.exit(m.version("litellm") != sys.argv[1])
PY
}

if installed && [ -x "$VENV/bin/py-spy" ]; then
    echo "litellm venv ready: $VENV (litellm $LITELLM_VERSION)"
    exit 0
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "litellm[proxy]==$LITELLM_VERSION" py-spy
if ! installed; then
    echo "litellm[proxy]==$LITELLM_VERSION installed but its proxy does not import" >&2
    exit 1
fi
echo "litellm venv ready: $VENV (litellm $LITELLM_VERSION)"
