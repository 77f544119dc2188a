"""Where the Salesforce refresh token (rotated) and access token (shared) live between tasks and runs.

With Refresh Token Rotation, every refresh returns a new refresh token and invalidates the one
that was spent, so the new one must be written somewhere the next task will read it. Airflow 3
tasks cannot write connections (they have no metadata-database access), but they can write
Variables through the Task SDK, so :class:`VariableTokenStore` is the default.
:class:`FileTokenStore` serves tests, the CLI and single-host set-ups.

A stored token remembers which connection refresh token it descends from (``origin``, a
fingerprint, never the token). When an admin re-authorizes and puts a new refresh token in the
connection, the fingerprints differ and the stale stored token is ignored.

The built-in stores also keep the connection's current access token (:class:`StoredAccessToken`,
with the time it was obtained) so that the tasks of a run, and the runs that follow, spend one
token instead of one each (:mod:`.salesforce_access`). It is as secret as the refresh token and
kept the same way: a Variable whose name contains ``token`` (masked in the UI, encrypted with the
Fernet key like every Variable), a ``0600`` file, or this process's memory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = [
    "AccessTokenStore",
    "FileTokenStore",
    "MemoryTokenStore",
    "StoredAccessToken",
    "StoredToken",
    "TokenStore",
    "VariableTokenStore",
    "default_token_store",
    "fingerprint",
]

log = logging.getLogger(__name__)

TOKEN_STORE_ENV = "OKTA_SALESFORCE_TOKEN_STORE"  # noqa: S105 - an environment variable name


def fingerprint(secret: str) -> str:
    """A short, non-reversible tag of a secret, safe to store and compare."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class StoredToken:
    """A rotated refresh token and the connection refresh token it descends from."""

    refresh_token: str = field(repr=False)
    origin: str

    def to_json(self) -> str:
        return json.dumps({"refresh_token": self.refresh_token, "origin": self.origin})

    @classmethod
    def from_json(cls, text: str) -> StoredToken | None:
        try:
            data = json.loads(text)
            return cls(refresh_token=str(data["refresh_token"]), origin=str(data["origin"]))
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True)
class StoredAccessToken:
    """An access token shared between processes, with what it belongs to and when it was obtained.

    :param origin: fingerprint of the connection configuration it was obtained with (a
        re-authorized or re-pointed connection never picks up the old one).
    :param obtained_at: seconds since the epoch; Salesforce's responses carry no ``expires_in``,
        so the reader decides how old is too old.
    """

    access_token: str = field(repr=False)
    instance_url: str
    origin: str
    obtained_at: float
    id: str | None = None
    issued_at: str | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "access_token": self.access_token,
                "instance_url": self.instance_url,
                "origin": self.origin,
                "obtained_at": self.obtained_at,
                "id": self.id,
                "issued_at": self.issued_at,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> StoredAccessToken | None:
        try:
            data = json.loads(text)
            return cls(
                access_token=str(data["access_token"]),
                instance_url=str(data["instance_url"]),
                origin=str(data["origin"]),
                obtained_at=float(data["obtained_at"]),
                id=data.get("id"),
                issued_at=data.get("issued_at"),
            )
        except (ValueError, KeyError, TypeError):
            return None


@runtime_checkable
class TokenStore(Protocol):
    """Keeps the latest refresh token of each connection."""

    def get(self, conn_id: str) -> StoredToken | None:
        """The stored token of ``conn_id``, read fresh (no cache), or ``None``."""
        ...

    def set(self, conn_id: str, token: StoredToken) -> None:
        """Persist ``token`` as the latest refresh token of ``conn_id``."""
        ...


@runtime_checkable
class AccessTokenStore(Protocol):
    """A store that also shares the current access token (every built-in store does).

    A custom :class:`TokenStore` without these methods still works: each process then gets its
    own access token.
    """

    def get_access(self, conn_id: str) -> StoredAccessToken | None:
        """The shared access token of ``conn_id``, read fresh, or ``None``."""
        ...

    def set_access(self, conn_id: str, token: StoredAccessToken) -> None:
        """Share ``token`` as the current access token of ``conn_id``."""
        ...


class VariableTokenStore:
    """Stores tokens in Airflow Variables named ``okta_salesforce__<conn_id>__refresh_token``.

    Inside a task it goes through the Task SDK (the API server writes the metadata DB); outside a
    task (CLI, tests with a DB) it uses the metadata DB directly. The name contains ``token``, so
    the Airflow UI masks the value.
    """

    def __init__(self, prefix: str = "okta_salesforce__") -> None:
        self.prefix = prefix

    def key(self, conn_id: str, kind: str = "refresh_token") -> str:
        return f"{self.prefix}{conn_id}__{kind}"

    def get(self, conn_id: str) -> StoredToken | None:
        value = self._read(self.key(conn_id))
        return StoredToken.from_json(value) if value else None

    def set(self, conn_id: str, token: StoredToken) -> None:
        description = f"Latest rotated Salesforce refresh token of connection {conn_id} (okta-salesforce)."
        self._write(self.key(conn_id), token.to_json(), description)

    def get_access(self, conn_id: str) -> StoredAccessToken | None:
        value = self._read(self.key(conn_id, "access_token"))
        return StoredAccessToken.from_json(value) if value else None

    def set_access(self, conn_id: str, token: StoredAccessToken) -> None:
        description = f"Current Salesforce access token of connection {conn_id} (okta-salesforce)."
        self._write(self.key(conn_id, "access_token"), token.to_json(), description)

    @staticmethod
    def _read(key: str) -> str | None:
        if _in_task():
            from airflow.sdk import SecretCache, Variable

            SecretCache.invalidate_variable(key)  # a rotated or renewed token must never come from a cache
            value = Variable.get(key, default=None)
            return None if value is None else str(value)
        return _read_db_variable(key)

    @staticmethod
    def _write(key: str, value: str, description: str) -> None:
        if _in_task():
            from airflow.sdk import Variable

            Variable.set(key, value, description=description)
        else:
            from airflow.models.variable import Variable as DbVariable

            DbVariable.set(key, value, description=description)


class FileTokenStore:
    """Stores tokens as JSON files (mode 0600) in ``directory``, one per connection.

    Writes are atomic (write then rename), so a reader never sees half a token.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def path(self, conn_id: str, kind: str = "refresh-token") -> Path:
        return self.directory / f"{fingerprint(conn_id)}.{kind}.json"

    def get(self, conn_id: str) -> StoredToken | None:
        text = self._read(self.path(conn_id))
        return None if text is None else StoredToken.from_json(text)

    def set(self, conn_id: str, token: StoredToken) -> None:
        self._write(self.path(conn_id), token.to_json())

    def get_access(self, conn_id: str) -> StoredAccessToken | None:
        text = self._read(self.path(conn_id, "access-token"))
        return None if text is None else StoredAccessToken.from_json(text)

    def set_access(self, conn_id: str, token: StoredAccessToken) -> None:
        self._write(self.path(conn_id, "access-token"), token.to_json())

    @staticmethod
    def _read(path: Path) -> str | None:
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def _write(self, path: Path, text: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")  # created 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class MemoryTokenStore:
    """Keeps tokens in this process only (tests, or rotation switched off)."""

    def __init__(self) -> None:
        self.tokens: dict[str, StoredToken] = {}
        self.access_tokens: dict[str, StoredAccessToken] = {}

    def get(self, conn_id: str) -> StoredToken | None:
        return self.tokens.get(conn_id)

    def set(self, conn_id: str, token: StoredToken) -> None:
        self.tokens[conn_id] = token

    def get_access(self, conn_id: str) -> StoredAccessToken | None:
        return self.access_tokens.get(conn_id)

    def set_access(self, conn_id: str, token: StoredAccessToken) -> None:
        self.access_tokens[conn_id] = token


def default_token_store() -> TokenStore:
    """The store named by ``$OKTA_SALESFORCE_TOKEN_STORE``: ``variable`` (default) or ``file:<dir>``."""
    spec = os.environ.get(TOKEN_STORE_ENV, "variable").strip()
    if spec.startswith("file:"):
        return FileTokenStore(spec.removeprefix("file:"))
    if spec == "memory":
        return MemoryTokenStore()
    if spec in ("", "variable"):
        return VariableTokenStore()
    raise ValueError(f"{TOKEN_STORE_ENV} must be 'variable', 'memory' or 'file:<directory>', not {spec!r}")


def _read_db_variable(key: str) -> str | None:
    """A Variable straight from the metadata database; ``None`` when there is none (or no database)."""
    from airflow.models.variable import Variable as DbVariable
    from airflow.utils.session import create_session
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with create_session() as session:
            row = session.scalar(select(DbVariable).where(DbVariable.key == key))
            return None if row is None else row.val
    except SQLAlchemyError as err:
        log.debug(
            "No metadata database to read %s from (%s); assuming no stored token.", key, type(err).__name__
        )
        return None


def _in_task() -> bool:
    """Whether this process runs a task (or a parser/triggerer) under the Task SDK supervisor."""
    return hasattr(sys.modules.get("airflow.sdk.execution_time.task_runner"), "SUPERVISOR_COMMS")
