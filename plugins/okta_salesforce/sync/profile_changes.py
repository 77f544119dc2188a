"""Profile changes on existing users (``mapping.ProfileId`` with ``apply: always``), checked against
the license moves Salesforce allows.

A profile carries a user license, and the license gives the user its ``UserType``. Salesforce
refuses some moves outright (Object Reference, User.UserType; Help, "Change a user's license"):
from a Salesforce license (``Standard``) down to Chatter Free (``CsnOnly``), between an internal
type (``Standard``, ``CsnOnly``) and an external one (partner, customer, ...), and between two
external types. Only Chatter Free up to Standard, and moves within one type, are allowed.

:func:`check_profile_moves` turns such a move into a per-record ``error`` naming ``ProfileId`` at
plan time (visible in a dry run): the user's other changes still land. A move Salesforce allows
but cannot seat (no free license, ``LICENSE_LIMIT_EXCEEDED``) is refused by Salesforce for that
record only, at write time; the rest of the batch lands either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from okta_salesforce.sync.models import Action, ActionKind, FieldError

if TYPE_CHECKING:
    from okta_salesforce.sync.models import DirectoryInfo, SalesforceUser

PROFILE_FIELD = "ProfileId"
_INTERNAL = frozenset({"Standard", "CsnOnly"})


def move_refusal(old: str | None, new: str | None) -> str | None:
    """Why Salesforce refuses moving a user of user type ``old`` to a profile of type ``new``, or None."""
    if not old or not new or old == new or (old, new) == ("CsnOnly", "Standard"):
        return None
    if (old, new) == ("Standard", "CsnOnly"):
        return "Salesforce does not move a user from a Salesforce license down to Chatter Free"
    if old in _INTERNAL or new in _INTERNAL:
        return "Salesforce does not move a user between an internal and an external license"
    return "Salesforce only moves an external user to a profile of its current license type"


def check_profile_moves(
    actions: Sequence[Action], users: Iterable[SalesforceUser], directory: DirectoryInfo
) -> list[Action]:
    """``actions`` with refused profile moves taken out of activations and updates, each replaced
    by an ``error`` action for that user (the other changed fields stay)."""
    by_id = {u.id: u for u in users}
    out: list[Action] = []
    for action in actions:
        profile = action.fields.get(PROFILE_FIELD)
        user = by_id.get(action.salesforce_id or "")
        if action.kind not in (ActionKind.ACTIVATE, ActionKind.UPDATE) or not profile or user is None:
            out.append(action)
            continue
        old, new = user.fields.get("UserType"), directory.profile_user_types.get(str(profile))
        refusal = move_refusal(old, new)
        if refusal is None:
            out.append(action)
            continue
        message = f"cannot move to profile {profile!r} (user type {new}) from user type {old}: {refusal}"
        out.append(
            action.refused(
                [FieldError(PROFILE_FIELD, message)], f"profile change refused for {action.login}: {message}"
            )
        )
        fields = {k: v for k, v in action.fields.items() if k != PROFILE_FIELD}
        changes = {k: v for k, v in action.changes.items() if k != PROFILE_FIELD}
        if action.kind is ActionKind.ACTIVATE or fields:
            rest = [k for k in changes if k != "IsActive"]
            reason = (
                f"{', '.join(rest)} changed in Okta" if action.kind is ActionKind.UPDATE else action.reason
            )
            out.append(replace(action, fields=fields, changes=changes, reason=reason))
    return out
