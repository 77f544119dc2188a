"""The streaming plan alone at large N: wall time and peak RSS, no sandbox, no network.

Generates a company lazily (N assigned Okta users; Salesforce holds 90 % of them, 10 % of those
with a changed title, 2 % inactive, plus N/20 leavers), streams it through
:func:`okta_salesforce.sync.plan.stream_plan` and writes every action as JSON Lines, as the plan
task does. Prints N, the plan's counts, seconds and the process's peak RSS (VmHWM).

    uv run python scripts/plan_scale.py 1000000
    uv run python scripts/plan_scale.py 100000 --in-memory   # build_plan: inputs as lists, store in memory
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from okta_salesforce.sync.config import default_config_path, load_config
from okta_salesforce.sync.models import OktaAssignment, SalesforceUser
from okta_salesforce.sync.plan import build_plan, stream_plan

DEPARTMENTS = ("Sales", "Marketing", "Support", "Engineering", "Finance", "Operations")


def _profile(i: int) -> dict[str, str]:
    return {
        "login": f"user{i}@acme.example.com",
        "email": f"user{i}@acme.example.com",
        "firstName": f"First{i}",
        "lastName": f"Last{i}",
        "department": DEPARTMENTS[i % len(DEPARTMENTS)],
        "title": "Engineer",
        "locale": "en_US",
        "timezone": "America/New_York",
        "employeeNumber": f"E{i}",
    }


def assignments(n: int) -> Iterator[OktaAssignment]:
    for i in range(n):
        login = f"user{i}@acme.example.com"
        yield OktaAssignment(
            okta_user_id=f"00u{i:012d}",
            login=login,
            app_username=login,
            assignment_status="ACTIVE",
            scope="USER",
            user_status="ACTIVE",
            profile=_profile(i),
        )


def users(n: int) -> Iterator[SalesforceUser]:
    for i in [*range(n), *range(n, n + n // 20)]:
        if i < n and i % 10 == 9:
            continue  # 10 % of the company is not in Salesforce yet: creates
        p = _profile(i)
        login = p["login"]
        fields = {
            "Id": f"005{i:012d}",
            "Username": login,
            "FederationIdentifier": login,
            "Email": login,
            "FirstName": p["firstName"],
            "LastName": p["lastName"],
            "Department": p["department"],
            "Title": "Manager" if i % 10 == 3 else p["title"],
            "EmployeeNumber": p["employeeNumber"],
            "Alias": f"f{i}"[:8],
            "CommunityNickname": f"user{i}",
            "ProfileId": "00e000000000001",
            "Profile.Name": "Standard User",
            "UserType": "Standard",
        }
        yield SalesforceUser(id=fields["Id"], username=login, is_active=i % 50 != 7, fields=fields)


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument(
        "--in-memory", action="store_true", help="build_plan: inputs as lists, store in memory"
    )
    args = parser.parse_args()
    config = load_config(default_config_path())
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder, open(Path(folder) / "plan.jsonl", "w") as out:
        if args.in_memory:
            plan = build_plan(list(assignments(args.n)), list(users(args.n)), config)
            rows = (a.to_dict() for a in plan.actions)
            counts = plan.summary()
        else:
            streamed = stream_plan(assignments(args.n), users(args.n), config, folder=folder)
            rows = streamed.action_dicts()
            counts = streamed.summary()
        for row in rows:
            out.write(json.dumps(row) + "\n")
        store_mb = sum(f.stat().st_size for f in Path(folder).rglob("*.sqlite")) / 1e6
        if not args.in_memory:
            streamed.close()
    seconds = time.monotonic() - started
    print(
        json.dumps(
            {
                "n": args.n,
                "in_memory": args.in_memory,
                "seconds": round(seconds, 1),
                "peak_rss_mb": round(peak_rss_mb(), 1),
                "store_mb": round(store_mb, 1),
                "counts": counts,
            }
        )
    )


if __name__ == "__main__":
    main()
