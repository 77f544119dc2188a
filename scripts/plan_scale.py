"""The streaming plan alone at large N: wall time and peak RSS, no sandbox, no network.

Generates a company lazily (N assigned Okta users; Salesforce holds 90 % of them, 10 % of those
with a changed title, 2 % inactive, plus N/20 leavers), streams it through
:func:`okta_salesforce.sync.plan.stream_plan` and writes every action as JSON Lines, as the plan
task does (every action to one file, each write kind to its own, encoded with orjson). Prints N,
the plan's counts, wall and CPU seconds (user + system, ``getrusage``: the figure other processes
on the machine disturb least) and the process's peak RSS (VmHWM).

    uv run python scripts/plan_scale.py 1000000
    uv run python scripts/plan_scale.py 100000 --profile plan.prof   # cProfile of the plan and its files
    uv run python scripts/plan_scale.py 100000 --in-memory   # build_plan: inputs as lists, store in memory
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import resource
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from okta_salesforce.sync.config import default_config_path, load_config
from okta_salesforce.sync.models import WRITE_KINDS, ActionKind, OktaAssignment, SalesforceUser
from okta_salesforce.sync.plan import build_plan, stream_plan

if TYPE_CHECKING:
    from okta_salesforce.sync.config import SyncConfig

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


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


#: sha256 over every line of the plan's files, in order (``--fingerprint``): two versions of the code
#: plan the same actions when their fingerprints are equal.
DIGEST = hashlib.sha256()


def _write(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    with open(path, "wb") as out:
        for row in rows:
            line = orjson.dumps(row, option=orjson.OPT_SORT_KEYS) + b"\n"
            DIGEST.update(line)
            out.write(line)


def run(n: int, in_memory: bool, config: SyncConfig) -> tuple[dict[str, int], float]:
    """Plan ``n`` users and write the plan's files as the plan task does; returns counts and store MB."""
    with tempfile.TemporaryDirectory() as folder:
        if in_memory:
            plan = build_plan(list(assignments(n)), list(users(n)), config)
            counts = plan.summary()
            _write(Path(folder) / "plan.jsonl", (a.to_dict() for a in plan.actions))
            for kind in WRITE_KINDS:
                chosen = (a.to_dict() for a in plan.actions if a.kind is kind)
                _write(Path(folder) / f"{kind}.jsonl", chosen)
            return counts, 0.0
        with stream_plan(assignments(n), users(n), config, folder=folder) as streamed:
            counts = streamed.summary()
            _write(Path(folder) / "plan.jsonl", streamed.action_dicts())
            for kind in sorted(str(k) for k in WRITE_KINDS if counts[str(k)]):
                _write(Path(folder) / f"{kind}.jsonl", streamed.action_dicts([ActionKind(kind)]))
            store_mb = sum(f.stat().st_size for f in Path(folder).rglob("*.sqlite")) / 1e6
        return counts, store_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument(
        "--in-memory", action="store_true", help="build_plan: inputs as lists, store in memory"
    )
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the run to FILE")
    args = parser.parse_args()
    config = load_config(default_config_path())
    started, cpu = time.monotonic(), cpu_seconds()
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    counts, store_mb = run(args.n, args.in_memory, config)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    print(
        json.dumps(
            {
                "n": args.n,
                "in_memory": args.in_memory,
                "seconds": round(time.monotonic() - started, 1),
                "cpu_seconds": round(cpu_seconds() - cpu, 1),
                "peak_rss_mb": round(peak_rss_mb(), 1),
                "store_mb": round(store_mb, 1),
                "counts": counts,
                "fingerprint": DIGEST.hexdigest()[:16],
                "load_average": [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]],
            }
        )
    )


if __name__ == "__main__":
    main()
