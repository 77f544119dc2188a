"""The matching keys, aliases and nicknames the plan store keeps for each row it stores.

:class:`~okta_salesforce.sync.plan_store.PlanStore` looks users up by these keys in SQL; they are
what :func:`~okta_salesforce.sync.matching.match_key` gives for each matching rule, read without
building a user's whole attribute context (:func:`~okta_salesforce.sync.expressions.assignment_context`).
A key UTF-8 cannot hold (a lone surrogate) is kept as :func:`~okta_salesforce.sync.row_codec.sql_text`
gives it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from okta_salesforce.sync.matching import match_key
from okta_salesforce.sync.row_codec import sql_text

if TYPE_CHECKING:
    from okta_salesforce.sync.config import MatchRule
    from okta_salesforce.sync.models import OktaAssignment, SalesforceUser

#: The names :func:`~okta_salesforce.sync.expressions.assignment_context` sets over the profile's.
_OWN: dict[str, Callable[[OktaAssignment], Any]] = {
    "login": lambda a: a.login,
    "app_username": lambda a: a.app_username,
    "okta_user_id": lambda a: a.okta_user_id,
    "groups": lambda a: list(a.groups),
}


def _ascii(texts: Iterable[str]) -> bool:
    """Whether every one of ``texts`` is ASCII (one C pass; keys that are not go through ``sql_text``)."""
    return "".join(texts).isascii()


def okta_keys(
    batch: Sequence[OktaAssignment], first: int, rules: Sequence[MatchRule]
) -> list[tuple[Any, ...]]:
    """``(seq, rule, key)`` rows for ``batch``, stored from sequence number ``first``."""
    keys: list[tuple[Any, ...]] = []
    for number, rule in enumerate(rules):
        own, case_sensitive = _OWN.get(rule.okta), rule.case_sensitive
        for i, assignment in enumerate(batch, first):
            value = own(assignment) if own is not None else assignment.profile.get(rule.okta)
            key = match_key(value, case_sensitive)
            if key is not None:
                keys.append((i, number, key))
    keys.sort()  # user by user, as before; (seq, rule) is unique, so keys are never compared
    if not _ascii(k for _, _, k in keys):
        keys = [(seq, number, sql_text(key)) for seq, number, key in keys]
    return keys


def salesforce_keys(
    batch: Sequence[SalesforceUser], first: int, rules: Sequence[MatchRule]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """``(rule, key, seq)`` rows and ``(kind, name)`` rows of aliases (0) and nicknames (1) in use."""
    keys: list[tuple[Any, ...]] = []
    taken: list[tuple[Any, ...]] = []
    for i, user in enumerate(batch, first):
        fields = user.fields.get
        for number, rule in enumerate(rules):
            raw = user.username if rule.salesforce == "Username" else fields(rule.salesforce)
            key = match_key(raw, rule.case_sensitive)
            if key is not None:
                keys.append((number, key, i))
        for kind, name in enumerate(("Alias", "CommunityNickname")):
            value = str(fields(name) or "")
            if value:
                taken.append((kind, value.casefold()))
    if not _ascii(k for _, k, _ in keys):
        keys = [(number, sql_text(key), seq) for number, key, seq in keys]
    if not _ascii(k for _, k in taken):
        taken = [(kind, sql_text(key)) for kind, key in taken]
    return keys, taken
