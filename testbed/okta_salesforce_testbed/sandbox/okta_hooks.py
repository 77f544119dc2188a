"""The Okta sandbox's Event Hooks: the ``/api/v1/eventHooks`` API, verification, HTTPS deliveries.

Follows Okta's documented behaviour (Event Hooks Management API; the event hooks concept page):

* a hook is created ``ACTIVE`` and ``UNVERIFIED``; its ``channel.config.uri`` must be HTTPS;
  the ``authScheme.value`` (the shared secret) is write-only and never returned;
* ``POST /api/v1/eventHooks/{id}/lifecycle/verify`` sends ``GET uri`` with the
  ``x-okta-verification-challenge`` header (plus the auth header and custom headers) and expects
  ``{"verification": <challenge>}`` within 3 s; one retry after a timeout or an error; then the
  hook is ``VERIFIED``, or the call answers ``400``;
* only ``ACTIVE`` and ``VERIFIED`` hooks receive events: each System Log event of a subscribed
  type is POSTed as ``{"eventType": "com.okta.event_hook", ..., "data": {"events": [...]}}`` with
  the configured headers, over HTTPS (certificates verified), 3 s timeout, one retry after a
  timeout or a non-2xx answer (so a receiver may see a delivery twice, and none at all if both
  attempts fail: Okta delivers at most twice); a failed delivery is itself logged
  (``event_hook.delivery``);
* a hook is deleted only once ``INACTIVE``; updating its channel requires verifying it again.

Knobs for tests: :meth:`EventHookService.inject` drops the next deliveries (lost: no attempt
reaches the receiver) or duplicates them (as a retry after a lost answer would).
"""

from __future__ import annotations

import json
import queue
import secrets
import ssl
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from okta_salesforce_testbed.sandbox.okta_logs import format_time

#: Event types the sandbox lets a hook subscribe to (a subset of Okta's event-hook-eligible ones).
ELIGIBLE_EVENT_TYPES = frozenset(
    {
        "application.user_membership.add",
        "application.user_membership.remove",
        "application.user_membership.change_username",
        "group.user_membership.add",
        "group.user_membership.remove",
        "user.account.update_profile",
        "user.lifecycle.create",
        "user.lifecycle.activate",
        "user.lifecycle.deactivate",
        "user.lifecycle.suspend",
        "user.lifecycle.unsuspend",
        "user.lifecycle.reactivate",
    }
)
MAX_ACTIVE_HOOKS = 10
TIMEOUT = 3.0
MAX_EVENTS_PER_DELIVERY = 50
SCOPES = {
    "eventHooks.list": "okta.eventHooks.read",
    "eventHooks.get": "okta.eventHooks.read",
    "eventHooks.create": "okta.eventHooks.manage",
    "eventHooks.replace": "okta.eventHooks.manage",
    "eventHooks.delete": "okta.eventHooks.manage",
    "eventHooks.lifecycle": "okta.eventHooks.manage",
}


class HookError(Exception):
    """A request the Event Hooks API refuses: ``status``, Okta ``code``, summary and causes."""

    def __init__(self, status: int, code: str, summary: str, causes: list[str] | None = None) -> None:
        super().__init__(summary)
        self.status, self.code, self.summary, self.causes = status, code, summary, causes or []


def _invalid(*causes: str) -> HookError:
    names = ", ".join(c.split(":", 1)[0] for c in causes)
    return HookError(400, "E0000001", f"Api validation failed: {names}", list(causes))


@dataclass
class EventHook:
    """One registered hook (``secret`` is the write-only ``authScheme.value``)."""

    id: str
    name: str
    description: str | None
    events: list[str]
    uri: str
    headers: list[dict[str, str]]
    auth_key: str | None
    secret: str | None = field(repr=False)
    created: datetime
    last_updated: datetime
    status: str = "ACTIVE"
    verification_status: str = "UNVERIFIED"

    def request_headers(self) -> dict[str, str]:
        """Headers sent with every request to the hook: custom ones, then the auth header."""
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        headers.update({h["key"]: h["value"] for h in self.headers})
        if self.auth_key and self.secret is not None:
            headers[self.auth_key] = self.secret
        return headers

    def to_json(self, base_url: str) -> dict[str, Any]:
        """Okta's EventHook object (without the secret)."""
        href = f"{base_url}/api/v1/eventHooks/{self.id}"
        links: dict[str, Any] = {"self": {"href": href}}
        lifecycle = "deactivate" if self.status == "ACTIVE" else "activate"
        links[lifecycle] = {"href": f"{href}/lifecycle/{lifecycle}", "hints": {"allow": ["POST"]}}
        links["verify"] = {"href": f"{href}/lifecycle/verify", "hints": {"allow": ["POST"]}}
        config: dict[str, Any] = {"uri": self.uri, "headers": list(self.headers), "method": "POST"}
        if self.auth_key:
            config["authScheme"] = {"type": "HEADER", "key": self.auth_key}
        return {
            "id": self.id,
            "status": self.status,
            "verificationStatus": self.verification_status,
            "name": self.name,
            "description": self.description,
            "created": format_time(self.created),
            "createdBy": "00uadminsandbox0001",
            "lastUpdated": format_time(self.last_updated),
            "events": {"type": "EVENT_TYPE", "items": list(self.events), "filter": None},
            "channel": {"type": "HTTP", "version": "1.0.0", "config": config},
            "_links": links,
        }


def _object(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _parse(body: Any) -> dict[str, Any]:
    """Validate an EventHook request body; the fields a hook is built from."""
    if not isinstance(body, dict):
        raise _invalid("body: The body must be a JSON object")
    causes = []
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        causes.append("name: The field cannot be left blank")
    events = _object(body.get("events"))
    items = events.get("items")
    if events.get("type") != "EVENT_TYPE":
        causes.append("events.type: The value must be EVENT_TYPE")
    if not isinstance(items, list) or not items:
        causes.append("events.items: At least one event type is required")
    else:
        causes += [
            f"events.items: {i} is not an event hook eligible event type"
            for i in items
            if i not in ELIGIBLE_EVENT_TYPES
        ]
    channel = _object(body.get("channel"))
    config = _object(channel.get("config"))
    if channel.get("type") != "HTTP" or channel.get("version") != "1.0.0":
        causes.append("channel: type must be HTTP and version 1.0.0")
    uri = config.get("uri")
    if not isinstance(uri, str) or not uri.lower().startswith("https://"):
        causes.append("channel.config.uri: The URI must be a valid HTTPS endpoint")
    auth = config.get("authScheme") if isinstance(config.get("authScheme"), dict) else None
    if auth is not None and (auth.get("type") != "HEADER" or not auth.get("key")):
        causes.append("channel.config.authScheme: type must be HEADER, with a key")
    headers = config.get("headers") or []
    if not isinstance(headers, list) or not all(
        isinstance(h, dict) and isinstance(h.get("key"), str) and isinstance(h.get("value"), str)
        for h in headers
    ):
        causes.append("channel.config.headers: Each header needs a key and a value")
    if causes:
        raise _invalid(*causes)
    # No cause: both were checked above.
    assert isinstance(name, str)
    assert isinstance(items, list)
    return {
        "name": name.strip(),
        "description": body.get("description"),
        "events": list(dict.fromkeys(items)),
        "uri": uri,
        "headers": [{"key": h["key"], "value": h["value"]} for h in headers],
        "auth_key": auth.get("key") if auth else None,
        "secret": auth.get("value") if auth else None,
    }


class EventHookService:
    """Registered hooks, their verification, and a dispatcher thread that delivers events.

    :param ssl_context: trusts the receivers' certificates (the sandbox CA in tests).
    :param record_failure: called with (hook, error) when both attempts of a delivery failed, so
        the org logs ``event_hook.delivery`` as Okta does.
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        record_failure: Callable[[EventHook, str], None] | None = None,
    ) -> None:
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.record_failure = record_failure
        self.hooks: dict[str, EventHook] = {}
        self.counters: Counter[str] = Counter()
        self.source_base = ""
        self._faults: list[list[Any]] = []  # [kind, remaining]
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self._thread: threading.Thread | None = None

    # Management API ---------------------------------------------------------------------------------
    def create(self, body: Any) -> EventHook:
        fields = _parse(body)
        with self._lock:
            if sum(h.status == "ACTIVE" for h in self.hooks.values()) >= MAX_ACTIVE_HOOKS:
                raise _invalid(f"eventHook: At most {MAX_ACTIVE_HOOKS} active event hooks per org")
            now = datetime.now(UTC)
            hook = EventHook(id="who" + secrets.token_hex(8), created=now, last_updated=now, **fields)
            self.hooks[hook.id] = hook
            return hook

    def get(self, hook_id: str) -> EventHook:
        hook = self.hooks.get(hook_id)
        if hook is None:
            raise HookError(404, "E0000007", f"Not found: Resource not found: {hook_id} (EventHook)")
        return hook

    def replace(self, hook_id: str, body: Any) -> EventHook:
        fields = _parse(body)
        with self._lock:
            hook = self.get(hook_id)
            channel = (hook.uri, hook.headers, hook.auth_key, hook.secret)
            if fields["secret"] is None and fields["auth_key"] == hook.auth_key:
                fields["secret"] = hook.secret  # write-only: omitted means unchanged
            for key, value in fields.items():
                setattr(hook, key, value)
            if (hook.uri, hook.headers, hook.auth_key, hook.secret) != channel:
                hook.verification_status = "UNVERIFIED"
            hook.last_updated = datetime.now(UTC)
            return hook

    def delete(self, hook_id: str) -> None:
        with self._lock:
            if self.get(hook_id).status != "INACTIVE":
                raise _invalid("status: Only INACTIVE event hooks can be deleted")
            del self.hooks[hook_id]

    def lifecycle(self, hook_id: str, action: str) -> EventHook:
        hook = self.get(hook_id)
        if action == "verify":
            self.verify(hook)
        elif action in ("activate", "deactivate"):
            hook.status = "ACTIVE" if action == "activate" else "INACTIVE"
            hook.last_updated = datetime.now(UTC)
        else:
            raise HookError(404, "E0000007", f"Not found: Resource not found: {action} (Lifecycle)")
        return hook

    def verify(self, hook: EventHook) -> None:
        """The one-time verification request; two attempts, then ``400``."""
        challenge = secrets.token_urlsafe(24)
        headers = {**hook.request_headers(), "x-okta-verification-challenge": challenge}
        headers.pop("Content-Type", None)
        problem = ""
        for _ in range(2):
            try:
                status, body = self._send("GET", hook.uri, headers, None)
            except OSError as err:
                problem = f"the request failed ({type(err).__name__})"
                continue
            if status == 200 and isinstance(body, dict) and body.get("verification") == challenge:
                hook.verification_status = "VERIFIED"
                hook.last_updated = datetime.now(UTC)
                self.counters["verifications"] += 1
                return
            problem = f"the endpoint answered {status} without the verification value"
        raise _invalid(f"verification: Unable to verify the event hook: {problem}")

    # Delivery -----------------------------------------------------------------------------------------
    def inject(self, kind: str, times: int = 1) -> None:
        """The next ``times`` deliveries are ``drop``ped (lost) or sent twice (``duplicate``)."""
        if kind not in ("drop", "duplicate"):
            raise ValueError(f"kind: Unknown delivery fault {kind!r}; use drop or duplicate")
        with self._lock:
            self._faults.append([kind, int(times)])

    def publish(self, event: dict[str, Any]) -> None:
        """Queue ``event`` for every active, verified hook subscribed to its type (never blocks)."""
        for hook in list(self.hooks.values()):
            active = hook.status == "ACTIVE" and hook.verification_status == "VERIFIED"
            if active and event.get("eventType") in hook.events:
                self._ensure_thread()
                self._queue.put((hook.id, event))

    def idle(self) -> bool:
        """Whether every queued event was delivered (or given up on)."""
        return self._queue.unfinished_tasks == 0

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="okta-event-hooks", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            hook_id, first = self._queue.get()
            batch = [first]
            taken = 1
            while len(batch) < MAX_EVENTS_PER_DELIVERY:
                try:
                    other_id, event = self._queue.get_nowait()
                except queue.Empty:
                    break
                taken += 1
                if other_id == hook_id:
                    batch.append(event)
                else:
                    self._queue.put((other_id, event))
                    taken -= 1
                    self._queue.task_done()
                    break
            try:
                hook = self.hooks.get(hook_id)
                if hook is not None:
                    self._deliver(hook, batch)
            finally:
                for _ in range(taken):
                    self._queue.task_done()

    def _take_fault(self) -> str | None:
        with self._lock:
            for fault in self._faults:
                if fault[1] > 0:
                    fault[1] -= 1
                    return fault[0]
        return None

    def _deliver(self, hook: EventHook, events: list[dict[str, Any]]) -> None:
        body = {
            "eventType": "com.okta.event_hook",
            "eventTypeVersion": "1.0",
            "cloudEventsVersion": "0.1",
            "source": f"{self.source_base}/api/v1/eventHooks/{hook.id}",
            "eventId": str(uuid.uuid4()),
            "eventTime": format_time(datetime.now(UTC)),
            "contentType": "application/json",
            "data": {"events": events},
        }
        fault = self._take_fault()
        if fault == "drop":
            self.counters["dropped"] += 1
            return
        attempts = 2 if fault == "duplicate" else 1
        problem = ""
        for attempt in range(2):
            try:
                status, _ = self._send("POST", hook.uri, hook.request_headers(), body)
            except OSError as err:
                status, problem = 0, f"{type(err).__name__}"
            if 200 <= status < 300:
                self.counters["delivered"] += 1
                attempts -= 1
                if attempts <= 0:
                    return
                continue
            problem = problem or f"HTTP {status}"
            if attempt == 0:
                self.counters["retries"] += 1
        self.counters["failed"] += 1
        if self.record_failure:
            self.record_failure(hook, problem)

    def _send(self, method: str, uri: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        """One HTTPS request with Okta's 3 s timeout; (status, parsed JSON body or None)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(uri, data=data, headers=headers, method=method)  # noqa: S310 - https only
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT, context=self.ssl_context) as response:  # noqa: S310
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        finally:
            self.counters["requests"] += 1
            self.counters["request_ms"] += int((time.monotonic() - started) * 1000)
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, None
