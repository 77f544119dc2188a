#!/usr/bin/env bash
# Benchmarks: a full reconcile against the sandboxes at N = 1k, 10k, 100k assigned users (20 ms per
# request, 10% needing a change) next to the Okta Workflows template run per user (measured up to
# 10k) and the floor, plus DAG parse times against same-shape EmptyOperator DAGs; issue 16's figures
# side by side (with the event freshness of benchmarks/results/event-latency.json), the machine and
# its load. Prints the tables; writes benchmarks/results/<name>.json and .md. See docs/benchmarks.md.
# Usage: scripts/bench.sh [--sizes 1k,10k,100k,1m] [--latency-ms 20] [--name latest] [other options: --help]
#        scripts/bench.sh events [--count 20] [--output benchmarks/results]   (Okta push beside polling)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
exec uv run --frozen python -m benchmarks "$@"
