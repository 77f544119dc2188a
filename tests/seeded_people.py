"""The Okta assignment the Okta sandbox would report for one of the seed's people (unit and integration)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from okta_salesforce.sync.models import OktaAssignment
from okta_salesforce_testbed.sandbox.seed import Person


def person_assignment(
    person: Person, *, profile: Mapping[str, Any] | None = None, **changes: Any
) -> OktaAssignment:
    """``person``'s assignment; ``profile`` overrides profile attributes, ``changes`` the other fields."""
    values: dict[str, Any] = {
        "okta_user_id": person.okta_id,
        "login": person.login,
        "app_username": person.login,
        "assignment_status": "ACTIVE",
        "scope": "GROUP" if person.via_group else "USER",
        "user_status": "ACTIVE",
        "profile": {
            "login": person.login,
            "email": person.email,
            "firstName": person.first_name,
            "lastName": person.last_name,
            "department": person.department,
            "title": person.title,
            "locale": person.locale,
            "timezone": person.time_zone,
            "employeeNumber": person.employee_number,
            **(profile or {}),
        },
        "assigned": person.assigned,
    }
    values.update(changes)
    return OktaAssignment(**values)
