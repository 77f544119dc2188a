"""The per-user baseline: what the Okta Workflows template does, one assignment at a time.

For every assigned Okta user (the "User Assigned to Application" event): Search Users by
Username (one SOQL query); not found: Create User (one ``POST sobjects/User``); found and
inactive: Activate User (one ``PATCH sobjects/User/{id}``); found and active: stop.

Generous to the baseline on purpose: the event payloads are given (no Okta call per user, where
the template reads the user's profile), the Profile ids are looked up once (not per create),
updates and deactivations are not done at all (the template has none), and ``--concurrency``
flows run side by side. Run as a child process::

    python -m benchmarks.baseline --events events.jsonl --out result.json --concurrency 8
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

    def load_profiles(self) -> None:
        records = self.client().query_all("SELECT Id, Name FROM Profile")["records"]
        self.profiles = {r["Name"]: r["Id"] for r in records}

    def flow(self, event: dict[str, Any]) -> None:
        """Search Users by Username, then Create User or Activate User."""
        from okta_salesforce.sync.soql import quote

        sf = self.client()
        outcome = "failed"
        try:
            found = sf.query(f"SELECT Id, IsActive FROM User WHERE Username = {quote(event['login'])}")[
                "records"
            ]
            if not found:
                sf.User.create(self._new_user(event))
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

    def _new_user(self, event: dict[str, Any]) -> dict[str, Any]:
        """The template's Create User card: names, email, department, profile by department, en_US."""
        local = event["login"].split("@")[0]
        profile = DEPARTMENT_PROFILES.get(event["department"], "Standard User")
        return {
            "Username": event["login"],
            "FirstName": event["first_name"],
            "LastName": event["last_name"],
            "Email": event["email"],
            "Department": event["department"],
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
