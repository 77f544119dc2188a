"""OktaHook's coroutines over a fake request executor: pages, projection, rate limits, error paths."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDict

from okta_salesforce.hooks.okta import (
    OktaApiError,
    OktaAuthError,
    OktaHook,
    OktaNotFoundError,
    RateLimit,
)
from okta_salesforce.hooks.okta_transport import OktaTransport

TOKEN = "00canary-api-token-0123456789abcdefghijklmnop"
ORG = "https://acme.okta.com"


class FakeResponse:
    def __init__(self, status: int, headers: CIMultiDict[str]) -> None:
        self.status = status
        self.headers = headers


class FakeExecutor:
    """Stands in for the okta SDK's RequestExecutor: answers from ``routes`` (path+query → answers)."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.calls: list[str] = []
        self.threads: set[str] = set()
        self._oauth = None

    def set_session(self, session: object) -> None:
        pass

    async def create_request(
        self, method: str, url: str, headers: dict[str, str]
    ) -> tuple[dict[str, Any], None]:
        return {"method": method, "url": url, "headers": {"Authorization": f"SSWS {TOKEN}"}}, None

    async def fire_request_helper(self, request: dict[str, Any], attempts: int, started: float) -> Any:
        self.calls.append(request["url"].removeprefix(ORG))
        self.threads.add(threading.current_thread().name)
        return await self.answer(request["url"].removeprefix(ORG), len(self.calls))


def answer(status: int, body: Any, **headers: str) -> tuple[Any, FakeResponse, str, None]:
    multi: CIMultiDict[str] = CIMultiDict()
    for name, value in headers.items():
        for one in value.split("\n"):
            multi.add(name.replace("_", "-"), one)
    return None, FakeResponse(status, multi), json.dumps(body), None


def rate(remaining: int) -> dict[str, str]:
    return {
        "X_Rate_Limit_Limit": "100",
        "X_Rate_Limit_Remaining": str(remaining),
        "X_Rate_Limit_Reset": "1000",
    }


def app_user(i: int) -> dict[str, Any]:
    return {
        "id": f"00u{i}",
        "status": "ACTIVE",
        "scope": "USER",
        "credentials": {"userName": f"u{i}@acme.example.com"},
        "profile": {"department": None, "title": "App title"},
        "_embedded": {
            "user": {
                "id": f"00u{i}",
                "status": "ACTIVE",
                "profile": {
                    "login": f"u{i}@acme.example.com",
                    "department": "Sales",
                    "title": "User title",
                    "nickName": "not read",
                    "secondEmail": "not read",
                },
            }
        },
    }


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch) -> OktaHook:
    monkeypatch.setenv(
        "AIRFLOW_CONN_OKTA_DEFAULT", json.dumps({"conn_type": "okta", "host": ORG, "password": TOKEN})
    )
    return OktaHook(max_retries=2, backoff=0.001)


def use(monkeypatch: pytest.MonkeyPatch, executor: FakeExecutor) -> FakeExecutor:
    monkeypatch.setattr(OktaTransport, "executor", property(lambda self: executor))
    return executor


async def two_pages(path: str, n: int) -> Any:
    if "after=" not in path:
        link = f'<{ORG}/api/v1/apps/0oa1/users?after=2&limit=500>; rel="next"'
        return answer(200, [app_user(1), app_user(2)], Link=f'<{ORG}{path}>; rel="self"\n{link}', **rate(9))
    return answer(200, [app_user(3), {"no": "id"}], **rate(8))


def test_async_snapshot_pages_keep_the_projection_and_the_rate_limit(
    hook: OktaHook, monkeypatch: pytest.MonkeyPatch
) -> None:
    executor = use(monkeypatch, FakeExecutor(two_pages))

    async def read() -> list[Any]:
        async with hook:
            return [r async for r in hook.aiter_assignments("0oa1", attributes={"department", "title"})]

    records = asyncio.run(read())
    assert [r.okta_user_id for r in records] == ["00u1", "00u2", "00u3"]  # the object without an id skipped
    # Only the attributes asked for (and login); the app's null never hides the user's value.
    assert records[0].profile == {"department": "Sales", "title": "App title", "login": "u1@acme.example.com"}
    assert hook.rate_limit == RateLimit(limit=100, remaining=8, reset=1000.0)
    assert len(executor.calls) == 2
    assert executor.calls[0] == "/api/v1/apps/0oa1/users?limit=500&expand=user"


def test_sync_methods_run_the_same_coroutines(hook: OktaHook, monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, FakeExecutor(two_pages))
    with hook:
        records = list(hook.iter_assignments("0oa1"))
    assert [r.okta_user_id for r in records] == ["00u1", "00u2", "00u3"]
    assert records[0].profile["nickName"] == "not read"  # no projection: the whole profile


def test_rate_limit_is_none_before_any_answer(hook: OktaHook) -> None:
    assert hook.rate_limit is None


def test_401_is_a_clear_error_without_the_secret(hook: OktaHook, monkeypatch: pytest.MonkeyPatch) -> None:
    async def refused(path: str, n: int) -> Any:
        return answer(401, {"errorCode": "E0000011", "errorSummary": "Invalid token provided"})

    executor = use(monkeypatch, FakeExecutor(refused))
    with pytest.raises(OktaAuthError) as info, hook:
        hook.get("/api/v1/logs", {"limit": 1, "filter": TOKEN})
    message = str(info.value)
    assert info.value.status == 401
    assert info.value.error_code == "E0000011"
    assert "E0000011: Invalid token provided" in message
    assert "API token" in message
    assert TOKEN not in message
    assert "filter" not in message
    assert len(executor.calls) == 1  # not retried


def test_429_is_retried_then_a_clear_error(hook: OktaHook, monkeypatch: pytest.MonkeyPatch) -> None:
    async def limited(path: str, n: int) -> Any:
        headers = rate(0) | {"X_Rate_Limit_Reset": str(time.time())}
        return answer(
            429, {"errorCode": "E0000047", "errorSummary": "API call exceeded rate limit"}, **headers
        )

    executor = use(monkeypatch, FakeExecutor(limited))
    with pytest.raises(OktaApiError) as info, hook:
        hook.get("/api/v1/logs")
    assert info.value.status == 429
    assert "failed after 3 attempts" in str(info.value)
    assert "E0000047" in str(info.value)
    assert TOKEN not in str(info.value)
    assert len(executor.calls) == 3
    assert hook.rate_limit is None or hook.rate_limit.remaining == 0


def test_429_then_success_returns_the_page(hook: OktaHook, monkeypatch: pytest.MonkeyPatch) -> None:
    async def once_limited(path: str, n: int) -> Any:
        if n == 1:
            return answer(429, {"errorCode": "E0000047"}, X_Rate_Limit_Reset=str(time.time()))
        return answer(200, [], **rate(99))

    use(monkeypatch, FakeExecutor(once_limited))
    with hook:
        assert hook.get("/api/v1/logs").body == []
        assert hook.rate_limit == RateLimit(limit=100, remaining=99, reset=1000.0)


@pytest.mark.parametrize("failure", ["returned", "attribute"])
def test_network_failure_is_retried_then_a_clear_error(
    hook: OktaHook, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    async def down(path: str, n: int) -> Any:
        if failure == "attribute":  # how the SDK's lower layers surface some network failures
            raise AttributeError("'NoneType' object has no attribute 'status'")
        return None, None, None, aiohttp.ClientConnectionError("Connection refused")

    executor = use(monkeypatch, FakeExecutor(down))
    with pytest.raises(OktaApiError, match="connection failed") as info, hook:
        hook.get("/api/v1/users/someone")
    assert "failed after 3 attempts" in str(info.value)
    assert len(executor.calls) == 3


def test_404_of_a_user_is_none(hook: OktaHook, monkeypatch: pytest.MonkeyPatch) -> None:
    async def missing(path: str, n: int) -> Any:
        return answer(404, {"errorCode": "E0000007", "errorSummary": "Not found"})

    use(monkeypatch, FakeExecutor(missing))

    async def read() -> Any:
        async with hook:
            return await hook.afind_user("gone@acme.example.com"), await hook.afind_users(["a", "b", "a"])

    assert asyncio.run(read()) == (None, {"a": None, "b": None})
    with pytest.raises(OktaNotFoundError), hook:
        hook.get("/api/v1/apps/nope")


def test_coroutines_of_one_hook_stay_on_one_loop(hook: OktaHook, monkeypatch: pytest.MonkeyPatch) -> None:
    async def ok(path: str, n: int) -> Any:
        return answer(200, {})

    use(monkeypatch, FakeExecutor(ok))
    asyncio.run(hook.aget("/api/v1/logs"))  # the session of that loop is left open on purpose
    session = hook.transport._session
    assert session is not None
    with pytest.raises(RuntimeError, match="one event loop"):
        asyncio.run(hook.aget("/api/v1/logs"))
    asyncio.run(session.close())


def test_decoding_pauses_the_collector_and_restores_it() -> None:
    import gc

    from okta_salesforce.hooks.okta_response import decode_json

    assert decode_json('[{"a": 1}]') == [{"a": 1}]
    assert gc.isenabled()
    assert decode_json("<html>busy</html>") == "<html>busy</html>"  # not JSON: the text itself
    assert decode_json(b"") is None
    assert gc.isenabled()
    gc.disable()
    try:
        decode_json("{}")
        assert not gc.isenabled()  # a caller's own choice is left alone
    finally:
        gc.enable()


def test_pauses_are_counted_across_threads() -> None:
    """Pauses overlap across threads (a hook's loop thread, the task's): the collector resumes once."""
    import gc

    from okta_salesforce.hooks.okta_response import paused_gc

    with paused_gc():
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner pause ended, the outer one has not
    assert gc.isenabled()


async def three_pages(path: str, n: int) -> Any:
    after = path.split("after=")[1].split("&")[0] if "after=" in path else "0"
    if after == "2":
        return answer(200, [app_user(3)], **rate(7))
    following = str(int(after) + 1)
    link = f'<{ORG}/api/v1/apps/0oa1/users?after={following}&limit=500>; rel="next"'
    return answer(200, [app_user(int(after) + 1)], Link=link, **rate(9))


def test_the_next_page_is_requested_while_the_task_works_on_this_one(
    hook: OktaHook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cursor is in the Link header: page 2 is on its way before the caller is done with page 1."""
    executor = use(monkeypatch, FakeExecutor(three_pages))
    seen_while_busy = []
    with hook:
        for page in hook.paginate("/api/v1/apps/0oa1/users", {"limit": 500}):
            if not seen_while_busy:
                deadline = time.monotonic() + 10  # generous: not a timing assertion
                while len(executor.calls) < 2 and time.monotonic() < deadline:
                    time.sleep(0.001)  # the task's thread is busy; the hook's loop is not
                seen_while_busy.append(len(executor.calls))
            assert page.body
    assert seen_while_busy == [2]
    assert len(executor.calls) == 3  # no request past the last page
    assert executor.threads == {"okta-hook-loop"}


def test_stopping_early_cancels_the_request_ahead_and_close_ends_the_thread(
    hook: OktaHook, monkeypatch: pytest.MonkeyPatch, recwarn: pytest.WarningsRecorder
) -> None:
    slow = {"on": True}

    async def slow_after_the_first(path: str, n: int) -> Any:
        if slow["on"] and "after=" in path:  # every page but the first
            await asyncio.sleep(30)
        return await three_pages(path, n)

    use(monkeypatch, FakeExecutor(slow_after_the_first))

    async def running() -> int:
        for _ in range(3):
            await asyncio.sleep(0)
        return len([t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()])

    with hook:
        first = next(iter(hook.iter_assignments("0oa1")))
        assert first.okta_user_id == "00u1"
        assert hook.run(running()) == 0  # the page requested ahead was cancelled with the read
        page = next(iter(hook.paginate("/api/v1/apps/0oa1/users")))
        assert page.body
        assert hook.run(running()) == 0
        thread = hook._loop_thread._thread
    assert not thread.is_alive()  # the request ahead was cancelled, not waited for
    assert not [w for w in recwarn if "never" in str(w.message)]
    slow["on"] = False
    with hook:  # a closed hook opens a new loop when used again
        assert [r.okta_user_id for r in hook.iter_assignments("0oa1")][:1] == ["00u1"]


def test_a_coroutine_on_the_hooks_loop_cannot_wait_for_it(
    hook: OktaHook, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(monkeypatch, FakeExecutor(three_pages))

    async def nested() -> Any:
        return hook.get("/api/v1/logs")

    with hook, pytest.raises(RuntimeError, match="await instead"):
        hook.run(nested())


def test_snapshot_rows_are_the_records_lines(hook: OktaHook, monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, FakeExecutor(two_pages))
    with hook:
        records = list(hook.iter_assignments("0oa1", attributes={"department"}))
        rows = list(hook.iter_assignment_rows("0oa1", attributes={"department"}))
    assert rows == [r.to_dict() for r in records]
    assert [r["okta_user_id"] for r in rows] == ["00u1", "00u2", "00u3"]


def test_a_response_decodes_its_body_on_first_use() -> None:
    from okta_salesforce.hooks.okta_response import OktaResponse

    page = OktaResponse(
        url=f"{ORG}/x", status=200, headers={"link": ['<https://a/b?after=1>; rel="next"']}, text="[1]"
    )
    assert page.links == {"next": "https://a/b?after=1"}
    assert page.body == [1]
    assert page.body is page.body
    assert page.take_body() == [1]
    assert page.body is None  # let go of: a page's decoded value dies with its use
    assert OktaResponse(url="u", status=200, headers={}, text="").body is None
    assert OktaResponse(url="u", status=200, headers={}, body={"a": 1}).body == {"a": 1}
