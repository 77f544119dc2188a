"""Tolerant parsing of Okta API JSON into our own records.

The okta SDK's typed models reject enum values they do not know (a new ``status`` loses the
whole page). These helpers read the plain JSON instead: unknown values are kept verbatim,
extra fields are ignored, missing optional fields get defaults, and only an object we cannot
identify (no user id) is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from okta_salesforce.sync.models import OktaAssignment

UNASSIGNED = "UNASSIGNED"
"""``assignment_status`` of a record built for a user who no longer holds the app."""

_LINK = re.compile(r"<(?P<url>[^>]*)>(?P<params>[^<]*)")
_REL = re.compile(r'rel\s*=\s*"?(?P<rel>[^";,]+)"?', re.IGNORECASE)


def parse_links(values: Iterable[str]) -> dict[str, str]:
    """Map ``rel`` to URL over every ``Link`` header value (Okta sends ``self`` and ``next`` separately).

    :param values: all ``Link`` header values of a response; each may itself hold several links.
    """
    links: dict[str, str] = {}
    for value in values:
        for match in _LINK.finditer(value or ""):
            rel = _REL.search(match["params"])
            if rel:
                for name in rel["rel"].split():
                    links.setdefault(name.lower(), match["url"].strip())
    return links


def same_origin_path(url: str, org_url: str) -> str | None:
    """The path and query of ``url`` when it points at ``org_url``'s origin, else ``None``.

    Pagination links are followed only on the org itself, so that credentials are never sent
    to a host a response named. Strict: an absolute URL must have the org's scheme, host and port
    and no user info; a relative one must be an absolute path (``/...``): not ``//host/...`` nor
    ``@evil.example/...``, which would change the host once appended to the org URL.
    """
    target, org = urlsplit(url), urlsplit(org_url)
    if target.scheme or target.netloc:
        if target.scheme.lower() != org.scheme.lower() or "@" in target.netloc:
            return None
        try:
            same = (target.hostname, target.port or _DEFAULT_PORTS.get(target.scheme.lower())) == (
                org.hostname,
                org.port or _DEFAULT_PORTS.get(org.scheme.lower()),
            )
        except ValueError:  # a port that is not a number
            return None
        if not same:
            return None
    path = target.path
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return None
    return f"{path}?{target.query}" if target.query else path


_DEFAULT_PORTS = {"https": 443, "http": 80}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) else default


def assignment_row(
    app_user: Mapping[str, Any], attributes: Collection[str] | None = None
) -> dict[str, Any] | None:
    """One app user (``expand=user``) as a snapshot line: :meth:`OktaAssignment.to_dict`'s form.

    ``None`` when it has no id. The profile is the Okta user profile overlaid with the app user
    profile: app values win, except ``null`` ones (attributes the app does not map), which never
    hide a user value. A full snapshot builds these plain dicts (one per user, written as they
    are); :func:`assignment_from_app_user` makes the record of the same normalization.

    :param attributes: keep only these profile attributes (``None``: all of them); ``login`` is
        always kept. An attribute neither profile has stays absent.
    """
    user_id = app_user.get("id")
    if not user_id or not isinstance(user_id, str):
        return None
    embedded = app_user.get("_embedded")
    user = embedded.get("user") if isinstance(embedded, dict) else None
    if not isinstance(user, dict):
        user = {}
    user_profile = _dict(user.get("profile"))
    app_profile = _dict(app_user.get("profile"))
    if attributes is None:
        profile = {**user_profile, **{k: v for k, v in app_profile.items() if v is not None}}
    else:
        profile = {}
        for name in attributes if "login" in attributes else (*attributes, "login"):
            value = app_profile.get(name)
            if value is not None:
                profile[name] = value
            elif name in user_profile:
                profile[name] = user_profile[name]
    credentials = app_user.get("credentials")
    app_username = _str(credentials.get("userName")) if isinstance(credentials, dict) else ""
    login = _str(user_profile.get("login")) or app_username
    scope = app_user.get("scope")
    status = app_user.get("status")
    user_status = user.get("status")
    return {
        "okta_user_id": user_id,
        "login": login,
        "app_username": app_username or login,
        "assignment_status": status if isinstance(status, str) else "UNKNOWN",
        "scope": scope.upper() if isinstance(scope, str) else "USER",
        "user_status": user_status if isinstance(user_status, str) else "UNKNOWN",
        "profile": profile,
        "assigned": True,
        "groups": [],
    }


def assignment_from_app_user(
    app_user: Mapping[str, Any], attributes: Collection[str] | None = None
) -> OktaAssignment | None:
    """Normalize one app user (``expand=user``) into an :class:`OktaAssignment`; ``None`` without an id.

    The same normalization as :func:`assignment_row` (see there).
    """
    row = assignment_row(app_user, attributes)
    return None if row is None else OktaAssignment.from_dict(row)


def unassigned_from_user(
    user: Mapping[str, Any] | None, *, user_id: str, login: str = "", user_status: str = "UNKNOWN"
) -> OktaAssignment:
    """The record of a user who does not hold the app (``assigned=False``).

    :param user: the user object from ``GET /api/v1/users/{id}``, or ``None`` when the user
        itself is gone (then ``login`` and ``user_status`` describe it, e.g. from a log event).
    """
    user = user or {}
    profile = _dict(user.get("profile"))
    login = _str(profile.get("login")) or login
    return OktaAssignment(
        okta_user_id=_str(user.get("id")) or user_id,
        login=login,
        app_username=login,
        assignment_status=UNASSIGNED,
        scope="",
        user_status=_str(user.get("status"), user_status) if user else user_status,
        profile=dict(profile),
        assigned=False,
    )


@dataclass(frozen=True)
class LogTarget:
    """One ``target`` of a System Log event."""

    id: str
    type: str
    alternate_id: str = ""


@dataclass(frozen=True)
class LogEvent:
    """The parts of a System Log event the incremental reader uses (the rest is ignored)."""

    uuid: str
    published: str
    event_type: str
    outcome: str = ""
    targets: tuple[LogTarget, ...] = field(default_factory=tuple)

    def targets_of(self, *types: str) -> list[LogTarget]:
        """Targets whose ``type`` is one of ``types`` (compared case-insensitively)."""
        wanted = {t.lower() for t in types}
        return [t for t in self.targets if t.type.lower() in wanted]


def event_from_json(data: Mapping[str, Any]) -> LogEvent | None:
    """Parse one System Log event; ``None`` when it has no ``uuid`` (it could not be de-duplicated)."""
    uuid = _str(data.get("uuid"))
    if not uuid:
        return None
    targets = tuple(
        LogTarget(id=_str(t.get("id")), type=_str(t.get("type")), alternate_id=_str(t.get("alternateId")))
        for t in data.get("target") or ()
        if isinstance(t, dict)
    )
    return LogEvent(
        uuid=uuid,
        published=_str(data.get("published")),
        event_type=_str(data.get("eventType")),
        outcome=_str(_dict(data.get("outcome")).get("result")),
        targets=targets,
    )
