"""Field comparison: a Salesforce user's current values against the values the mapping wants.

Shared by the plan (which fields an update or activation writes) and the writer (a create that
finds its username taken links to that user and writes only what differs).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from okta_salesforce.sync.fields import CASE_INSENSITIVE, USER_FIELDS, reference_name_field

if TYPE_CHECKING:
    from okta_salesforce.sync.models import SalesforceUser


#: Where a reference field's current value is read (``ProfileId`` → ``Profile.Name``).
_CURRENT_KEY = {name: key for name in USER_FIELDS if (key := reference_name_field(name))}
_ABSENT = object()


def current_value(user: SalesforceUser, target: str) -> Any:
    """The value of ``target`` as the Salesforce user has it, in the form the mapping produces."""
    if target == "Username":
        return user.username
    return user.fields.get(_CURRENT_KEY.get(target, target))


def same_value(target: str, old: Any, new: Any) -> bool:
    """Whether Salesforce would consider ``old`` and ``new`` equal for ``target``."""
    if old in (None, "") and new in (None, ""):
        return True
    if old is None or new is None:
        return False
    if isinstance(old, bool) or isinstance(new, bool):
        return bool(old == new)
    old_s, new_s = str(old).strip(), str(new).strip()
    if target in CASE_INSENSITIVE:
        return old_s.casefold() == new_s.casefold()
    return old_s == new_s


def diff(user: SalesforceUser, desired: dict[str, Any], targets: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``{field: {"old", "new"}}`` for the ``targets`` whose desired value differs.

    A field the mapping gives no value for is left alone (never cleared).
    """
    changes = {}
    fields = user.fields.get
    for target in targets:
        new = desired.get(target, _ABSENT)
        if new is _ABSENT:
            continue
        old = user.username if target == "Username" else fields(_CURRENT_KEY.get(target, target))
        if old == new and type(old) is str:  # the common case: same text (same_value says so too)
            continue
        if not same_value(target, old, new):
            changes[target] = {"old": old, "new": new}
    return changes
