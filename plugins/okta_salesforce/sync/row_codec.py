"""How the plan store keeps its rows: ``marshal`` of plain values, ``pickle`` for anything else.

``marshal`` reads and writes tuples and dicts of strings, numbers, booleans and None several times
faster than ``pickle``; a row holding another type (a datetime in a profile, say) is pickled whole
instead, so every row reads back as it was written. Only the process that wrote a store reads it,
from a private file it removes (:class:`~okta_salesforce.sync.plan_store.PlanStore`).
"""

from __future__ import annotations

import marshal
import pickle
from typing import Any

from okta_salesforce.sync.models import Action, OktaAssignment, SalesforceUser


def sql_text(value: str) -> str | bytes:
    """``value`` as the store keeps a key: itself, or its bytes when UTF-8 cannot hold it (a lone
    UTF-16 surrogate, which SQLite's text cannot take). Bytes compare equal only to the same bytes and
    never to text, so such a key still matches exactly the same key and nothing else."""
    if value.isascii():
        return value
    try:
        value.encode()
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")
    return value


def dump(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def load(blob: bytes) -> Any:
    return pickle.loads(blob)  # noqa: S301 - rows this process wrote to its own private file


def _pack(row: tuple[Any, ...] | dict[str, Any], fallback: Any) -> bytes:
    """``row`` (plain values) with ``marshal``, several times faster than pickle; ``fallback`` pickled
    when a value is of another type."""
    try:
        return b"m" + marshal.dumps(row)
    except ValueError:
        return b"p" + dump(fallback)


def _unpack(blob: bytes) -> tuple[bool, Any]:
    """``(plain, value)``: the marshalled row, or the pickled fallback object."""
    if blob[:1] == b"m":
        return True, marshal.loads(blob[1:])  # noqa: S302 - rows this process wrote to its own private file
    return False, load(blob[1:])


_ASSIGNMENT_FIELDS = tuple(OktaAssignment.__dataclass_fields__)
_USER_FIELDS = tuple(SalesforceUser.__dataclass_fields__)


def _rebuild(cls: type[Any], names: tuple[str, ...], values: tuple[Any, ...]) -> Any:
    """``cls(*values)`` for a frozen dataclass without its ``__init__`` (one ``object.__setattr__``
    per field): the values are every field, in order, as the object had them when it was packed."""
    record = object.__new__(cls)
    record.__dict__.update(zip(names, values, strict=True))
    return record


def pack_assignment(a: OktaAssignment) -> bytes:
    row = (a.okta_user_id, a.login, a.app_username, a.assignment_status, a.scope, a.user_status, a.profile)
    return _pack((*row, a.assigned, a.groups), a)


def unpack_assignment(blob: bytes) -> OktaAssignment:
    plain, value = _unpack(blob)
    assignment: OktaAssignment = _rebuild(OktaAssignment, _ASSIGNMENT_FIELDS, value) if plain else value
    return assignment


def pack_user(u: SalesforceUser) -> bytes:
    return _pack((u.id, u.username, u.is_active, u.fields, u.is_frozen, u.user_login_id), u)


def unpack_user(blob: bytes) -> SalesforceUser:
    plain, value = _unpack(blob)
    user: SalesforceUser = _rebuild(SalesforceUser, _USER_FIELDS, value) if plain else value
    return user


def pack_action(action: Action) -> bytes:
    return _pack(action.to_dict(), action)


def action_dict(blob: bytes) -> dict[str, Any]:
    """A stored action as :meth:`Action.to_dict` gives it."""
    plain, value = _unpack(blob)
    row: dict[str, Any] = value if plain else value.to_dict()
    return row


def unpack_action(blob: bytes) -> Action:
    plain, value = _unpack(blob)
    return Action.from_dict(value) if plain else value


def pack_row(row: dict[str, Any]) -> bytes:
    """A plain dict (a report line, say): ``marshal``, pickled when a value is of another type."""
    return _pack(row, row)


def unpack_row(blob: bytes) -> dict[str, Any]:
    row: dict[str, Any] = _unpack(blob)[1]
    return row
