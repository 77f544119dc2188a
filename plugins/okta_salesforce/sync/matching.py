"""Match Okta users to Salesforce users by a precedence list of attributes.

Rules are tried in order (by default FederationIdentifier = login, Username = app username,
Email = email). The first rule for which the Okta user has a value and Salesforce has at least
one user decides: exactly one user is a match, several are an ambiguity (an error, never a
guess). Username and Email compare case-insensitively, as Salesforce does; FederationIdentifier
case-sensitively. Indexes are built once, so matching *n* users costs O(n).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from okta_salesforce.sync.mapping import assignment_context

if TYPE_CHECKING:
    from okta_salesforce.sync.config import MatchRule
    from okta_salesforce.sync.models import OktaAssignment, SalesforceUser


@dataclass(frozen=True)
class Match:
    """The result of matching one Okta user.

    :param user: the matched Salesforce user, if exactly one matched.
    :param rule: the Salesforce field of the rule that decided (None when nothing matched).
    :param ambiguous: the Salesforce users that matched when more than one did.
    """

    user: SalesforceUser | None = None
    rule: str | None = None
    ambiguous: tuple[SalesforceUser, ...] = field(default_factory=tuple)

    @property
    def error(self) -> str | None:
        """A message when the match is ambiguous."""
        if not self.ambiguous:
            return None
        names = ", ".join(f"{u.username} ({u.id})" for u in self.ambiguous[:5])
        more = f" and {len(self.ambiguous) - 5} more" if len(self.ambiguous) > 5 else ""
        return f"{len(self.ambiguous)} Salesforce users have the same {self.rule}: {names}{more}"


def match_key(value: Any, case_sensitive: bool) -> str | None:
    """The key a matching rule compares: trimmed, case-folded unless the rule is case-sensitive."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    return text if case_sensitive else text.casefold()


class Matcher:
    """Indexes Salesforce users by every matching field and matches Okta users against them.

    :param rules: the matching rules, in order of precedence.
    :param users: the Salesforce users to match against.
    """

    def __init__(self, rules: Iterable[MatchRule], users: Iterable[SalesforceUser]) -> None:
        self.rules = tuple(rules)
        self._index: dict[str, dict[str, list[SalesforceUser]]] = {
            r.salesforce: defaultdict(list) for r in self.rules
        }
        for user in users:
            for rule in self.rules:
                raw = user.username if rule.salesforce == "Username" else user.fields.get(rule.salesforce)
                key = match_key(raw, rule.case_sensitive)
                if key is not None:
                    self._index[rule.salesforce][key].append(user)

    def match(self, assignment: OktaAssignment) -> Match:
        """Match one Okta assignment."""
        context = assignment_context(assignment)
        for rule in self.rules:
            key = match_key(context.get(rule.okta), rule.case_sensitive)
            if key is None:
                continue
            found = self._index[rule.salesforce].get(key)
            if not found:
                continue
            if len(found) == 1:
                return Match(user=found[0], rule=rule.salesforce)
            return Match(rule=rule.salesforce, ambiguous=tuple(found))
        return Match()

    def lookup(self, field_name: str, value: Any) -> list[SalesforceUser]:
        """Salesforce users whose ``field_name`` equals ``value`` (only for fields with a rule)."""
        rule = next((r for r in self.rules if r.salesforce == field_name), None)
        if rule is None:
            return []
        key = match_key(value, rule.case_sensitive)
        return list(self._index[field_name].get(key, ())) if key is not None else []
