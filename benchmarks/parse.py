"""DAG parse time: each file of ``dags/`` against a trivial DAG, each parse in a fresh process.

A child process imports Airflow and :class:`~airflow.dag_processing.dagbag.DagBag` first (the
DAG processor has them loaded too), then times ``DagBag.process_file`` on one file: the file's
own imports plus building its DAGs. The parent repeats every file ``repetitions`` times,
interleaving the files so that load on a shared machine falls on all of them alike, and keeps
the median. Child mode::

    python -m benchmarks.parse dags/okta_salesforce_reconcile.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TRIVIAL_DAG = '''"""A trivial DAG: the reference for parse times."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG(dag_id="trivial", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    EmptyOperator(task_id="noop")
'''


def parse_once(path: str) -> dict[str, Any]:
    """Time one ``DagBag.process_file`` of ``path`` in this (fresh) process."""
    import airflow.sdk  # noqa: F401 - loaded before the clock starts, as in the DAG processor

    from okta_salesforce.version_compat import dagbag_class

    DagBag = dagbag_class()

    bag = DagBag(dag_folder=os.path.dirname(path), collect_dags=False)
    started = time.perf_counter()
    dags = bag.process_file(path, only_if_updated=False, safe_mode=False)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "dags": len(dags), "errors": len(bag.import_errors)}


def measure(
    files: list[Path], *, repetitions: int = 5, env: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Median parse seconds of each file and of the trivial DAG, and each file's ratio to it."""
    # A fixed path and an unchanged mtime let the trivial DAG's bytecode be cached like the others'.
    trivial = Path(tempfile.gettempdir()) / "okta-salesforce-bench-parse" / "trivial_dag.py"
    trivial.parent.mkdir(parents=True, exist_ok=True)
    if not trivial.exists() or trivial.read_text() != TRIVIAL_DAG:
        trivial.write_text(TRIVIAL_DAG)
    with tempfile.TemporaryDirectory(prefix="bench-parse-") as tmp:
        child_env = {
            **os.environ,
            **(env or {}),
            "AIRFLOW_HOME": tmp,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }
        targets = [trivial, *files]
        samples: dict[Path, list[float]] = {t: [] for t in targets}
        found: dict[Path, dict[str, Any]] = {}
        for _ in range(repetitions):
            for target in targets:
                out = subprocess.run(
                    [sys.executable, "-m", "benchmarks.parse", str(target)],
                    env=child_env,
                    cwd=Path(__file__).resolve().parents[1],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                result = json.loads(out.stdout.strip().splitlines()[-1])
                samples[target].append(result["seconds"])
                found[target] = result
    reference = statistics.median(samples[trivial])
    rows = []
    for target in targets:
        median = statistics.median(samples[target])
        rows.append(
            {
                "file": "(trivial DAG)" if target == trivial else _relative(target),
                "median_ms": round(median * 1000, 2),
                "min_ms": round(min(samples[target]) * 1000, 2),
                "ratio": round(median / reference, 2),
                "dags": found[target]["dags"],
                "errors": found[target]["errors"],
                "samples_ms": [round(s * 1000, 2) for s in samples[target]],
            }
        )
    return rows


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path(__file__).resolve().parents[1]))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    print(json.dumps(parse_once(sys.argv[1])))
