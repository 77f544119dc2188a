"""The records the sync core works on: what Okta says and what Salesforce has.

Plain, frozen dataclasses that serialise to JSON-friendly dicts, so that snapshots
and plans can travel through files and XCom and be read back unchanged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class OktaAssignment:
    """One user's assignment to the Salesforce app in Okta (or its absence, for incremental runs).

    :param okta_user_id: the Okta user id (``00u...``).
    :param login: the Okta login (``profile.login``).
    :param app_username: the username for the app (``credentials.userName`` of the app user).
    :param assignment_status: the app user's ``status`` as Okta reports it (``ACTIVE``,
        ``PROVISIONED``, ``DEPROVISIONED``, ... or a value we do not know; kept verbatim).
    :param scope: ``USER`` (direct) or ``GROUP`` (through a group assignment).
    :param user_status: the Okta user's own ``status`` (``ACTIVE``, ``SUSPENDED``, ...).
    :param profile: the Okta user profile merged with the app user profile (app profile wins),
        holding at least the attributes the field mapping reads.
    :param assigned: False for a user whose assignment was removed (incremental runs report them).
    """

    okta_user_id: str
    login: str
    app_username: str
    assignment_status: str
    scope: str
    user_status: str
    profile: dict[str, Any] = field(default_factory=dict)
    assigned: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OktaAssignment:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class SalesforceUser:
    """A Salesforce User row as read by SOQL, with the fields the mapping and matching use.

    :param fields: every queried User field by API name (``Username``, ``Email``,
        ``FederationIdentifier``, ``ProfileId``, ``Department``, ...).
    :param is_frozen: ``UserLogin.IsFrozen`` for this user.
    """

    id: str
    username: str
    is_active: bool
    fields: dict[str, Any] = field(default_factory=dict)
    is_frozen: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SalesforceUser:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
