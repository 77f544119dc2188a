"""The sync must manage every user it creates: mapped profiles checked against the managed filter.

A user the sync creates gets a profile from ``mapping.ProfileId`` and, from that profile's user
license, a ``UserType`` that Salesforce derives (Chatter Free → ``CsnOnly``, partner and customer
licenses → their own types). Were the ``managed`` section to exclude that profile or user type,
the sync would create users it then never updates and never deprovisions: a leaver would keep
Salesforce access. So such a configuration is refused:

* at load, without the org: a mapped profile listed in ``managed.exclude_profiles``, or
  ``managed.require_federation_identifier`` without a ``FederationIdentifier`` mapping
  (:func:`config_problems`, called by :func:`~okta_salesforce.sync.config_model.parse_single`);
* at plan time, with the org's Profile → UserType (:func:`check_mapped_profiles`): a mapped
  profile whose user type ``managed.user_types`` leaves out. The plan then fails, naming the
  profile, its user type and ``managed.user_types``.

:func:`excluded_mapped_profiles` is the pure function under both, for ``okta-salesforce check``.
Profiles the mapping cannot enumerate (an ``attribute`` or ``expression`` source) are checked
per record instead: :func:`unmanaged_after_write` makes such a create (or a profile change) a
per-record error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from okta_salesforce.sync.config_mapping import Source
from okta_salesforce.sync.config_reader import ConfigError
from okta_salesforce.sync.models import SalesforceUser
from okta_salesforce.sync.scoping import PROFILE_NAME, UNLINKED, ManagedFilter

if TYPE_CHECKING:
    from okta_salesforce.sync.config_model import SyncConfig

PROFILE_FIELD = "ProfileId"


@dataclass(frozen=True)
class MappedProfiles:
    """The profile names ``mapping.ProfileId`` can give.

    :param names: every name the mapping can give, in config order, without duplicates.
    :param open: the mapping can also give names not listed (an ``attribute`` or ``expression``
        source), which only the plan sees, record by record.
    """

    names: tuple[str, ...]
    open: bool


@dataclass(frozen=True)
class ExcludedProfile:
    """A mapped profile whose users the managed filter would leave alone.

    :param profile: the profile name.
    :param user_type: its ``UserType`` in the org (None when not known, e.g. at config load).
    :param reason: why the managed filter excludes its users.
    """

    profile: str
    user_type: str | None
    reason: str

    def problem(self) -> str:
        """The config problem, naming the profile, its user type and the managed setting."""
        of_type = f" (user type {self.user_type})" if self.user_type else ""
        return (
            f"mapping.{PROFILE_FIELD}: can give the profile {self.profile!r}{of_type}, but {self.reason}: "
            "the sync would create users it then never updates or deprovisions"
        )


def mapped_profiles(config: SyncConfig) -> MappedProfiles:
    """The profile names ``mapping.ProfileId`` can give (lookup values, constant, default)."""
    mapping = config.field(PROFILE_FIELD)
    if mapping is None:
        return MappedProfiles((), open=False)
    candidates: list[Any] = []
    if mapping.source is Source.LOOKUP:
        candidates.extend(mapping.table.values())
    elif mapping.source is Source.CONSTANT:
        candidates.append(mapping.value)
    candidates.append(mapping.default)
    names = dict.fromkeys(str(c).strip() for c in candidates if c is not None and str(c).strip())
    return MappedProfiles(tuple(names), open=mapping.source in (Source.ATTRIBUTE, Source.EXPRESSION))


def excluded_mapped_profiles(
    profile_user_types: Mapping[str, str | None], config: SyncConfig
) -> list[ExcludedProfile]:
    """The mapped profiles whose users the managed filter would exclude.

    :param profile_user_types: the org's profiles, name → ``Profile.UserType`` (a profile
        missing here is checked for ``managed.exclude_profiles`` only).
    :param config: the sync config.
    """
    managed = ManagedFilter(config.managed)
    out = []
    for name in mapped_profiles(config).names:
        user_type = profile_user_types.get(name)
        reason = managed.reason(_probe(name, user_type), check_filters=False)
        if reason is not None:
            out.append(ExcludedProfile(name, user_type, _settings(reason, config)))
    return out


def check_mapped_profiles(profile_user_types: Mapping[str, str | None], config: SyncConfig) -> None:
    """Refuse a config whose mapping gives a profile the managed filter excludes.

    :raises ConfigError: one problem per excluded profile.
    """
    excluded = excluded_mapped_profiles(profile_user_types, config)
    if excluded:
        raise ConfigError([e.problem() for e in excluded], config.source)


def config_problems(config: SyncConfig) -> list[str]:
    """What can be refused at config load, without the org: mapped profiles listed in
    ``managed.exclude_profiles``, and a required FederationIdentifier nothing maps."""
    problems = [e.problem() for e in excluded_mapped_profiles({}, config)]
    if config.managed.require_federation_identifier and config.field("FederationIdentifier") is None:
        problems.append(
            "managed.require_federation_identifier: is true, but the mapping gives no FederationIdentifier: "
            "every user the sync creates would be unmanaged (map FederationIdentifier, e.g. from login)"
        )
    return problems


def unmanaged_after_write(
    fields: Mapping[str, Any],
    profile_user_types: Mapping[str, str | None],
    managed: ManagedFilter,
    *,
    creating: bool = True,
) -> tuple[str, str] | None:
    """``(field, reason)`` when the user a write leaves behind would not be managed, else None.

    :param fields: the action's fields (``ProfileId`` holds the profile name).
    :param profile_user_types: the org's profiles, name → ``Profile.UserType``.
    :param managed: the managed filter of the run.
    :param creating: a create (every field is the new user's); else an update of a managed
        user, of which only the fields written are checked.
    """
    profile = fields.get(PROFILE_FIELD)
    linked = fields.get("FederationIdentifier", None if creating else "unchanged")
    probe = SalesforceUser(
        id="",
        username=str(fields.get("Username") or ""),
        is_active=True,
        fields={
            **fields,
            PROFILE_NAME: profile,
            "UserType": profile_user_types.get(str(profile)) if profile else None,
            "FederationIdentifier": linked,
        },
    )
    reason = managed.reason(probe, check_filters=creating)
    if reason is None:
        return None
    if reason == UNLINKED:
        return "FederationIdentifier", reason
    if "managed.filters" in reason:
        return next((f.attribute for f in managed.managed.filters if repr(f.attribute) in reason), ""), reason
    return ("Username" if "exclude_usernames" in reason else PROFILE_FIELD), reason


def _probe(profile: str, user_type: str | None) -> SalesforceUser:
    """A user as the sync would create it on ``profile``: linked, with no excluded username."""
    fields = {PROFILE_NAME: profile, "UserType": user_type, "FederationIdentifier": "linked"}
    return SalesforceUser(id="", username="", is_active=True, fields=fields)


def _settings(reason: str, config: SyncConfig) -> str:
    """The managed filter's reason, with the setting's current value."""
    if "managed.user_types" in reason:
        return f"managed.user_types is {list(config.managed.user_types)}"
    if "managed.exclude_profiles" in reason:
        return f"managed.exclude_profiles is {list(config.managed.exclude_profiles)}"
    return reason
