#!/usr/bin/env bash
# The whole test suite: lint, type check (mypy), unit, integration (sandboxes, airflow dags test), e2e
# (Celery) and browser tiers on the locked Airflow, then the unit and DAG-integration tiers on the lowest
# supported Airflow.
# Usage: scripts/test.sh [extra pytest args]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
echo "==> system packages for the e2e and browser tiers (chromium, docker-compose)"
bash "$ROOT/scripts/e2e-prerequisites.sh"
echo "==> services for the integration and e2e tiers (PostgreSQL, Redis)"
bash "$ROOT/scripts/services.sh"
echo "==> ruff (lint, including Airflow's AIR rules) and format check"
uv run --frozen ruff check plugins testbed dags tests benchmarks scripts
uv run --frozen ruff format --check plugins testbed dags tests benchmarks scripts
echo "==> mypy (the provider and the test bed; strict on sync/ and hooks/; cache in .mypy_cache)"
uv run --frozen mypy
echo "==> pytest (locked environment, Airflow 3.3)"
uv run --frozen pytest -n 2 --dist loadgroup "$@"
bash "$ROOT/scripts/test-lowest-airflow.sh"
