"""Read DAG params as operators receive them: native values, or strings when rendered as text."""

from __future__ import annotations

import ast


def as_bool(value: bool | str | None) -> bool:
    """A rendered template (``"True"``/``"false"``) or a real bool, as a bool."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)


def as_logins(users: list[str] | str | None) -> list[str]:
    """Okta logins from a list, a rendered JSON/Python list, or a comma/space separated string.

    Blank entries are dropped and duplicates removed, keeping the first order.
    """
    if not users:
        return []
    if isinstance(users, str):
        text = users.strip()
        if text.startswith("["):
            parsed = ast.literal_eval(text)
            if not isinstance(parsed, list):
                raise ValueError(f"users: expected a list of Okta logins, got {type(parsed).__name__}")
            users = parsed
        else:
            users = text.replace(",", " ").split()
    return list(dict.fromkeys(str(u).strip() for u in users if str(u).strip()))
