"""HTTP side of the Okta sandbox's Event Hooks: the ``/api/v1/eventHooks`` routes, failure events.

The hooks themselves, their verification and deliveries are in
:mod:`okta_salesforce_testbed.sandbox.okta_hooks`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from okta_salesforce_testbed.sandbox.okta_hooks import EventHook, EventHookService, HookError
from okta_salesforce_testbed.sandbox.server import Request, Response


def routes(service: EventHookService, app: Any) -> list[tuple[str, str, str, Callable[[Request], Response]]]:
    """``(method, pattern, name, handler)`` of the Event Hooks API, answering in Okta's wire format.

    :param app: the :class:`~okta_salesforce_testbed.sandbox.okta.OktaApp` (its error shape and base URL).
    """

    def answer(request: Request, action: Callable[[], Any], status: int = 200) -> Response:
        try:
            result = action()
        except HookError as err:
            return app.error(err.status, err.code, err.summary, err.causes)
        except ValueError as err:
            return app.error(400, "E0000003", f"The request body was not well-formed: {err}")
        base = app.base_url or request.base_url
        service.source_base = base
        if result is None:
            return Response(204)
        body = [h.to_json(base) for h in result] if isinstance(result, list) else result.to_json(base)
        return Response(status, body, content_type="application/json")

    hook_id = lambda request: request.params["eventHookId"]  # noqa: E731 - a one-line accessor
    return [
        (
            "GET",
            "/api/v1/eventHooks",
            "eventHooks.list",
            lambda r: answer(r, lambda: list(service.hooks.values())),
        ),
        (
            "POST",
            "/api/v1/eventHooks",
            "eventHooks.create",
            lambda r: answer(r, lambda: service.create(r.json())),
        ),
        (
            "GET",
            "/api/v1/eventHooks/{eventHookId}",
            "eventHooks.get",
            lambda r: answer(r, lambda: service.get(hook_id(r))),
        ),
        (
            "PUT",
            "/api/v1/eventHooks/{eventHookId}",
            "eventHooks.replace",
            lambda r: answer(r, lambda: service.replace(hook_id(r), r.json())),
        ),
        (
            "DELETE",
            "/api/v1/eventHooks/{eventHookId}",
            "eventHooks.delete",
            lambda r: answer(r, lambda: service.delete(hook_id(r))),
        ),
        (
            "POST",
            "/api/v1/eventHooks/{eventHookId}/lifecycle/{action}",
            "eventHooks.lifecycle",
            lambda r: answer(r, lambda: service.lifecycle(hook_id(r), r.params["action"])),
        ),
    ]


def failure_recorder(app: Any) -> Callable[[EventHook, str], None]:
    """Logs ``event_hook.delivery`` (FAILURE) in the org's System Log, as Okta does."""

    def record(hook: EventHook, problem: str) -> None:
        with app.lock:
            event = app.log.record(
                "event_hook.delivery",
                display_message="Event hook delivery failed",
                legacy_event_type="event_hook.delivery",
                actor={
                    "id": hook.id,
                    "type": "EventHook",
                    "alternateId": hook.name,
                    "displayName": hook.name,
                },
                targets=[
                    {"id": hook.id, "type": "EventHook", "alternateId": hook.uri, "displayName": hook.name}
                ],
                debug_data={"failureReason": problem},
                transaction_id="sbx" + secrets.token_urlsafe(14),
            )
            event["outcome"] = {"result": "FAILURE", "reason": problem}

    return record
