"""The Okta Event Hook endpoint, served by Airflow's API server (see :mod:`okta_salesforce.plugin`).

Only the API server imports this module (FastAPI route annotations must resolve at module level).

``GET  {prefix}/event-hooks/okta`` answers Okta's one-time verification: the value of the
``x-okta-verification-challenge`` header comes back as ``{"verification": value}``.

``POST {prefix}/event-hooks/okta`` takes a delivery. It is authenticated by the shared secret
Okta sends in the configured header (compared in constant time; the secret is the password of
the ``okta_event_hook`` connection, header name in its extra ``header``, default
``Authorization``). The events the sync acts on that neither push nor the System Log poller
handled before become one Asset event on ``okta_salesforce_assignment_events``, in the same
database transaction that records their uuids: the events Dag is queued at once. The answer
(``204``) comes as soon as that transaction commits, well inside Okta's 3 s timeout.

A wrong or missing secret gets ``401`` and changes nothing; a body that is not a delivery gets
``400`` naming the field; a receiver that cannot record the events (no connection, no Asset
yet, database down) answers ``503`` so that Okta retries once, and the poller catches the rest.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from okta_salesforce.event_hook.delivery import (
    DeliveryError,
    delivery_payloads,
    parse_delivery,
    relevant_events,
)
from okta_salesforce.event_hook.ledger import (
    DELIVERED_KEY,
    FIRED_KEY,
    HEALTH_KEY,
    PushHealth,
    UuidLedger,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from okta_salesforce.hooks.okta_records import LogEvent

log = logging.getLogger(__name__)

#: Path of the endpoint under the plugin's URL prefix.
HOOK_PATH = "/event-hooks/okta"
#: Connection holding the shared secret (password) and the header name (extra ``header``).
DEFAULT_CONN_ID = "okta_event_hook"
#: The Asset the events Dag schedules on (the one the System Log trigger watches).
DEFAULT_ASSET = "okta_salesforce_assignment_events"
CHALLENGE_HEADER = "x-okta-verification-challenge"
#: Largest delivery accepted (Okta batches at most a few dozen events of a few KB each).
MAX_BODY_BYTES = 1 << 20


class NotConfiguredError(RuntimeError):
    """The receiver cannot work yet: no connection, no secret, no Asset, no app id."""


@dataclass(frozen=True)
class HookSettings:
    """Where a delivery is checked and recorded, read from the connection on every request.

    :param header: the header carrying the shared secret.
    :param secret: the shared secret (never logged).
    :param app_id: the Okta app whose assignment events count.
    :param asset: the Asset name that schedules the events Dag.
    """

    header: str
    secret: str
    app_id: str
    asset: str = DEFAULT_ASSET

    def __repr__(self) -> str:
        return (
            f"HookSettings(header={self.header!r}, secret=***, app_id={self.app_id!r}, asset={self.asset!r})"
        )

    def authentic(self, headers: Any) -> bool:
        """Whether ``headers`` carry the secret; constant time (both sides hashed to equal length)."""
        sent = headers.get(self.header)
        if not sent:
            return False
        digest = hashlib.sha256
        return hmac.compare_digest(digest(sent.encode()).digest(), digest(self.secret.encode()).digest())


def load_settings(conn_id: str = DEFAULT_CONN_ID) -> HookSettings:
    """Read the hook's connection (the API server's secrets backends); raise NotConfiguredError."""
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception as err:  # noqa: BLE001 - not found, or any secrets backend failure: answer 503
        raise NotConfiguredError(f"connection {conn_id!r} is not available ({type(err).__name__})") from None
    if not conn.password:
        raise NotConfiguredError(f"connection {conn_id!r} has no password (the shared secret)")
    extra = conn.extra_dejson
    app_id = extra.get("app_id")
    if not app_id:
        from okta_salesforce.sync.config import load_config

        try:
            app_id = load_config().okta_app_id
        except Exception as err:  # noqa: BLE001 - a missing or broken config file: answer 503
            raise NotConfiguredError(f"no okta.app_id in the sync config ({err})") from None
    return HookSettings(
        header=str(extra.get("header") or "Authorization"),
        secret=conn.password,
        app_id=str(app_id),
        asset=str(extra.get("asset") or DEFAULT_ASSET),
    )


@dataclass
class Outcome:
    """What one delivery did: new events queued, duplicates dropped, Asset events created."""

    new: int = 0
    duplicates: int = 0
    asset_events: int = 0


class AssetEventRecorder:
    """Records deliveries in the metadata database (the API server's own session, no extra hop).

    One transaction per delivery: lock the Asset row, drop uuids already delivered or fired by
    the poller, create the Asset event(s) the way ``POST /api/v2/assets/events`` does
    (``AssetManager.register_asset_change``), and update the ledger and health in the Asset's
    state store. Concurrent deliveries are serialised by the row lock (and a process lock for
    SQLite, which has no row locks), so a delivery and its retry never both start a run.
    """

    _lock = threading.Lock()

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock

    def record(self, settings: HookSettings, events: Sequence[LogEvent]) -> Outcome:
        from airflow.utils.session import create_session

        with self._lock, create_session() as session:
            asset, store = self._open(session, settings.asset)
            now = self.clock()
            delivered = UuidLedger.from_dict(store.get(DELIVERED_KEY))
            fired = UuidLedger.from_dict(store.get(FIRED_KEY))
            seen = {e.uuid for e in events if e.uuid in delivered or e.uuid in fired}
            fresh = list({e.uuid: e for e in events if e.uuid not in seen}.values())
            outcome = Outcome(new=len(fresh), duplicates=len(events) - len(fresh))
            if fresh:
                from airflow.assets.manager import asset_manager

                for payload in delivery_payloads(fresh, settings.app_id):
                    event = asset_manager.register_asset_change(
                        asset=asset,
                        extra={"from_event_hook": True, "payload": payload},
                        source_is_api=True,
                        session=session,
                    )
                    if event is None:
                        raise NotConfiguredError(f"Asset {settings.asset!r} is not registered")
                    outcome.asset_events += 1
                delivered.add((e.uuid for e in fresh), now)
                store.set(DELIVERED_KEY, delivered.to_dict())
            health = PushHealth.from_dict(store.get(HEALTH_KEY)) or PushHealth()
            health.last_delivery, health.deliveries = now, health.deliveries + 1
            store.set(HEALTH_KEY, health.to_dict())
        return outcome

    def mark_verified(self, settings: HookSettings) -> None:
        """Note a verification (push is being set up): the poller may slow down from now on."""
        from airflow.utils.session import create_session

        with self._lock, create_session() as session:
            _, store = self._open(session, settings.asset)
            health = PushHealth.from_dict(store.get(HEALTH_KEY)) or PushHealth()
            health.verified = self.clock()
            store.set(HEALTH_KEY, health.to_dict())

    @staticmethod
    def _open(session: Session, name: str) -> tuple[Any, _StateStore]:
        from airflow.models.asset import AssetModel
        from sqlalchemy import select

        asset = session.scalar(
            select(AssetModel).where(AssetModel.name == name, AssetModel.active.has()).with_for_update()
        )
        if asset is None:
            raise NotConfiguredError(f"Asset {name!r} does not exist yet (is the events Dag deployed?)")
        return asset, _StateStore(session, asset.id)


class _StateStore:
    """JSON values in one Asset's state store, through Airflow's configured state backend."""

    def __init__(self, session: Session, asset_id: int) -> None:
        from airflow.state import AssetScope, get_state_backend

        self.session = session
        self.scope = AssetScope(asset_id=asset_id)
        self.backend = get_state_backend()

    def get(self, key: str) -> Any:
        raw = self.backend.get(self.scope, key, session=self.session)
        return json.loads(raw) if raw else None

    def set(self, key: str, value: Any) -> None:
        self.backend.set(self.scope, key, json.dumps(value), session=self.session)


def create_app(
    *,
    settings: Callable[[], HookSettings] = load_settings,
    recorder: AssetEventRecorder | None = None,
) -> FastAPI:
    """The FastAPI app with the verification and delivery routes.

    :param settings: reads the secret, header, app id and Asset (on every request, so a rotated
        secret takes effect at once).
    :param recorder: records deliveries (the metadata database by default).
    """
    store = recorder or AssetEventRecorder()
    app = FastAPI(
        title="okta-salesforce: Okta Event Hook receiver",
        description="Okta Event Hook deliveries become Asset events for the okta_salesforce_events Dag.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    def refuse(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    async def authenticated(request: Request) -> HookSettings | JSONResponse:
        try:
            current = await run_in_threadpool(settings)
        except NotConfiguredError as err:
            log.error("Okta Event Hook receiver is not configured: %s", err)
            return refuse(503, "the receiver is not configured")
        if not current.authentic(request.headers):
            log.warning("Okta Event Hook request without the expected secret in %s: refused", current.header)
            return refuse(401, "missing or wrong secret")
        return current

    @app.get(HOOK_PATH)
    async def verify(request: Request) -> Response:
        """Okta's one-time verification: echo the challenge header as ``{"verification": ...}``."""
        current = await authenticated(request)
        if isinstance(current, JSONResponse):
            return current
        challenge = request.headers.get(CHALLENGE_HEADER)
        if not challenge:
            return refuse(400, f"{CHALLENGE_HEADER}: header missing")
        try:
            await run_in_threadpool(store.mark_verified, current)
        except Exception:  # the handshake itself must not fail on bookkeeping
            log.warning("Could not record the Okta Event Hook verification", exc_info=True)
        log.info("Answered the Okta Event Hook verification")
        return JSONResponse({"verification": challenge})

    @app.post(HOOK_PATH)
    async def deliver(request: Request) -> Response:
        """One delivery: authenticate, keep the relevant new events, queue the events Dag."""
        current = await authenticated(request)
        if isinstance(current, JSONResponse):
            return current
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return refuse(413, f"body: larger than {MAX_BODY_BYTES} bytes")
        try:
            delivery = parse_delivery(json.loads(body or b"null"))
        except (ValueError, DeliveryError) as err:
            message = str(err) if isinstance(err, DeliveryError) else "body: not valid JSON"
            log.warning("Okta Event Hook delivery refused: %s", message)
            return refuse(400, message)
        events = relevant_events(delivery.events, current.app_id)
        try:
            outcome = await run_in_threadpool(store.record, current, events)
        except NotConfiguredError as err:
            log.error("Okta Event Hook delivery %s not recorded: %s", delivery.event_id, err)
            return refuse(503, "the receiver is not configured")
        except Exception:
            log.exception("Okta Event Hook delivery %s not recorded", delivery.event_id)
            return refuse(503, "could not record the delivery")
        log.info(
            "Okta Event Hook delivery %s: %d events, %d relevant, %d new, %d duplicates, %d Asset events",
            delivery.event_id,
            len(delivery.events),
            len(events),
            outcome.new,
            outcome.duplicates,
            outcome.asset_events,
        )
        return Response(status_code=204)

    return app
