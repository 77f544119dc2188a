"""The Airflow UI in a real browser: log in, open okta_salesforce_reconcile, trigger a dry run from the form.

Headless Chromium is Debian's ``chromium`` (scripts/e2e-prerequisites.sh installs it), driven by
Playwright with ``executable_path``; Playwright's own browser download is not used. Without the
binary this test fails, it does not skip. Screenshots go to ``artifacts/e2e/<run>/screenshots/``;
with ``UPDATE_DOCS_SCREENSHOTS=1`` the trigger form, the connection form and the approval are also
copied to ``docs/images/`` for the quickstart (docs/ja/quickstart.md).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import ADMIN_USER, ApiClient, Deployment, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.xdist_group("e2e")]

DAG_ID = "okta_salesforce_reconcile"
APPROVAL_DAG_ID = "okta_salesforce_deprovision_approval"
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def page(deployment: Deployment) -> Iterator[Any]:
    """A logged-out Chromium page on the deployment's UI (API responses kept for the canary)."""
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.fail(f"{CHROMIUM} not found: run scripts/e2e-prerequisites.sh (installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1100}, base_url=deployment.api_url)
        context.set_default_timeout(30_000)
        page = context.new_page()
        page.ui_api_bodies = []  # type: ignore[attr-defined]

        def keep(response: Any) -> None:
            if "/api/v2/" in response.url or "/ui/" in response.url:
                # Redirects and aborted requests have no body.
                with contextlib.suppress(Exception):
                    page.ui_api_bodies.append((f"ui {response.url}", response.text()))  # type: ignore[attr-defined]

        page.on("response", keep)
        try:
            yield page
        finally:
            context.close()
            browser.close()


def _for_docs(shot: Path, name: str) -> None:
    """Copy a screenshot into docs/images when UPDATE_DOCS_SCREENSHOTS=1 (the docs show these)."""
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS_IMAGES / name)


@pytest.fixture(scope="module")
def shots(deployment: Deployment) -> Path:
    assert deployment.run_dir is not None
    folder = deployment.run_dir / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_trigger_dry_run_from_the_ui(page: Any, shots: Path, deployment: Deployment, api: ApiClient) -> None:
    details = api.wait_for_dag(DAG_ID)
    titles = {
        name: (spec.get("schema") or {}).get("title") or name for name, spec in details["params"].items()
    }
    assert {"dry_run", "users", "allow_mass_deactivation"} <= set(titles)
    runs_before = {r["dag_run_id"] for r in api.get(f"/dags/{DAG_ID}/dagRuns", limit=100)["dag_runs"]}

    # Log in through SimpleAuthManager's login page.
    page.goto(f"/dags/{DAG_ID}")
    page.locator("input[name=username]").fill(ADMIN_USER)
    page.locator("input[name=password]").fill(deployment.admin_password)
    page.screenshot(path=shots / "01-login.png")
    page.get_by_role("button", name=re.compile("sign in|log ?in", re.I)).click()
    page.wait_for_url(re.compile(rf"/dags/{DAG_ID}$"))
    page.get_by_text(DAG_ID).first.wait_for()
    page.screenshot(path=shots / "02-dag.png")

    # The trigger form shows our params with their titles and descriptions.
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Run Parameters").wait_for()
    for name, title in titles.items():
        dialog.get_by_text(title).first.wait_for()
        description = details["params"][name].get("description")
        if description:
            assert description in dialog.inner_text(), f"{name}'s description is not shown"
    page.screenshot(path=shots / "03-trigger-form.png", full_page=True)
    _for_docs(shots / "03-trigger-form.png", "trigger-form.png")

    # Dry run on, then Trigger.
    dry_run = dialog.locator("input[name=element_dry_run]")
    if not dry_run.is_checked():
        dialog.locator("label:has(input[name=element_dry_run])").click()  # the switch
    assert dry_run.is_checked(), "could not switch on Dry run"
    page.screenshot(path=shots / "04-dry-run-on.png", full_page=True)
    dialog.get_by_role("button", name="Trigger").click()
    dialog.wait_for(state="hidden")

    # The run the form created: dry_run in its conf, and it succeeds.
    def new_run() -> dict[str, Any] | None:
        runs = api.get(f"/dags/{DAG_ID}/dagRuns", limit=100)["dag_runs"]
        fresh = [r for r in runs if r["dag_run_id"] not in runs_before]
        return fresh[0] if fresh else None

    run = wait_for("the UI-triggered run", new_run, timeout=30)
    assert run["run_type"] == "manual"
    assert run["conf"]["dry_run"] is True
    final = api.wait_for_run(DAG_ID, run["dag_run_id"], timeout=300)
    states = {ti["task_id"]: ti["state"] for ti in api.task_instances(DAG_ID, run["dag_run_id"])}
    page.goto(f"/dags/{DAG_ID}/runs/{run['dag_run_id']}")
    page.get_by_text(final["state"], exact=False).first.wait_for()
    page.screenshot(path=shots / "05-run-finished.png", full_page=True)
    assert final["state"] == "success", f"the dry run ended {final['state']}: {states}"
    api.responses.extend(page.ui_api_bodies)  # the canary checks what the browser received too


def _logged_in(page: Any, deployment: Deployment, path: str) -> None:
    """Open ``path``, logging in first when SimpleAuthManager's login page shows."""
    page.goto(path)
    username = page.locator("input[name=username]")
    with contextlib.suppress(Exception):
        username.wait_for(timeout=5_000)
    if username.count():
        username.fill(ADMIN_USER)
        page.locator("input[name=password]").fill(deployment.admin_password)
        page.get_by_role("button", name=re.compile("sign in|log ?in", re.I)).click()


def test_connection_form_shows_secret_extras_as_password_inputs(
    page: Any, shots: Path, deployment: Deployment, api: ApiClient
) -> None:
    """The refresh token (``format: password`` in conn-fields) renders as a password input, never as text."""
    _logged_in(page, deployment, "/connections")
    row = page.get_by_role("row").filter(has_text="salesforce_oauth_default")
    row.wait_for()
    row.get_by_role("button", name="Edit Connection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Extra Fields", exact=True).first.click()  # the accordion holding conn-fields
    refresh_token = dialog.locator("input[name$='refresh_token']")
    refresh_token.wait_for()
    page.screenshot(path=shots / "06-connection-form.png", full_page=True)
    _for_docs(shots / "06-connection-form.png", "connection-form.png")
    assert refresh_token.get_attribute("type") == "password"
    assert refresh_token.input_value() == "***"  # the API sends it redacted, and it stays hidden
    api_version = dialog.locator("input[name$='api_version']")
    assert api_version.get_attribute("type") != "password"  # only secrets are hidden
    api.responses.extend(page.ui_api_bodies)


def test_mass_deactivation_waits_for_a_person_in_the_ui(
    page: Any, shots: Path, deployment: Deployment, api: ApiClient, e2e_sandboxes: Any
) -> None:
    """A plan over the guard is handed to the approval DAG, whose form lists who would be deprovisioned."""
    okta = e2e_sandboxes.okta_app
    leavers = [p for p in e2e_sandboxes.seed.people if p.assigned and not p.via_group][:60]
    for person in leavers:
        okta.unassign(person.login)
    try:
        api.trigger(DAG_ID, {"dry_run": False, "allow_mass_deactivation": False})

        def waiting() -> dict[str, Any] | None:
            for run in api.get(f"/dags/{APPROVAL_DAG_ID}/dagRuns", limit=20)["dag_runs"]:
                tis = {ti["task_id"]: ti for ti in api.task_instances(APPROVAL_DAG_ID, run["dag_run_id"])}
                ti = tis.get("approve_deactivations")
                if ti and ti["state"] in ("deferred", "awaiting_input"):
                    return ti
            return None

        ti = wait_for("the approval DAG to wait for a person", waiting, timeout=300)
        path = f"/dags/{APPROVAL_DAG_ID}/runs/{ti['dag_run_id']}/tasks/approve_deactivations"
        _logged_in(page, deployment, path)
        page.get_by_text("approve_deactivations").first.wait_for()
        page.get_by_text(re.compile(r"^Required Action", re.I)).first.click()  # the tab with the form
        reject = page.get_by_role("button", name="Reject")
        with contextlib.suppress(Exception):
            reject.first.wait_for(timeout=30_000)
        page.screenshot(path=shots / "07-approval.png", full_page=True)
        _for_docs(shots / "07-approval.png", "approval.png")
        assert reject.count() >= 1, "the approval form shows no Reject option"
        assert page.get_by_role("button", name="Approve").count() >= 1
        listed = next(p for p in leavers if p.salesforce in ("active", "stale"))  # the first one held back
        assert page.get_by_text(listed.login).count() >= 1, "the approval does not list who would go"
        api.responses.extend(page.ui_api_bodies)
    finally:
        for person in leavers:
            okta.assign(person.login)
