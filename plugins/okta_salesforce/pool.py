"""The ``salesforce_api`` pool: every Salesforce write task runs in it.

Airflow's scheduler never starts a task whose pool does not exist (it only logs a warning), so
``okta-salesforce init`` and ``okta-salesforce check`` look the pool up and say how to create it.
"""

from __future__ import annotations

SALESFORCE_POOL = "salesforce_api"
POOL_SLOTS = 4
POOL_DESCRIPTION = "Bounds concurrent Salesforce API work"


class PoolLookupError(RuntimeError):
    """The metadata database could not be asked about the pool."""


def pool_slots(name: str = SALESFORCE_POOL) -> int | None:
    """The slots of pool ``name``, ``None`` when it does not exist.

    Reads the metadata database, so it runs where the Airflow CLI runs (not inside a task).

    :raises PoolLookupError: when the metadata database cannot be read.
    """
    try:
        from airflow.models.pool import Pool
        from airflow.utils.session import create_session
        from sqlalchemy import select

        with create_session() as session:
            pool = session.scalar(select(Pool).where(Pool.pool == name))
            return None if pool is None else int(pool.slots)
    except Exception as err:
        raise PoolLookupError(f"could not read the metadata database: {type(err).__name__}") from err
