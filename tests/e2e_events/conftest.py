"""One event-driven Airflow deployment (api-server, scheduler, dag-processor, triggerer) per module.

The harness is :class:`okta_salesforce_testbed.event_deployment.EventDeployment` (on the shared
:mod:`okta_salesforce_testbed.deployment`), also the latency benchmark's; every process it starts
is stopped by its process group when the module ends, pass or fail.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from okta_salesforce_testbed.event_deployment import EventDeployment

#: Short enough to keep the suite quick; the Dag's default (10 s) is for production.
POLL_INTERVAL = 2.0
#: While push is healthy (the Dag's default is 60 s).
PUSH_POLL_INTERVAL = 6.0


@pytest.fixture(scope="module")
def event_deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventDeployment]:
    from okta_salesforce_testbed.sandbox import Sandboxes

    root = tmp_path_factory.mktemp("okta-events-e2e")
    with (
        Sandboxes(users=60, directory=root / "sandbox") as sandboxes,
        EventDeployment(
            run_dir=root,
            sandboxes=sandboxes,
            poll_interval=POLL_INTERVAL,
            push_poll_interval=PUSH_POLL_INTERVAL,
        ) as deployment,
    ):
        yield deployment
