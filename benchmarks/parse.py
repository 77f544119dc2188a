"""DAG parse time: each file of ``dags/`` against a DAG of the same shape built from EmptyOperators.

For every DAG file the parent first reads its *shape* (``--shape``, in a child): each DAG's id,
schedule, params, task ids and edges. It writes a reference file that builds the same DAGs (same
task ids, edges, params and schedule; asset schedules as plain named Assets) from
``EmptyOperator`` only: what any DAG of that shape costs to parse in Airflow. What the real file
takes above it is ours (our imports, config reads, operator constructors).

A child process imports Airflow and :class:`~airflow.dag_processing.dagbag.DagBag` first (the
DAG processor has them loaded too), then times ``DagBag.process_file`` on one file: the file's
own imports plus building its DAGs; and, as ``processed``, that plus serializing the DAGs, which
the DAG processor does next in the same process (its dependency detector imports the standard
provider's ``TriggerDagRunOperator`` module for any DAG, so that cost lands on every file).
The parent repeats every file and every reference
``repetitions`` times, interleaving them so that load on a shared machine falls on all alike,
and keeps the median. A trivial DAG (one ``EmptyOperator``) is measured too, for scale. Child mode::

    python -m benchmarks.parse dags/okta_salesforce_reconcile.py
    python -m benchmarks.parse --shape dags/okta_salesforce_reconcile.py
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


SHAPE_TEMPLATE = '''"""Same shape as {source} (ids, schedules, params, tasks, edges) from EmptyOperators."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset, Param

SHAPES = {shapes!r}

for shape in SHAPES:
    schedule = shape["schedule"]
    if shape["assets"]:
        schedule = [Asset(name=name) for name in shape["assets"]]
    with DAG(
        dag_id=shape["dag_id"],
        schedule=schedule,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        params={{
            k: Param(v["value"], description=v["description"], **v["schema"])
            for k, v in shape["params"].items()
        }},
    ):
        tasks = {{task_id: EmptyOperator(task_id=task_id) for task_id in shape["edges"]}}
        for upstream, downstream in shape["edges"].items():
            for task_id in downstream:
                tasks[upstream] >> tasks[task_id]
'''


def shape_of(path: str) -> list[dict[str, Any]]:
    """The shape of each DAG ``path`` defines: id, schedule, asset names, params, task ids and edges."""
    from okta_salesforce.version_compat import dagbag_class

    bag = dagbag_class()(dag_folder=os.path.dirname(path), collect_dags=False)
    shapes = []
    for dag in bag.process_file(path, only_if_updated=False, safe_mode=False):
        schedule = getattr(dag, "schedule", None)
        condition = getattr(dag.timetable, "asset_condition", None)
        assets = []
        if condition is not None and not isinstance(schedule, str):
            assets = [getattr(a, "name", None) or str(a) for a in _iter_assets(condition)]
        params = {}
        for key in dag.params:
            param = dag.params.get_param(key)
            params[key] = {
                "value": param.value,
                "description": param.description,
                "schema": dict(param.schema),
            }
        shapes.append(
            {
                "dag_id": dag.dag_id,
                "schedule": schedule if isinstance(schedule, str) else None,
                "assets": assets,
                "params": params,
                "edges": {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks},
            }
        )
    return shapes


def _iter_assets(condition: Any) -> list[Any]:
    found = getattr(condition, "iter_assets", None)
    if found is None:
        return []
    return [a for _, a in found()]


def shape_file(source: Path, shapes: list[dict[str, Any]], folder: Path) -> Path:
    """Write the EmptyOperator file of ``shapes`` into ``folder``; rewritten only when it changes."""
    target = folder / f"shape_of_{source.stem}.py"
    text = SHAPE_TEMPLATE.format(source=_relative(source), shapes=shapes)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    return target


def parse_once(path: str) -> dict[str, Any]:
    """Time one ``DagBag.process_file`` of ``path`` in this (fresh) process."""
    import airflow.sdk  # noqa: F401 - loaded before the clock starts, as in the DAG processor

    from okta_salesforce.version_compat import dagbag_class

    DagBag = dagbag_class()

    try:
        from airflow.serialization.serialized_objects import DagSerialization
    except ImportError:  # Airflow 3.1
        from airflow.serialization.serialized_objects import SerializedDAG as DagSerialization

    bag = DagBag(dag_folder=os.path.dirname(path), collect_dags=False)
    started = time.perf_counter()
    dags = bag.process_file(path, only_if_updated=False, safe_mode=False)
    seconds = time.perf_counter() - started
    # What the DAG processor does next in the same process: serialize every DAG (which imports the
    # standard provider's TriggerDagRunOperator and ExternalTaskSensor for their DAG dependencies).
    for dag in dags:
        DagSerialization.to_dict(dag)
    processed = time.perf_counter() - started
    return {
        "seconds": seconds,
        "processed_seconds": processed,
        "dags": len(dags),
        "errors": len(bag.import_errors),
    }


def _child(args: list[str], env: dict[str, str]) -> Any:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.parse", *args],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"benchmarks.parse {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(
    files: list[Path], *, repetitions: int = 5, env: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Median parse seconds of each file, of its same-shape EmptyOperator DAG, and of a trivial DAG.

    Each file's row has ``ratio`` (to its shape: the goal is at most 1.2), ``x_trivial`` and
    ``processed_ratio`` (parse plus serialization, as the DAG processor does, to the shape's).
    """
    # Fixed paths and unchanged mtimes let the references' bytecode be cached like the files'.
    folder = Path(tempfile.gettempdir()) / "okta-salesforce-bench-parse"
    folder.mkdir(parents=True, exist_ok=True)
    trivial = folder / "trivial_dag.py"
    if not trivial.exists() or trivial.read_text() != TRIVIAL_DAG:
        trivial.write_text(TRIVIAL_DAG)
    with tempfile.TemporaryDirectory(prefix="bench-parse-") as tmp:
        child_env = {
            **os.environ,
            **(env or {}),
            "AIRFLOW_HOME": tmp,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }
        shapes = {f: shape_file(f, _child(["--shape", str(f)], child_env), folder) for f in files}
        targets = [trivial, *files, *shapes.values()]
        samples: dict[Path, list[float]] = {t: [] for t in targets}
        processed: dict[Path, list[float]] = {t: [] for t in targets}
        found: dict[Path, dict[str, Any]] = {}
        for _ in range(repetitions):
            for target in targets:
                result = _child([str(target)], child_env)
                samples[target].append(result["seconds"])
                processed[target].append(result.get("processed_seconds", result["seconds"]))
                found[target] = result
    trivial_median = statistics.median(samples[trivial])

    def row(target: Path, label: str, reference: Path | None) -> dict[str, Any]:
        median = statistics.median(samples[target])
        out = {
            "file": label,
            "median_ms": round(median * 1000, 2),
            "min_ms": round(min(samples[target]) * 1000, 2),
            "x_trivial": round(median / trivial_median, 2),
            "dags": found[target]["dags"],
            "errors": found[target]["errors"],
            "samples_ms": [round(s * 1000, 2) for s in samples[target]],
        }
        processed_median = statistics.median(processed[target])
        out["processed_median_ms"] = round(processed_median * 1000, 2)
        if reference is not None:
            shape_median = statistics.median(samples[reference])
            shape_processed = statistics.median(processed[reference])
            out |= {
                "shape_median_ms": round(shape_median * 1000, 2),
                "ratio": round(median / shape_median, 2),
                "shape_processed_median_ms": round(shape_processed * 1000, 2),
                "processed_ratio": round(processed_median / shape_processed, 2),
            }
        return out

    rows = [row(trivial, "(trivial DAG)", None)]
    rows += [row(f, _relative(f), shapes[f]) for f in files]
    return rows


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path(__file__).resolve().parents[1]))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    if sys.argv[1] == "--shape":
        print(json.dumps(shape_of(sys.argv[2])))
    else:
        print(json.dumps(parse_once(sys.argv[2 if sys.argv[1] == "--" else 1])))
