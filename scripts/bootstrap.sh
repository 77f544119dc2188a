#!/usr/bin/env bash
# Set up the locked environment: install uv if it is missing, then sync .venv from uv.lock.
# Sourced by the other scripts; safe to run on its own.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if ! command -v uv >/dev/null 2>&1; then
  echo "==> installing uv (the package manager) with pip"
  python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv
  export PATH="$HOME/.local/bin:$PATH"
fi
echo "==> syncing the locked environment (.venv from uv.lock)"
uv sync --frozen --quiet
