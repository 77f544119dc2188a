"""One event-driven Airflow deployment (api-server, scheduler, dag-processor, triggerer) per module.

The harness is :class:`benchmarks.event_latency.EventDeployment`, shared with the latency
benchmark; every process it starts is stopped by its id when the module ends, pass or fail.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # the benchmarks package holds the shared harness

from benchmarks.event_latency import EventDeployment  # noqa: E402

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
            workdir=root,
            sandboxes=sandboxes,
            poll_interval=POLL_INTERVAL,
            push_poll_interval=PUSH_POLL_INTERVAL,
        ) as deployment,
    ):
        yield deployment
