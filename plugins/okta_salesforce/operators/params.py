"""Read DAG params as operators receive them.

The package's DAGs render templates as native objects (``render_template_as_native_obj=True``),
so ``"{{ params.users }}"`` arrives as a list and ``"{{ params.dry_run }}"`` as a bool. Values
typed by hand (an operator in a user's own DAG) may still be strings: a bool as ``"true"`` or
``"false"``, logins comma or space separated, or a JSON list. Python's repr of a list (what a DAG
*without* native rendering makes of a list param) is refused with a message saying so.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off", "")


def as_bool(value: bool | str | None, *, name: str = "value") -> bool:
    """A bool, or a string spelling one (``"True"``, ``"false"``); anything else is an error.

    :param name: the parameter's name, for the error.
    """
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
    raise ValueError(f"{name}: expected true or false, got {value!r}")


def as_names(values: Iterable[str] | str | None, *, name: str = "users", split: bool = True) -> list[str]:
    """Names (Okta logins, group names) from a list, a JSON list, or a separated string.

    Blank entries are dropped and duplicates removed, keeping the first order.

    :param name: the parameter's name, for the error.
    :param split: split a plain string on commas and spaces (logins); else it is one name.
    """
    if not values:
        return []
    if isinstance(values, str):
        text = values.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except ValueError:
                raise ValueError(
                    f"{name}: {text[:80]!r} is not a JSON list (a list param rendered as text? set "
                    "render_template_as_native_obj=True on the DAG, or pass a list)"
                ) from None
            if not isinstance(parsed, list):
                raise ValueError(f"{name}: expected a list, got {type(parsed).__name__}")
            values = [str(v) for v in parsed]
        else:
            values = text.replace(",", " ").split() if split else [text]
    return list(dict.fromkeys(str(v).strip() for v in values if str(v).strip()))


def as_logins(users: Iterable[str] | str | None) -> list[str]:
    """Okta logins from a list, a JSON list, or a comma/space separated string."""
    return as_names(users, name="users")
