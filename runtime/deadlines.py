"""Integration timeouts without a timer per request.

Layer: runtime (stdlib). A per-request ``loop.call_at`` timer (what
``aiohttp.ClientTimeout`` and ``asyncio.timeout`` create) is a measurable part of a
proxied request's CPU cost. Instead, each app runs one sweeper task that wakes every
``resolution`` seconds while requests are in flight and cancels the tasks whose
deadline has passed; a request only registers and unregisters itself (two dict
operations). Timeouts fire up to ``resolution`` late, which is fine for integration
timeouts of 50 ms and more.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

__all__ = ["Deadlines"]


class Deadlines:
    """Tracks ``(task, deadline)`` pairs and cancels overdue tasks.

    Usage inside a request (see ``proxy.HttpProxy.invoke``)::

        task = deadlines.start(loop.time() + 5.0)
        try:
            ...  # awaits
        except asyncio.CancelledError:
            if deadlines.expired(task):
                ...  # our timeout: answer 504
            raise
        finally:
            deadlines.finish(task)
    """

    __slots__ = ("_due", "_expired", "_resolution", "_sweeper", "_wake")

    def __init__(self, *, resolution: float = 0.025) -> None:
        self._due: dict[asyncio.Task[object], float] = {}
        self._expired: set[asyncio.Task[object]] = set()
        self._resolution = resolution
        self._sweeper: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None

    async def context(self, app: web.Application) -> AsyncIterator[None]:
        """An ``app.cleanup_ctx`` entry: runs the sweeper while the app runs."""
        self._wake = asyncio.Event()
        self._sweeper = asyncio.create_task(self._sweep())
        try:
            yield
        finally:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None

    def start(self, deadline: float) -> asyncio.Task[object]:
        """Register the current task; returns it for :meth:`expired` and :meth:`finish`."""
        task: asyncio.Task[object] = asyncio.current_task()  # type: ignore[assignment]  # always inside a request task
        self._due[task] = deadline
        wake = self._wake
        if wake is not None and not wake.is_set():
            wake.set()
        return task

    def expired(self, task: asyncio.Task[object]) -> bool:
        """True when this object cancelled ``task``; also consumes that cancellation."""
        if task in self._expired:
            self._expired.discard(task)
            task.uncancel()
            return True
        return False

    def finish(self, task: asyncio.Task[object]) -> None:
        self._due.pop(task, None)
        self._expired.discard(task)

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        wake = self._wake
        if wake is None:  # context() sets it before starting the sweeper
            return
        while True:
            if not self._due:
                wake.clear()
                await wake.wait()
            await asyncio.sleep(self._resolution)
            now = loop.time()
            overdue = [task for task, due in self._due.items() if due <= now]
            for task in overdue:
                del self._due[task]
                self._expired.add(task)
                task.cancel()
