"""The event loop behind :class:`~okta_salesforce.hooks.okta.OktaHook`'s synchronous methods.

Tasks call the hook's synchronous methods, which run the hook's coroutines on one event loop (the
transport's aiohttp session belongs to it). That loop runs in a daemon thread of its own for the
hook's life instead of only while a call waits: work a coroutine started goes on between two calls.
While a task turns one page of the snapshot into records and writes them, the request for the next
page (started by :meth:`~okta_salesforce.hooks.okta_transport.OktaTransport.apaginate`) is on the
wire and the server is answering it, instead of waiting for the task to ask.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Coroutine, Iterator
from contextlib import aclosing
from functools import cached_property
from typing import Any, Self, TypeVar

T = TypeVar("T")


class LoopThread:
    """One event loop served by a daemon thread; :meth:`run` waits for a coroutine on it.

    :param name: the thread's name.
    """

    def __init__(self, name: str = "okta-hook-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._closed = False
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for its result (its exception is raised here).

        An exception raised in the waiting thread (a task timeout, SIGTERM) cancels the coroutine.
        """
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("A coroutine on an Okta hook's loop cannot wait for that loop: await instead")
        if self._closed:
            coro.close()
            raise RuntimeError("This Okta hook's event loop is closed")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def abandon(self) -> None:
        """Stop the loop without waiting (an unclosed hook was garbage collected); safe from any thread."""
        if not self._closed and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.loop.stop)

    def close(self) -> None:
        """Cancel what is still running, finish async generators, stop the loop and its thread."""
        if self._closed:
            return
        try:
            self.run(_shutdown(self.loop))
        finally:
            self._closed = True
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join()
            self.loop.close()


async def _shutdown(loop: asyncio.AbstractEventLoop) -> None:
    """What ``asyncio.Runner.close`` does before closing its loop."""
    current = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks(loop) if t is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await loop.shutdown_asyncgens()
    await loop.shutdown_default_executor()


class SyncBridge:
    """The synchronous face of an async hook: its coroutines run on a :class:`LoopThread` made on first use.

    A subclass releases what the loop holds in :meth:`aclose`, may prepare in the calling thread
    in :meth:`_before_run` (e.g. read its Airflow connection there), and forgets per-loop state in
    :meth:`_after_close`.
    """

    def _before_run(self) -> None:
        """Work for the calling thread before a coroutine runs on the loop."""

    async def aclose(self) -> None:
        """Release what lives on the loop (HTTP sessions)."""

    def _after_close(self) -> None:
        """Forget what belonged to the closed loop."""

    @cached_property
    def _loop_thread(self) -> LoopThread:
        thread = LoopThread()
        weakref.finalize(self, thread.abandon)  # a hook dropped unclosed does not keep its thread
        return thread

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run one of this hook's coroutines to completion on the hook's own event loop (tasks only)."""
        try:
            self._before_run()
        except BaseException:
            coro.close()
            raise
        return self._loop_thread.run(coro)

    def _iterate(self, pages: AsyncIterator[list[T]]) -> Iterator[T]:
        """Items of an async generator of pages, waiting on the hook's loop once per page."""
        try:
            while True:
                try:
                    page = self.run(_anext(pages))
                except StopAsyncIteration:
                    return
                yield from page
        finally:
            aclose = getattr(pages, "aclose", None)
            if aclose is not None and "_loop_thread" in self.__dict__:
                self.run(aclose())

    def close(self) -> None:
        """Run :meth:`aclose` on the hook's event loop, then close the loop and its thread."""
        if "_loop_thread" not in self.__dict__:
            return
        loop_thread = self.__dict__.pop("_loop_thread")
        try:
            loop_thread.run(self.aclose())
        finally:
            loop_thread.close()
            self._after_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _anext(pages: AsyncIterator[T]) -> T:
    return await anext(pages)


async def singletons(items: AsyncGenerator[T, None]) -> AsyncGenerator[list[T], None]:
    """Each item of ``items`` as a page of one (for :meth:`SyncBridge._iterate`)."""
    async with aclosing(items):  # a caller that stops early closes ``items`` too
        async for item in items:
            yield [item]
