"""What a mapping expression or filter sees: the sandboxed Jinja environment and an assignment's attributes.

Kept apart from :mod:`okta_salesforce.sync.mapping` so that the config (which checks template
syntax at load) and scoping (which evaluates filters) need not import the mapper.

The values an Okta attribute name can refer to are the merged Okta profile plus names taken from
the assignment: ``login``, ``app_username``, ``okta_user_id`` and ``groups`` (the names of the
user's Okta groups among those the config reads).
"""

from __future__ import annotations

import unicodedata
from functools import cache
from typing import TYPE_CHECKING, Any

from jinja2 import ChainableUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

if TYPE_CHECKING:
    from okta_salesforce.sync.models import OktaAssignment


def fold_ascii(value: str) -> str:
    """Fold ``value`` to ASCII letters and digits (``Søren Ø'Brien`` → ``SorenOBrien``)."""
    table = str.maketrans({"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ß": "ss", "æ": "ae", "Æ": "AE"})
    folded = unicodedata.normalize("NFKD", value.translate(table)).encode("ascii", "ignore").decode()
    return "".join(c for c in folded if c.isalnum())


@cache
def jinja_environment() -> ImmutableSandboxedEnvironment:
    """The sandboxed Jinja environment expressions run in (no access to Python internals)."""
    env = ImmutableSandboxedEnvironment(undefined=ChainableUndefined, autoescape=False)
    env.filters["ascii"] = fold_ascii
    return env


def assignment_context(assignment: OktaAssignment) -> dict[str, Any]:
    """The attributes a mapping or a filter can read for ``assignment``."""
    context = dict(assignment.profile)
    context["login"] = assignment.login
    context["app_username"] = assignment.app_username
    context["okta_user_id"] = assignment.okta_user_id
    context["groups"] = list(assignment.groups)
    return context
