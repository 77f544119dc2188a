"""``okta-salesforce init [DIR]``: bring the DAGs and a commented config into an existing Airflow project.

It writes thin DAG files (each imports its DAG from :mod:`okta_salesforce.dags`, so upgrading the
provider upgrades the DAGs) into ``DIR/dags`` and the config into ``DIR/include``, never overwriting
a file unless ``--force``, then prints what is left to do: where the config is set, the
``salesforce_api`` pool, the two connections, ``okta-salesforce check``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from okta_salesforce.config_location import OPTION, SECTION
from okta_salesforce.pool import POOL_DESCRIPTION, POOL_SLOTS, SALESFORCE_POOL, PoolLookupError, pool_slots
from okta_salesforce.sync.config import ENV_VAR

#: File name in the DAG folder -> (module under okta_salesforce.dags, one-line summary).
DAG_FILES: dict[str, tuple[str, str]] = {
    "okta_salesforce_reconcile.py": ("reconcile", "daily full reconciliation"),
    "okta_salesforce_sync.py": ("sync", "incremental sync every 15 minutes"),
    "okta_salesforce_events.py": ("events", "near-real-time runs from Okta assignment events"),
    "okta_salesforce_deprovision_approval.py": (
        "deprovision_approval",
        "approval of deprovisioning over the deactivation guard",
    ),
}
#: Written with ``--warehouse-example`` (needs a SQL connection ``okta_salesforce_warehouse``).
EXAMPLE_DAG_FILES: dict[str, tuple[str, str]] = {
    "okta_salesforce_report_to_warehouse.py": (
        "report_to_warehouse",
        "example: load each run's report into a SQL table",
    ),
}
CONFIG_NAME = "okta_salesforce.yaml"
#: The config's JSON Schema, written beside it for editors (its first line points there).
SCHEMA_NAME = "okta_salesforce.schema.json"


def thin_dag_source(module: str, summary: str) -> str:
    """The text of one thin DAG file importing ``okta_salesforce.dags.<module>``."""
    return (
        f'"""Okta to Salesforce: {summary}.\n\n'
        "An Airflow DAG defined in the provider package, written by `okta-salesforce init`.\n"
        "Upgrade the provider to change the DAG; keep this file.\n"
        '"""\n\n'
        f"from okta_salesforce.dags.{module} import dags\n\n"
        "globals().update(dags)  # one DAG per target of the config: Airflow finds them here\n"
    )


def config_template(name: str = CONFIG_NAME) -> str:
    """The commented config (or, with ``name=SCHEMA_NAME``, its JSON Schema) written into a project."""
    return files("okta_salesforce").joinpath("templates", name).read_text(encoding="utf-8")


@dataclass
class InitResult:
    """What ``init`` wrote and left alone."""

    dags_folder: Path
    config_path: Path
    written: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def init_project(
    directory: Path, *, force: bool = False, warehouse_example: bool = False, dags_folder: Path | None = None
) -> InitResult:
    """Write the thin DAG files and the config into the Airflow project at ``directory``.

    :param dags_folder: the project's DAG folder (default ``directory/dags``).
    :param force: overwrite files that already exist (otherwise they are kept and reported).
    """
    directory = directory.resolve()
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a directory: create the Airflow project first")
    dags = (dags_folder or directory / "dags").resolve()
    result = InitResult(dags_folder=dags, config_path=directory / "include" / CONFIG_NAME)
    targets = {dags / name: thin_dag_source(*spec) for name, spec in DAG_FILES.items()}
    if warehouse_example:
        targets.update({dags / name: thin_dag_source(*spec) for name, spec in EXAMPLE_DAG_FILES.items()})
    targets[result.config_path] = config_template()
    targets[result.config_path.with_name(SCHEMA_NAME)] = config_template(SCHEMA_NAME)
    for path, text in targets.items():
        if path.exists() and not force:
            result.kept.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        result.written.append(path)
    return result


def next_steps(result: InitResult, slots: int | None, *, pool_known: bool = True) -> str:
    """What is left to do, in order, as printed by ``init``.

    :param slots: the ``salesforce_api`` pool's slots, ``None`` when it does not exist.
    :param pool_known: ``False`` when the metadata database could not be asked.
    """
    if slots is not None:
        pool = f"   The pool {SALESFORCE_POOL!r} exists ({slots} slots).\n"
    else:
        unknown = "   (The metadata database could not be asked whether it exists.)\n"
        pool = (
            f"   Create the pool {SALESFORCE_POOL!r} (every Salesforce write task runs in it; without it\n"
            "   the scheduler never starts them):\n"
            f'     airflow pools set {SALESFORCE_POOL} {POOL_SLOTS} "{POOL_DESCRIPTION}"\n'
            + ("" if pool_known else unknown)
        )
    return (
        "Next steps:\n"
        "1. Edit the config (Okta app id, Profile names, mapping), then tell Airflow where it is, as the\n"
        "   scheduler and workers see it (both settings are equivalent; the environment variable wins):\n"
        f"     {ENV_VAR}={result.config_path}\n"
        f"     [{SECTION}] {OPTION} = {result.config_path}   (AIRFLOW__OKTA_SALESFORCE__CONFIG_PATH)\n"
        f"2.{pool[2:]}"
        "3. Create the two connections:\n"
        "     okta-salesforce authorize --client-id <consumer key> --login-url https://<my-domain>.my.salesforce.com\n"
        "       (stores salesforce_oauth_default; see docs/salesforce-connection.md)\n"
        "     airflow connections add okta_default --conn-type okta \\\n"
        "       --conn-host https://<your-org>.okta.com --conn-password <API token>\n"
        "       (or an API service app; see docs/okta-connection.md)\n"
        "4. Check everything against the real tenants:  okta-salesforce check\n"
        "5. Trigger okta_salesforce_reconcile with dry_run on, read the plan, then run it for real.\n"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``init`` options."""
    parser.add_argument("directory", nargs="?", default=".", help="the Airflow project (default: here)")
    parser.add_argument("--dags-folder", default=None, help="the project's DAG folder (default: DIR/dags)")
    parser.add_argument("--force", action="store_true", help="overwrite files that already exist")
    parser.add_argument(
        "--warehouse-example",
        action="store_true",
        help="also write the example DAG that loads each report into a SQL table",
    )


def run(args: argparse.Namespace) -> int:
    """Write the files and print the next steps."""
    result = init_project(
        Path(args.directory),
        force=args.force,
        warehouse_example=args.warehouse_example,
        dags_folder=Path(args.dags_folder) if args.dags_folder else None,
    )
    for path in result.written:
        print(f"wrote  {path}")
    for path in result.kept:
        print(f"kept   {path} (exists; --force overwrites)")
    print()
    try:
        slots, known = pool_slots(SALESFORCE_POOL), True
    except PoolLookupError:
        slots, known = None, False
    print(next_steps(result, slots, pool_known=known))
    return 0
