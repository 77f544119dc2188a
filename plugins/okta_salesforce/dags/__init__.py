"""The provider's DAG definitions: one set per target of the sync config.

A project's DAG folder holds thin files that import them (``okta-salesforce init DIR`` writes
them), so upgrading the provider upgrades the DAGs. Each module builds its DAG for every target
of the config (:func:`target_configs`) into ``dags`` (DAG id → DAG), which the thin file puts in its
globals, where Airflow finds them. A config without ``targets:`` gives one DAG with today's id,
also available as the module's ``dag``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import DAG

    from okta_salesforce.sync.config import SyncConfig
    from okta_salesforce.sync.dag_config import DagConfig


def target_configs() -> list[DagConfig | None]:
    """Every target of the sync config, read when the DAG files are parsed (a small YAML file).

    Only what the DAGs need is read (:mod:`okta_salesforce.sync.dag_config`: targets, connections,
    pool, retries, notifiers), once per process per change of the file; the tasks validate the whole
    config when they run. ``[None]`` when there is no config file: the DAGs keep today's ids and
    their tasks fail on the missing file, visibly. A problem in what is read raises: an import
    error, shown in the UI.
    """
    from okta_salesforce.config_location import resolve_config_path
    from okta_salesforce.sync.dag_config import read_dag_configs

    try:
        path = resolve_config_path()
    except FileNotFoundError:
        return [None]
    return list(read_dag_configs(path))


def build_dags(build: Callable[[DagConfig | None], DAG]) -> dict[str, DAG]:
    """``build`` for every target: DAG id → DAG."""
    return {dag.dag_id: dag for dag in map(build, target_configs())}


def single_dag(dags: dict[str, DAG], module: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` giving ``dag`` (thin files written before targets import it).

    With several targets there is no one ``dag``: the import fails with what to do.
    """

    def __getattr__(name: str) -> Any:
        if name != "dag":
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        if len(dags) == 1:
            return next(iter(dags.values()))
        raise ImportError(
            f"{module} builds one DAG per target ({', '.join(dags)}): this DAG file imports only `dag`. "
            "Run `okta-salesforce init --force` to rewrite the thin DAG files (they import `dags`)."
        )

    return __getattr__


def target_tags(config: DagConfig | SyncConfig | None) -> list[str]:
    """A tag naming the target, for DAGs of a named target."""
    return [f"target:{config.target}"] if config is not None and config.target else []


def target_doc(config: DagConfig | SyncConfig | None) -> str:
    """A line of the DAG's doc naming its target and connections."""
    if config is None or not config.target:
        return ""
    return (
        f"\n\n**Target `{config.target}`**: Okta app `{config.okta_app_id}` on connection "
        f"`{config.okta_conn_id}` to Salesforce connection `{config.salesforce_conn_id}`."
    )
