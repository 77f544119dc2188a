"""``okta-salesforce check``, Salesforce side: token flow, API version, scopes, user management,
the Profiles / Roles / PermissionSets the config names and the mapped User fields (describe)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from okta_salesforce.checks.findings import Finding, failed, passed
from okta_salesforce.sync.config import Apply, Source
from okta_salesforce.sync.fields import USER_FIELDS

if TYPE_CHECKING:
    from simple_salesforce import Salesforce

    from okta_salesforce.sync.config import SyncConfig

#: Salesforce scopes that let the integration call the REST API.
API_SCOPES = {"api", "full"}
#: Scopes that let a refresh token outlive the session.
REFRESH_SCOPES = {"refresh_token", "offline_access"}


def referenced_names(config: SyncConfig) -> dict[str, set[str]]:
    """Record names the config uses, by sObject (``Profile``, ``UserRole``, ``PermissionSet``).

    Reference fields (``ProfileId``, ``UserRoleId``) hold names in lookup tables, constants and defaults.
    """
    names: dict[str, set[str]] = {"Profile": set(), "UserRole": set(), "PermissionSet": set()}
    for mapping in config.mapping:
        spec = USER_FIELDS.get(mapping.target)
        sobject = spec.references if spec else None
        if sobject not in names:
            continue
        values: list[Any] = [mapping.default]
        if mapping.source is Source.LOOKUP:
            values += list(mapping.table.values())
        elif mapping.source is Source.CONSTANT:
            values.append(mapping.value)
        names[sobject].update(str(v) for v in values if v not in (None, ""))
    names["PermissionSet"].update(rule.name for rule in config.permission_sets)
    return names


def check_salesforce(conn_id: str, config: SyncConfig | None) -> list[Finding]:
    """Check the Salesforce connection ``conn_id`` and, with a config, what the config names."""
    from okta_salesforce.hooks.salesforce import SalesforceOAuthHook

    subject = f"Salesforce connection {conn_id}"
    try:
        hook = SalesforceOAuthHook(salesforce_conn_id=conn_id)
        settings = hook.settings
        token = hook.get_access_token()
    except Exception as err:  # noqa: BLE001 - every failure is reported in plain words
        return [failed(subject, f"no access token: {err}. See docs/salesforce-connection.md")]
    findings = [passed(subject, f"access token from the {settings.auth_flow} flow ({token.instance_url})")]
    findings += _scopes(subject, settings.auth_flow, token.scope)
    try:
        sf = hook.get_conn()
        findings.append(_api_version(sf, token.instance_url, settings.api_version))
        describe = sf.restful("sobjects/User/describe") or {}
    except Exception as err:  # noqa: BLE001
        return [*findings, failed(subject, f"the REST API refused the integration user: {err}")]
    findings.append(_manages_users(describe))
    if config is None:
        return findings
    findings += _fields(describe, config)
    findings += _records(sf, config)
    return findings


def _scopes(subject: str, flow: str, scope: str | None) -> list[Finding]:
    if scope is None:
        return [passed(f"{subject} scopes", "the token response lists no scopes (nothing to compare)")]
    granted = set(scope.split())
    findings = []
    if not granted & API_SCOPES:
        findings.append(
            failed(
                f"{subject} scopes",
                f"the token has '{scope}' but no 'api': add 'Manage user data via APIs (api)' to the "
                "External Client App's OAuth scopes, then authorize again (okta-salesforce authorize)",
            )
        )
    if flow == "refresh_token" and not granted & REFRESH_SCOPES:
        findings.append(
            failed(
                f"{subject} scopes",
                "no 'refresh_token'/'offline_access': add 'Perform requests at any time' to the app's "
                "scopes, or the connection stops working when the session ends",
            )
        )
    return findings or [passed(f"{subject} scopes", f"granted: {scope}")]


def _api_version(sf: Salesforce, instance_url: str, version: str) -> Finding:
    response = sf.session.get(f"{instance_url}/services/data/", headers=sf.headers, timeout=30)
    response.raise_for_status()
    offered = [str(v["version"]) for v in response.json()]
    if version in offered:
        return passed("Salesforce API version", f"v{version} (the org offers up to v{offered[-1]})")
    return failed(
        "Salesforce API version",
        f"the org does not offer v{version} (it offers v{offered[0]} to v{offered[-1]}): set api_version "
        "in the connection's extra to one of those",
    )


def _manages_users(describe: dict[str, Any]) -> Finding:
    if describe.get("createable") and describe.get("updateable"):
        return passed("Salesforce integration user", "may create and edit users")
    return failed(
        "Salesforce integration user",
        "may not create or edit users: give its profile or a permission set 'Manage Users' "
        "(the describe of User says createable/updateable false)",
    )


def _fields(describe: dict[str, Any], config: SyncConfig) -> list[Finding]:
    fields = {f["name"]: f for f in describe.get("fields", [])}
    findings = []
    for mapping in config.mapping:
        subject = f"Salesforce field User.{mapping.target}"
        field = fields.get(mapping.target)
        if field is None:
            findings.append(
                failed(
                    subject, "does not exist (or is hidden from the integration user by field-level security)"
                )
            )
            continue
        needs = ["createable"] + (["updateable"] if mapping.apply is Apply.ALWAYS else [])
        missing = [n for n in needs if not field.get(n)]
        if missing:
            how = "on create" if missing == ["createable"] else "on update (apply: always)"
            findings.append(
                failed(
                    subject,
                    f"is not writable {how} ({', '.join(missing)} false): map another field, set "
                    "apply: on_create, or give the integration user edit access to it",
                )
            )
        else:
            findings.append(passed(subject, "exists and is writable"))
    return findings


def _records(sf: Salesforce, config: SyncConfig) -> list[Finding]:
    from okta_salesforce.sync.directory import resolve_directory
    from okta_salesforce.sync.managed_profiles import excluded_mapped_profiles

    directory = resolve_directory(sf, config)
    known = {
        "Profile": directory.profiles,
        "UserRole": directory.roles,
        "PermissionSet": directory.permission_sets,
    }
    findings = []
    for sobject, names in referenced_names(config).items():
        for name in sorted(names):
            if name in known[sobject]:
                findings.append(passed(f"Salesforce {sobject} {name!r}", "exists"))
            else:
                close = sorted(known[sobject])[:8]
                findings.append(
                    failed(
                        f"Salesforce {sobject} {name!r}",
                        f"no {sobject} has this Name in the org; use one of: {', '.join(close)}"
                        + (" ..." if len(known[sobject]) > 8 else ""),
                    )
                )
    # A mapped profile whose users the managed filter excludes: created users would never be
    # updated or deprovisioned again.
    for excluded in excluded_mapped_profiles(directory.profile_user_types, config):
        findings.append(
            failed(
                f"Salesforce Profile {excluded.profile!r}",
                f"{excluded.problem()}; add its user type to managed.user_types or map another profile",
            )
        )
    return findings
