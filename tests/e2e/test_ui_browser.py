"""The Airflow UI in a real browser: log in, open okta_salesforce_reconcile, trigger a dry run from the form.

Headless Chromium is Debian's ``chromium`` (scripts/e2e-prerequisites.sh installs it), driven by
Playwright with ``executable_path``; Playwright's own browser download is not used. Without the
binary this test fails, it does not skip. Screenshots go to ``artifacts/e2e/<run>/screenshots/``.
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
    assert refresh_token.get_attribute("type") == "password"
    assert refresh_token.input_value() == "***"  # the API sends it redacted, and it stays hidden
    api_version = dialog.locator("input[name$='api_version']")
    assert api_version.get_attribute("type") != "password"  # only secrets are hidden
    api.responses.extend(page.ui_api_bodies)
