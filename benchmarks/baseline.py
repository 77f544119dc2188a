"""The per-user baseline: the Okta Workflows template's flow, run once per assigned user.

For every assigned Okta user (the "User Assigned to Application" event, which carries the user's
id and app username) the flow does what the template's cards do:

1. **Read User** (Okta): ``GET /api/v1/users/{id}``: first and last name, email, department.
2. **Search Users** (Salesforce) by Username = the app username: one SOQL query.
3. Not found: **Create User** (``POST sobjects/User``: FirstName, LastName, Email, Department,
   Username, the profile by a department lookup table, UTF-8, en_US, America/Los_Angeles);
   found and inactive: **Activate User** (``PATCH sobjects/User/{id}``); found and active: stop.

Where it is generous to the template: the department lookup table's Profile ids are read once
(in Workflows the table holds them, no API call), the Salesforce connection's access token is
fetched once (Workflows keeps its connection's token), updates and deactivations are not done at
all (the template has none), and ``--concurrency`` flows run side by side. Run as a child process::

    python -m benchmarks.baseline --events events.jsonl --out result.json --concurrency 8

``events.jsonl`` holds one ``{"okta_id": ..., "login": ...}`` per assigned user.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.reconcile import peak_rss_mb

if TYPE_CHECKING:
    import requests
    from simple_salesforce import Salesforce

#: The template's department -> profile lookup table (include/okta_salesforce.yaml has the same).
DEPARTMENT_PROFILES = {
    "Sales": "Standard User",
    "Marketing": "Marketing User",
    "Support": "Standard User",
    "Engineering": "Chatter Free User",
    "Finance": "Standard User",
    "Operations": "Standard User",
}


class _Flows:
    """Runs one template flow per event, with a Salesforce client per worker thread."""

    def __init__(self) -> None:
        self._local = threading.local()
        self.profiles: dict[str, str] = {}
        self.results: dict[str, int] = {"created": 0, "activated": 0, "unchanged": 0, "failed": 0}
        self._lock = threading.Lock()

    def client(self) -> Salesforce:
        sf = getattr(self._local, "sf", None)
        if sf is None:
            from okta_salesforce.hooks.salesforce import SalesforceOAuthHook

            sf = self._local.sf = SalesforceOAuthHook().get_conn()
        return sf

    def okta(self) -> tuple[requests.Session, str]:
        """A session with the ``okta_default`` connection's API token (SSWS) and CA bundle; its org URL."""
        session = getattr(self._local, "okta", None)
        if session is None:
            import requests
            from airflow.sdk import BaseHook

            from okta_salesforce.hooks.salesforce_session import mount_ca_bundle

            conn = BaseHook.get_connection("okta_default")
            session = self._local.okta = requests.Session()
            session.headers.update({"Authorization": f"SSWS {conn.password}", "Accept": "application/json"})
            # The CA in the adapter's own TLS context: REQUESTS_CA_BUNDLE cannot override it.
            mount_ca_bundle(session, conn.extra_dejson.get("ca_bundle"))
            self._local.okta_url = (conn.host or "").rstrip("/")
        return session, self._local.okta_url

    def read_okta_user(self, okta_id: str) -> dict[str, Any]:
        """The template's Read User card: the user's Okta profile."""
        session, url = self.okta()
        response = session.get(f"{url}/api/v1/users/{okta_id}", timeout=60)
        response.raise_for_status()
        return response.json()["profile"]

    def load_profiles(self) -> None:
        records = self.client().query_all("SELECT Id, Name FROM Profile")["records"]
        self.profiles = {r["Name"]: r["Id"] for r in records}

    def flow(self, event: dict[str, Any]) -> None:
        """Read the Okta user, Search Users by Username, then Create User or Activate User."""
        from okta_salesforce.sync.soql import quote

        sf = self.client()
        outcome = "failed"
        try:
            profile = self.read_okta_user(event["okta_id"])
            found = sf.query(f"SELECT Id, IsActive FROM User WHERE Username = {quote(event['login'])}")[
                "records"
            ]
            if not found:
                sf.User.create(self._new_user(event["login"], profile))
                outcome = "created"
            elif not found[0]["IsActive"]:
                sf.User.update(found[0]["Id"], {"IsActive": True})
                outcome = "activated"
            else:
                outcome = "unchanged"
        except Exception:
            outcome = "failed"
        with self._lock:
            self.results[outcome] += 1

    def _new_user(self, username: str, okta: dict[str, Any]) -> dict[str, Any]:
        """The template's Create User card: names, email, department, profile by department, en_US."""
        local = username.split("@")[0]
        profile = DEPARTMENT_PROFILES.get(okta.get("department") or "", "Standard User")
        return {
            "Username": username,
            "FirstName": okta.get("firstName"),
            "LastName": okta.get("lastName"),
            "Email": okta.get("email"),
            "Department": okta.get("department"),
            "Alias": "".join(c for c in local if c.isalnum())[:8] or "user",
            "CommunityNickname": local[:40],
            "ProfileId": self.profiles[profile],
            "EmailEncodingKey": "UTF-8",
            "LanguageLocaleKey": "en_US",
            "LocaleSidKey": "en_US",
            "TimeZoneSidKey": "America/Los_Angeles",
        }


def run(events: list[dict[str, Any]], *, concurrency: int) -> dict[str, Any]:
    """Run one flow per event, ``concurrency`` at a time; return outcome counts and seconds."""
    started = time.monotonic()
    flows = _Flows()
    flows.load_profiles()
    with ThreadPoolExecutor(max_workers=max(concurrency, 1)) as pool:
        list(pool.map(flows.flow, events))
    return {"seconds": time.monotonic() - started, "events": len(events), "outcomes": flows.results}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the child process."""
    entered = time.monotonic()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=Path, required=True, help="JSON Lines of assignment events")
    parser.add_argument("--out", type=Path, required=True, help="where to write the result JSON")
    parser.add_argument("--concurrency", type=int, default=8, help="flows running side by side")
    args = parser.parse_args(argv)
    events = [json.loads(line) for line in args.events.read_text("utf-8").splitlines() if line]
    result = run(events, concurrency=args.concurrency)
    result |= {"main_entered_monotonic": entered, "peak_rss_mb": round(peak_rss_mb(), 1)}
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
