"""What differs between the supported Airflow versions (3.1, 3.2, 3.3), in one place.

Import version-dependent names from here, never with a ``try``/``except ImportError`` scattered in
other modules. What needs a newer Airflow and what happens on an older one:

- The event trigger's cursor lives in the watched Asset's state store from Airflow 3.3 (AIP-103);
  before 3.3 it is kept in the triggerer's memory (see ``okta_salesforce.triggers.okta_events``).
- ``BaseBranchOperator`` and the task exceptions moved into ``airflow.sdk`` in 3.2/3.3; 3.1 has them
  in the standard provider and ``airflow.exceptions``.
- Connection forms from ``conn-fields`` in the provider info are drawn by Airflow 3.3; 3.1 draws the
  hooks' ``get_connection_form_widgets`` instead, when the FAB provider (wtforms) is installed.
"""

from __future__ import annotations

from typing import Any

from packaging.version import Version


def _airflow_version() -> Version:
    from airflow import __version__

    return Version(Version(__version__).base_version)


AIRFLOW_VERSION = _airflow_version()
#: The lowest Airflow this provider supports.
MIN_AIRFLOW_VERSION = Version("3.1.0")
AIRFLOW_V_3_2_PLUS = Version("3.2.0") <= AIRFLOW_VERSION
AIRFLOW_V_3_3_PLUS = Version("3.3.0") <= AIRFLOW_VERSION

try:
    from airflow.sdk import BaseBranchOperator
except ImportError:  # Airflow 3.1
    from airflow.providers.standard.operators.branch import BaseBranchOperator  # type: ignore[assignment]

try:
    from airflow.sdk.exceptions import (
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSkipException,
        ParamValidationError,
    )
except ImportError:  # Airflow 3.1
    # mypy checks against Airflow 3.3, where these live in airflow.sdk.exceptions.
    from airflow.exceptions import (  # type: ignore[no-redef,attr-defined]
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSkipException,
        ParamValidationError,
    )


def dagbag_class() -> type:
    """Airflow's ``DagBag`` class: ``airflow.dag_processing.dagbag`` on 3.3, ``airflow.models.dagbag`` before.

    Imported on call, as it loads much of Airflow.
    """
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.1 and 3.2
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]
    return DagBag


def storage_conn_id(path: Any) -> str | None:
    """The Airflow connection an ``ObjectStoragePath`` uses (``s3://conn@bucket/...``).

    Airflow 3.3 has it as ``path.conn_id``; 3.1 keeps it in ``path.storage_options["conn_id"]``.
    """
    conn_id = getattr(path, "conn_id", None)
    if conn_id is None:
        conn_id = (getattr(path, "storage_options", None) or {}).get("conn_id")
    return conn_id or None


__all__ = [
    "AIRFLOW_VERSION",
    "AIRFLOW_V_3_2_PLUS",
    "AIRFLOW_V_3_3_PLUS",
    "MIN_AIRFLOW_VERSION",
    "AirflowFailException",
    "AirflowNotFoundException",
    "AirflowSkipException",
    "BaseBranchOperator",
    "ParamValidationError",
    "dagbag_class",
    "storage_conn_id",
]
