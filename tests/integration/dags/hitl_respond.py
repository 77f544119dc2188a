"""Answer a human-in-the-loop task the way the api-server's HITL endpoint does (run with the test's env).

Usage: python hitl_respond.py <dag_id> <task_id> <option> [--wait-only | --timeout]
Works on Airflow 3.1 (the HITL trigger sees the stored response) and 3.3 (resumed here, as
its endpoint does). Waits until the task is awaiting input (exit 3 after 240 s), then records the response,
unless --wait-only. --timeout instead moves the task's response deadline into the past and runs
the scheduler's own sweep (``check_awaiting_input_timeouts``), which answers with the defaults.
"""

from __future__ import annotations

import sys
import time


def main(dag_id: str, task_id: str, option: str, wait_only: bool, timeout: bool = False) -> int:
    try:
        from airflow._shared.timezones import timezone
    except ImportError:  # Airflow 3.1
        from airflow.utils import timezone
    from airflow.models.hitl import HITLUser
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import handle_event_submit
    from airflow.triggers.base import TriggerEvent
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    # Airflow 3.3 parks a HITL task in AWAITING_INPUT; 3.1 defers it to the HITL trigger.
    WAITING = getattr(TaskInstanceState, "AWAITING_INPUT", TaskInstanceState.DEFERRED)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        with create_session() as session:
            ti = session.scalar(
                select(TaskInstance)
                .options(joinedload(TaskInstance.hitl_detail))
                .where(
                    TaskInstance.dag_id == dag_id,
                    TaskInstance.task_id == task_id,
                    TaskInstance.state == WAITING,
                )
            )
            if ti is not None and ti.hitl_detail is not None:
                if wait_only:
                    return 0
                if timeout:
                    from datetime import timedelta

                    from airflow.jobs.job import Job
                    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner

                    ti.trigger_timeout = timezone.utcnow() - timedelta(seconds=1)
                    session.add(ti)
                    session.commit()
                    SchedulerJobRunner(job=Job()).check_awaiting_input_timeouts()
                    return 0
                detail = ti.hitl_detail
                detail.responded_by = HITLUser(id="identity-admin", name="Identity admin")
                detail.responded_at = timezone.utcnow()
                detail.chosen_options = [option]
                session.add(detail)
                if hasattr(detail, "as_resume_event_payload"):  # Airflow 3.3 resumes the task directly
                    handle_event_submit(
                        TriggerEvent(detail.as_resume_event_payload()), task_instance=ti, session=session
                    )
                # Airflow 3.1: the HITL trigger polls the detail and resumes the task itself.
                return 0
        time.sleep(1)
    return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3], "--wait-only" in sys.argv, "--timeout" in sys.argv))
