"""One object's status, written behind its steps.

A step that ends in a Wait only reports; it must not wait for its write. With a thousand
MPUTasks created at once, a thousand write-aheads queue for the API server, and a step
that waited behind them for its own report held its object's lock for seconds: a user's
edit to that object waited too (``make bench`` at N=1000: an edit took 7 s to reach the
service during the start-up, 0.1 s after it). So reports are written behind: the latest
status wins (each is whole, so a newer one supersedes an unwritten older one), one write
is in flight at a time, in order, and a failed write is retried unless a newer status
came meanwhile.

What must be in the cluster before a call, the write-ahead of a Start, is written with
:meth:`StatusWriter.write_now`: after the write in flight, never overtaken by an older
one, and its error is the caller's. A process killed with reports unwritten leaves an
older status, which the record's recovery already reads as a call whose outcome is
unknown (it polls before it acts).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from mpu_operator import logsafety

logger = logging.getLogger(__name__)

Status = dict[str, Any]
#: Seconds before the first retry of a failed write; doubled per failure, up to the max.
RETRY_SECONDS = 1.0
RETRY_MAX_SECONDS = 30.0


class StatusWriter:
    """Not thread-safe: used from the event loop, by the steps of one object (which hold
    its lock) and by its own write task."""

    def __init__(self, patch: Callable[[Status], Awaitable[None]],
                 on_error: Callable[[], None] | None = None) -> None:
        self._patch = patch
        self._on_error = on_error
        self._pending: Status | None = None
        self._task: asyncio.Task[None] | None = None
        self._said = 0  # bumped by every status given: a retry of an older one is void
        self._failures = 0
        self._retry: asyncio.TimerHandle | None = None

    @property
    def settled(self) -> bool:
        """Everything given so far is written: nothing pending, in flight or to retry."""
        return self._pending is None and not self._writing() and self._retry is None

    def submit(self, status: Status) -> None:
        """Write ``status`` soon, in place of any unwritten older one; return at once."""
        self._said += 1
        self._pending = status
        self._cancel_retry()
        self._kick()

    async def write_now(self, status: Status) -> None:
        """Write ``status`` and return once it is written; raises what the write raised.
        Any unwritten older status is dropped (this one is newer and whole)."""
        self._said += 1
        self._pending = None
        self._cancel_retry()
        while self._task is not None and not self._task.done():
            await asyncio.wait([self._task])  # the write in flight lands first: order kept
        await self._patch(status)
        self._failures = 0

    def _writing(self) -> bool:
        return self._task is not None and not self._task.done()

    def _kick(self) -> None:
        if self._pending is not None and not self._writing():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while self._pending is not None:
            status, said = self._pending, self._said
            self._pending = None
            try:
                await self._patch(status)
            except Exception as exc:  # retried, never lost silently
                self._failed(status, said, exc)  # a newer one, if any, goes next
                continue
            self._failures = 0

    def _failed(self, status: Status, said: int, exc: Exception) -> None:
        self._failures += 1
        delay = min(RETRY_MAX_SECONDS, RETRY_SECONDS * 2 ** (self._failures - 1))
        logger.warning("status write failed (%s: %s); retrying in %.0f s unless a newer "
                       "status comes first", type(exc).__name__,
                       logsafety.scrub(str(exc)), delay)
        if self._on_error is not None:
            self._on_error()
        if self._said != said:  # a newer status came meanwhile: it is the one to write
            return

        def retry() -> None:
            self._retry = None
            if self._said == said and self._pending is None:
                self._pending = status
                self._kick()

        self._retry = asyncio.get_running_loop().call_later(delay, retry)

    def _cancel_retry(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
