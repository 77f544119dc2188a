#!/usr/bin/env bash
# The unit and DAG-integration tiers against the lowest supported Airflow (3.1.8), in a second
# environment (.venv-airflow-3.1) installed from the pinned ci/airflow-3.1/requirements.txt, beside
# the locked one (.venv, Airflow 3.3). Called by scripts/test.sh; runs on its own too.
# Usage: scripts/test-lowest-airflow.sh [extra pytest args]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
command -v uv >/dev/null 2>&1 || export PATH="$HOME/.local/bin:$PATH"
VENV="$ROOT/.venv-airflow-3.1"
echo "==> the lowest supported Airflow: syncing $VENV from ci/airflow-3.1/requirements.txt"
[ -x "$VENV/bin/python" ] || uv venv --quiet --python 3.11 "$VENV"
VIRTUAL_ENV="$VENV" uv pip sync --quiet ci/airflow-3.1/requirements.txt
"$VENV/bin/python" -c 'import airflow, sys; v = airflow.__version__; print("==> Airflow", v); sys.exit(not v.startswith("3.1."))' 2>/dev/null
echo "==> pytest (unit and DAG-integration tiers) on the lowest supported Airflow"
"$VENV/bin/python" -m pytest -n 2 --dist loadgroup -p no:cacheprovider \
  tests/unit tests/integration/test_dagbag.py tests/integration/test_scaffold_airflow.py \
  tests/integration/dags/test_reconciliation_dags.py "$@"
