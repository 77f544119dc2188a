#!/usr/bin/env bash
# The demo: sandboxes of Okta and Salesforce, a full reconcile and an incremental sync with
# `airflow dags test` on an embedded SQLite database, explained step by step.
# Usage: scripts/demo.sh [--users N] [--standalone]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
exec uv run --frozen okta-salesforce demo "$@"
