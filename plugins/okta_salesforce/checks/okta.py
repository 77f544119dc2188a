"""``okta-salesforce check``, Okta side: the connection, the app id and the scopes the sync needs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from okta_salesforce.checks.findings import Finding, failed, passed

if TYPE_CHECKING:
    from okta_salesforce.hooks.okta import OktaHook

#: Scope -> what the sync reads with it.
REQUIRED_SCOPES = {
    "okta.apps.read": "the app's assigned users",
    "okta.users.read": "a user's profile (provisioning on demand)",
    "okta.logs.read": "the System Log (incremental and event-driven runs)",
}
APP_ID_HELP = (
    "copy it from the Okta Admin Console (Applications > Applications > the Salesforce app: the id is "
    "the last part of the page's URL, 0oa...) into okta.app_id of the config"
)


def check_okta(conn_id: str, app_id: str) -> list[Finding]:
    """Check the Okta connection ``conn_id`` against the app ``app_id``."""
    from okta_salesforce.hooks.okta import OktaHook

    subject = f"Okta connection {conn_id}"
    try:
        hook = OktaHook(okta_conn_id=conn_id)
        settings = hook.settings
    except Exception as err:  # noqa: BLE001 - a missing or malformed connection, said in plain words
        return [failed(subject, f"{err}. Create it: see docs/okta-connection.md")]
    findings: list[Finding] = []
    if settings.auth_mode == "private_key":
        missing = [s for s in REQUIRED_SCOPES if s not in settings.scopes]
        if missing:
            findings.append(
                failed(
                    f"{subject} scopes",
                    f"the connection does not ask for {', '.join(missing)} (needed for "
                    f"{'; '.join(REQUIRED_SCOPES[s] for s in missing)}): add them to its 'scopes' extra "
                    "and grant them on the API service app's 'Okta API Scopes' tab",
                )
            )
        else:
            findings.append(passed(f"{subject} scopes", "asks for " + " ".join(REQUIRED_SCOPES)))
    with hook:
        findings += _probe(hook, subject, settings.org_url, settings.auth_mode, app_id)
    return findings


def _probe(hook: OktaHook, subject: str, org_url: str, auth_mode: str, app_id: str) -> list[Finding]:
    from okta_salesforce.hooks.okta import OktaApiError, OktaNotFoundError

    def denied(err: OktaApiError, scope: str) -> Finding:
        if auth_mode == "private_key":
            fix = f"grant {scope} to the API service app and add it to the connection's scopes"
        else:
            fix = "the API token's admin must hold a role that may read apps, users and the System Log"
        return failed(f"{subject} ({scope})", f"Okta refused the call ({err}); {fix}")

    try:
        app = hook.get(f"/api/v1/apps/{app_id}").body
    except OktaNotFoundError:
        return [failed("Okta app id", f"there is no app {app_id!r} in {org_url}: {APP_ID_HELP}")]
    except OktaApiError as err:
        if err.status == 403:
            return [denied(err, "okta.apps.read")]
        return [failed(subject, f"cannot call Okta at {org_url}: {err}. Check the org URL and credentials")]
    except Exception as err:  # noqa: BLE001 - TLS, network: the message says which
        return [failed(subject, f"cannot reach Okta at {org_url}: {err}")]
    label = app.get("label", "?") if isinstance(app, dict) else "?"
    findings = [
        passed(subject, f"authenticated to {org_url} ({auth_mode})"),
        passed("Okta app id", f"{app_id} is the app {label!r}"),
    ]
    first_user = None
    try:
        users = hook.get(f"/api/v1/apps/{app_id}/users", {"limit": 1}).body
        first_user = users[0]["id"] if isinstance(users, list) and users else None
        findings.append(passed(f"{subject} (okta.apps.read)", "reads the app's assignments"))
    except OktaApiError as err:
        findings.append(denied(err, "okta.apps.read"))
    try:
        hook.get("/api/v1/logs", {"limit": 1})
        findings.append(passed(f"{subject} (okta.logs.read)", "reads the System Log"))
    except OktaApiError as err:
        findings.append(denied(err, "okta.logs.read"))
    if first_user:
        try:
            hook.get(f"/api/v1/users/{first_user}")
            findings.append(passed(f"{subject} (okta.users.read)", "reads user profiles"))
        except OktaApiError as err:
            findings.append(denied(err, "okta.users.read"))
    return findings
