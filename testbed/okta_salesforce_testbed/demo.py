"""``okta-salesforce demo``: the whole product against the sandboxes, in one command.

1. start the Okta and Salesforce sandboxes with a realistic company;
2. set up Airflow with an embedded SQLite metadata database;
3. run ``okta_salesforce_reconcile`` (full) with ``airflow dags test``;
4. change things in Okta (two new hires, one the other's manager; an unassignment; a move from
   Sales to Marketing that takes away a permission set group) and run ``okta_salesforce_sync``
   (incremental);
5. explain what happened, check Salesforce against Okta, and stop everything.

``okta-salesforce demo --standalone`` instead starts ``airflow standalone`` with the
sandboxes and connections preset, to explore and trigger runs in the UI. It listens on
127.0.0.1 only, with a password generated for this run and printed once.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from okta_salesforce_testbed.airflow_env import REPO_ROOT, AirflowEnvironment

if TYPE_CHECKING:
    from okta_salesforce_testbed.sandbox import Sandboxes

_VERBS = {
    "create": "created",
    "activate": "activated",
    "update": "updated",
    "deactivate": "deactivated",
    "freeze": "frozen",
    "unfreeze": "unfrozen",
    "entitle": "with changed entitlements",
}
#: The demo's config: the shipped one plus entitlements, managers, feature licenses and a role lookup.
DEMO_CONFIG = REPO_ROOT / "include" / "examples" / "entitlements.yaml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--users", type=int, default=300, help="people in the sandbox company (default 300)")
    parser.add_argument(
        "--workdir", default=str(REPO_ROOT / ".demo"), help="where Airflow, files and logs go (recreated)"
    )
    parser.add_argument(
        "--standalone",
        action="store_true",
        help="start `airflow standalone` with the sandboxes preset instead of the scripted demo",
    )
    parser.add_argument("--port", type=int, default=8080, help="api-server port for --standalone")


def run(args: argparse.Namespace) -> int:
    from okta_salesforce_testbed.sandbox import Sandboxes

    workdir = Path(args.workdir).resolve()
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    _say(f"Starting the Okta and Salesforce sandboxes ({args.users} people) ...")
    with Sandboxes(users=args.users, directory=workdir / "sandbox") as sandboxes:
        assigned = sum(person.assigned for person in sandboxes.seed.people)
        print(f"    Okta:       {sandboxes.okta.url}  ({assigned} people assigned to the Salesforce app)")
        print(f"    Salesforce: {sandboxes.salesforce.url}  ({_managed_summary(sandboxes)})")
        print(f"    CA bundle:  {sandboxes.ca_path}  (TLS verification stays on)")
        print(f"    Config:     {DEMO_CONFIG.relative_to(REPO_ROOT)}  (with entitlements)")
        environment = AirflowEnvironment(
            workdir=workdir, sandboxes=sandboxes, extra_env={"OKTA_SALESFORCE_CONFIG": str(DEMO_CONFIG)}
        )
        _say("Preparing Airflow (SQLite metadata database, pool salesforce_api) ...")
        environment.setup()
        if args.standalone:
            return _standalone(environment, args.port)
        return _scripted_demo(environment, sandboxes)


def _trusting_config(workdir: Path) -> Path:
    """The demo's config with the admin's switch on: a run's allow_mass_deactivation passes the guard."""
    import yaml

    raw = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    raw.setdefault("guards", {})["trust_allow_mass_deactivation_param"] = True
    path = workdir / "okta_salesforce.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def _scripted_demo(environment: AirflowEnvironment, sandboxes: Sandboxes) -> int:
    _say("Run 1: okta_salesforce_reconcile, a full reconciliation (airflow dags test) ...")
    print(
        "    The sandbox company still has leavers active in Salesforce; a first reconciliation\n"
        "    deactivates more users than the guard allows, so this run sets allow_mass_deactivation,\n"
        "    which the demo's config trusts (guards.trust_allow_mass_deactivation_param: true; off by\n"
        "    default, when a plan over the guard waits for an approver in its own DAG)."
    )
    environment.extra_env["OKTA_SALESFORCE_CONFIG"] = str(_trusting_config(environment.workdir))
    environment.dags_test("okta_salesforce_reconcile", {"allow_mass_deactivation": True})
    _explain(environment.latest_report("okta_salesforce_reconcile"))
    okta = sandboxes.okta_app
    newcomer = okta.add_user(
        first_name="Grace",
        last_name="Hopper",
        login="grace.hopper@acme.example.com",
        department="Engineering",
        title="Staff Engineer",
    )
    okta.assign(newcomer["profile"]["login"])
    report = okta.add_user(
        first_name="Alan",
        last_name="Turing",
        login="alan.turing@acme.example.com",
        department="Engineering",
        title="Engineer",
        managerId="grace.hopper@acme.example.com",
    )
    okta.assign(report["profile"]["login"])
    leaver = next(p for p in sandboxes.seed.people if p.assigned and not p.via_group)
    okta.unassign(leaver.login)
    sellers = [
        p
        for p in sandboxes.seed.people
        if p.assigned
        and p.login != leaver.login
        and p.department == "Sales"
        and p.salesforce.value == "active"
    ]
    # Preferably one who also holds a permission set the config does not manage (it stays).
    mover = next(
        (p for p in sellers if "Sales Operations" in _permission_sets(sandboxes, p.login)), sellers[0]
    )
    okta.update_profile(mover.login, department="Marketing", title="Marketing Manager")
    okta.set_group_membership("Sales", mover.login, False)
    okta.set_group_membership("Marketing", mover.login, True)
    _say("Meanwhile in Okta:")
    print("    + grace.hopper@acme.example.com was assigned to the Salesforce app")
    print("    + alan.turing@acme.example.com was assigned too; his Okta manager is Grace, also new")
    print(f"    - {leaver.login} was unassigned")
    print(f"    ~ {mover.login} moved from Sales to Marketing (and from the Okta group Sales to Marketing)")
    _say("Run 2: okta_salesforce_sync, the incremental sync from the System Log ...")
    environment.dags_test("okta_salesforce_sync")
    sync_report = environment.latest_report("okta_salesforce_sync")
    _explain(sync_report)
    _explain_entitlements(sync_report, sandboxes, mover.login, report["profile"]["login"])
    return _verify(sandboxes)


def _explain_entitlements(report: Path | None, sandboxes: Sandboxes, mover: str, new_report: str) -> None:
    """Say what the entitlement rules did for the mover, and how the new hire got his manager."""
    if report is None:
        return
    rows = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        if row["action"] == "entitle" and row["login"] in (mover, new_report):
            print(f"    {row['login']}: {row['outcome']}: {row['message']}")
    kept = _permission_sets(sandboxes, mover)
    print(f"    {mover} now holds: {', '.join(kept) or 'no permission sets'} (unmanaged ones stay)")
    org = sandboxes.salesforce_app.org
    manager = sandboxes.salesforce_app.user(new_report) or {}
    boss = org.table("User").get(manager.get("ManagerId") or "") or {}
    print(f"    {new_report}'s manager in Salesforce: {boss.get('Username', 'none')}")


STANDALONE_HOST = "127.0.0.1"
STANDALONE_USER = "admin"


def standalone_env(environment: AirflowEnvironment, port: int) -> tuple[dict[str, str], str]:
    """The environment of ``airflow standalone`` and the admin password generated for it.

    The api-server binds 127.0.0.1 only; the password file is written ``0600``. The connections
    are not in it: :meth:`AirflowEnvironment.store_connections` keeps them in the metadata database.
    """
    password = secrets.token_urlsafe(18)
    passwords = environment.home / "passwords.json"
    passwords.unlink(missing_ok=True)
    fd = os.open(passwords, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({STANDALONE_USER: password}, fh)
    env = environment.env_with_stored_connections()
    env.update(
        AIRFLOW__API__HOST=STANDALONE_HOST,
        AIRFLOW__API__PORT=str(port),
        # Task processes report to the api-server's Execution API: tell them its port.
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://{STANDALONE_HOST}:{port}/execution/",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{STANDALONE_USER}:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(passwords),
        AIRFLOW__CORE__TEST_CONNECTION="Enabled",
    )
    return env, password


def _standalone(environment: AirflowEnvironment, port: int) -> int:
    # Stored in the metadata database (not AIRFLOW_CONN_* variables), so that Admin -> Connections
    # shows both forms, secrets masked, and their Test button works.
    environment.store_connections()
    env, password = standalone_env(environment, port)
    _say(
        f"Starting Airflow standalone on http://{STANDALONE_HOST}:{port} (this machine only). "
        f"Log in as {STANDALONE_USER} with the password {password} (shown once, not stored elsewhere)."
    )
    print("    The connections okta_default and salesforce_oauth_default point at the sandboxes;")
    print("    they are stored in the metadata database: see and test them in Admin -> Connections.")
    print("    Trigger okta_salesforce_reconcile from the UI. Press Ctrl+C to stop everything.")
    # Its own process group, so that stopping the demo stops every Airflow component it started.
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow", "standalone"], env=env, start_new_session=True
    )
    signal.signal(signal.SIGTERM, lambda *_: _stop_group(process))
    try:
        return process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        _stop_group(process)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop ``airflow standalone`` and its children: SIGTERM to the group, SIGKILL after 30 s."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # The leader is gone; its children may still be shutting down.
        time.sleep(1)


def _explain(report: Path | None) -> None:
    if report is None:
        print("    (no report was written; see the logs folder)")
        return
    rows = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines() if line.strip()]
    done = Counter(row["action"] for row in rows if row["outcome"] == "success")
    failed = [row for row in rows if row["outcome"] == "failed"]
    held = Counter(row["outcome"] for row in rows if row["outcome"] not in ("success", "failed"))
    changes = ", ".join(f"{count} {_VERBS.get(action, action)}" for action, count in sorted(done.items()))
    print(f"    Salesforce users {changes or 'unchanged: nothing to do'}.")
    if failed:
        print(f"    {len(failed)} could not be written; for example:")
        for row in failed[:3]:
            print(f"      {row['login']}: {row.get('error_code')} {row.get('message')}")
    for outcome, count in sorted(held.items()):
        print(f"    {count} {outcome.replace('_', ' ')}")
    print(f"    Per-user report: {report}")


def _permission_sets(sandboxes: Sandboxes, login: str) -> list[str]:
    """Labels of the permission sets (and groups) a Salesforce user holds, from the sandbox."""
    org = sandboxes.salesforce_app.org
    user = sandboxes.salesforce_app.user(login.lower()) or {}
    return sorted(
        org.table("PermissionSet")[a["PermissionSetId"]]["Label"]
        for a in org.table("PermissionSetAssignment").values()
        if a["AssigneeId"] == user.get("Id")
    )


def _managed_summary(sandboxes: Sandboxes) -> str:
    users = sandboxes.salesforce_app.users()
    active = sum(1 for user in users if user.get("IsActive"))
    return f"{len(users)} users, {active} active"


def _verify(sandboxes: Sandboxes) -> int:
    """Check the end state with the sandbox audit and say it in words."""
    from okta_salesforce_testbed.sandbox.audit import audit

    result = audit(sandboxes)
    _say("Checking Salesforce against Okta ...")
    have = len(result.assigned) - len(result.missing)
    print(f"    {len(result.assigned)} people are assigned in Okta and active; {have} have an active user.")
    print(f"    Same department and title as Okta: {have - len(result.mismatched)} of {have}.")
    print(f"    Duplicates: {len(result.duplicates)}. Unassigned but still active: {len(result.lingering)}.")
    if result.consistent:
        print("    Salesforce matches Okta.")
        return 0
    for kind in ("missing", "duplicates", "lingering"):
        for login in getattr(result, kind)[:5]:
            print(f"    {kind}: {login}")
    for login, differences in list(result.mismatched.items())[:5]:
        print(f"    different: {login} {differences}")
    return 1


def _say(text: str) -> None:
    print(f"\n==> {text}", flush=True)


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    sys.exit(run(parser.parse_args()))
