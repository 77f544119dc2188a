"""The Okta profile attributes a sync config reads: what a snapshot must keep of each profile.

A full snapshot keeps only these (``OktaHook.iter_assignment_rows(attributes=...)``): a 100k-user run
then carries a few attributes per user instead of whole profiles through its run files and plan.
The set covers every place an attribute name reaches :func:`~okta_salesforce.sync.mapping.assignment_context`:
the mapping (``attribute`` and ``lookup`` sources, and every variable an ``expression`` names),
the matching rules, the scope filters, and the ``when`` filters of permission sets and
entitlements. When a mapping source is one this module does not know, it answers ``None``
(keep whole profiles): dropping an attribute the plan reads would blank a Salesforce field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jinja2 import TemplateError, meta

from okta_salesforce.sync.config import Source
from okta_salesforce.sync.expressions import jinja_environment

if TYPE_CHECKING:
    from okta_salesforce.sync.config import AttributeFilter, SyncConfig

#: Names the mapping context takes from the assignment itself, not from the profile.
ASSIGNMENT_NAMES = frozenset({"app_username", "okta_user_id", "groups"})


def profile_attributes(config: SyncConfig) -> frozenset[str] | None:
    """The profile attributes ``config`` reads (``login`` always among them); ``None``: all of them."""
    names = {"login"}
    for mapping in config.mapping:
        if mapping.source in (Source.ATTRIBUTE, Source.LOOKUP):
            if mapping.attribute:
                names.add(mapping.attribute)
        elif mapping.source is Source.EXPRESSION:
            if mapping.template:
                try:
                    names |= meta.find_undeclared_variables(jinja_environment().parse(mapping.template))
                except TemplateError:
                    return None
        elif mapping.source not in (Source.CONSTANT, Source.GENERATED):
            return None
    names |= {rule.okta for rule in config.matching}
    filters: list[AttributeFilter] = [*config.scope.filters]
    for permission_set in config.permission_sets:
        filters.extend(permission_set.when)
    for entitlement in config.entitlements.rules:
        filters.extend(entitlement.when)
    names |= {flt.attribute for flt in filters}
    return frozenset(names - ASSIGNMENT_NAMES)
