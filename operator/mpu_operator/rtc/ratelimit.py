"""A process-wide token bucket for RTC calls, with three priorities and two ways to wait.

The service allows about 10 requests/s per account; going over it earns ``Throttling``
errors that delay everything. One bucket per process keeps the operator under that limit
however many MPUTasks it reconciles. Priorities keep it responsive under load: a user's
change to a task that already runs (a live edit, a stop) is ``EDIT`` and goes first, even
while a thousand new tasks start; starts and the polls that confirm a change are
``URGENT``; routine status polls are ``ROUTINE`` and never delay the one ``kubectl apply``.

Callers on the operator's asyncio loop wait with :meth:`RateLimiter.acquire`, which holds
no thread while waiting; threads wait with :meth:`RateLimiter.acquire_blocking`. Both
queue on the same bucket, served strictly by priority, then first come first served.

How waiting works, without a background thread: tokens are granted by whichever caller
touches the bucket (``_dispatch``), in queue order. Only the waiter at the head of the
queue keeps a timer, set to when the next token is due; everyone else sleeps until
notified. Whenever the head changes (granted, gave up, rate changed) the new head is
notified so that it starts its own timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

EDIT = -1
URGENT = 0
ROUTINE = 1
PRIORITIES = (EDIT, URGENT, ROUTINE)  # highest first

_EPS = 1e-9  # float slack when comparing token counts
_TIMER_SLACK = 1e-4  # seconds added to a head's timer so it wakes after, not before, the token


@dataclass(frozen=True)
class LimiterStats:
    """A snapshot for metrics and tests: what was granted and who is waiting now."""

    rate: float
    burst: int
    granted: int
    granted_urgent: int
    granted_routine: int
    waiting_urgent: int
    waiting_routine: int
    granted_edit: int = 0
    waiting_edit: int = 0


class _Waiter:
    """One queued caller. ``granted`` is only written under the limiter's lock."""

    def __init__(self, priority: int) -> None:
        self.priority = priority
        self.granted = False

    def notify(self) -> None:
        """Wake the caller so it looks at the bucket again (called under the lock)."""
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError


class _ThreadWaiter(_Waiter):
    def __init__(self, priority: int) -> None:
        super().__init__(priority)
        self.event = threading.Event()

    def notify(self) -> None:
        self.event.set()

    def reset(self) -> None:
        self.event.clear()


class _AsyncWaiter(_Waiter):
    def __init__(self, priority: int) -> None:
        super().__init__(priority)
        self.loop = asyncio.get_running_loop()
        self.event = asyncio.Event()

    def notify(self) -> None:
        # May run on any thread; asyncio.Event is not thread-safe, so hop onto its loop.
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to wake
            self.loop.call_soon_threadsafe(self.event.set)

    def reset(self) -> None:
        self.event.clear()

    async def sleep(self, delay: float) -> None:
        """Until notified or ``delay`` passed. Not ``asyncio.wait_for``: on Python 3.11 it
        can swallow a cancellation that coincides with the wake-up, and a waiter that
        ignores its cancellation waits on forever."""
        timer = None if math.isinf(delay) else self.loop.call_later(delay, self.event.set)
        try:
            await self.event.wait()
        finally:
            if timer is not None:
                timer.cancel()


#: ``on_wait(priority, seconds)``: told how long each granted acquire waited (real time).
WaitObserver = Callable[[int, float], None]


class RateLimiter:
    """Token bucket: ``rate`` tokens per second, at most ``burst`` saved up (default 1).

    The default burst of 1 spreads calls evenly: the service counts per second, and a
    saved-up burst on top of the steady rate would overshoot it. ``clock`` (seconds,
    monotonic) is injectable for tests; waits themselves are real, so after moving a fake
    clock call :meth:`wake`. ``on_wait`` (for metrics) hears of every token granted by
    :meth:`acquire` or :meth:`acquire_blocking` and how long it took, zero included.
    Thread-safe; one instance is meant to be shared by a process.
    """

    def __init__(
        self,
        rate: float = 10.0,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_wait: WaitObserver | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._on_wait = on_wait
        self._rate, self._burst = _checked(rate, burst)
        self._tokens = float(self._burst)
        self._stamp = clock()
        self._queues: dict[int, deque[_Waiter]] = {p: deque() for p in PRIORITIES}
        self._granted = dict.fromkeys(PRIORITIES, 0)

    # ---------------------------------------------------------------- public interface

    async def acquire(self, priority: int = ROUTINE) -> None:
        """Wait on the event loop (no thread held) until a token is granted.

        Cancelling the wait is safe: a token granted in the meantime goes back to the bucket.
        """
        _check_priority(priority)
        started = time.monotonic()
        waiter = _AsyncWaiter(priority)
        if self._enter(waiter):
            self._waited(priority, started)
            return
        try:
            while True:
                waiter.reset()
                delay = self._poll(waiter)
                if delay is None:
                    self._waited(priority, started)
                    return
                await waiter.sleep(delay)
        except BaseException:
            if self._leave(waiter):
                self._refund(priority)
            raise

    def acquire_blocking(self, priority: int = ROUTINE, timeout: float | None = None) -> bool:
        """Block this thread until a token is granted; False if ``timeout`` (real seconds)
        ran out first. Never call it on an event loop's thread: use :meth:`acquire`."""
        _check_priority(priority)
        started = time.monotonic()
        waiter = _ThreadWaiter(priority)
        if self._enter(waiter):
            self._waited(priority, started)
            return True
        deadline = None if timeout is None else started + timeout
        try:
            while True:
                waiter.reset()
                delay = self._poll(waiter)
                if delay is None:
                    self._waited(priority, started)
                    return True
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        granted = self._leave(waiter)
                        if granted:
                            self._waited(priority, started)
                        return granted
                    delay = min(delay, remaining)
                waiter.event.wait(None if math.isinf(delay) else delay)
        except BaseException:
            if self._leave(waiter):
                self._refund(priority)
            raise

    def try_acquire(self, priority: int = ROUTINE) -> bool:
        """Take a token now if one is free and nobody of equal or higher priority waits."""
        _check_priority(priority)
        with self._lock:
            self._refill()
            if self._may_take(priority):
                self._take(priority)
                return True
            return False

    def set_rate(self, rate: float, burst: int | None = None) -> None:
        """Change the rate (and optionally the burst) at run time; waiters adapt at once."""
        with self._lock:
            self._refill()  # what accrued so far accrued at the old rate
            self._rate, self._burst = _checked(rate, burst if burst is not None else self._burst)
            self._tokens = min(self._tokens, float(self._burst))
            self._dispatch()
            self._notify_head()

    def wake(self) -> None:
        """Make the waiters look at the bucket again now (after moving a fake clock)."""
        with self._lock:
            self._dispatch()
            self._notify_head()

    def stats(self) -> LimiterStats:
        with self._lock:
            return LimiterStats(
                rate=self._rate,
                burst=self._burst,
                granted=sum(self._granted.values()),
                granted_urgent=self._granted[URGENT],
                granted_routine=self._granted[ROUTINE],
                waiting_urgent=len(self._queues[URGENT]),
                waiting_routine=len(self._queues[ROUTINE]),
                granted_edit=self._granted[EDIT],
                waiting_edit=len(self._queues[EDIT]),
            )

    @property
    def rate(self) -> float:
        return self._rate

    def _waited(self, priority: int, started: float) -> None:
        """Tell ``on_wait`` (outside the lock); its failure never costs the caller a token."""
        if self._on_wait is None:
            return
        with contextlib.suppress(Exception):
            self._on_wait(priority, time.monotonic() - started)

    # ----------------------------------------------------------- everything under the lock

    def _enter(self, waiter: _Waiter) -> bool:
        """Take a token at once if allowed (True), else queue ``waiter`` (False)."""
        with self._lock:
            self._refill()
            if self._may_take(waiter.priority):
                self._take(waiter.priority)
                return True
            self._queues[waiter.priority].append(waiter)
            return False

    def _poll(self, waiter: _Waiter) -> float | None:
        """None once granted; else how long to sleep (inf unless ``waiter`` is the head)."""
        with self._lock:
            if not waiter.granted:
                self._dispatch()
            if waiter.granted:
                return None
            if self._head() is not waiter:
                return math.inf
            return max(0.0, (1.0 - self._tokens) / self._rate) + _TIMER_SLACK

    def _leave(self, waiter: _Waiter) -> bool:
        """Stop waiting. True when the token was granted meanwhile (the caller holds it)."""
        with self._lock:
            if waiter.granted:
                return True
            self._queues[waiter.priority].remove(waiter)
            self._notify_head()  # it may have been the head, the one keeping the timer
            return False

    def _refund(self, priority: int) -> None:
        with self._lock:
            self._granted[priority] -= 1
            self._tokens = min(float(self._burst), self._tokens + 1.0)
            self._dispatch()
            self._notify_head()

    def _dispatch(self) -> None:
        """Grant every token available to the queue's head, in priority then FIFO order."""
        self._refill()
        granted_any = False
        while self._tokens >= 1.0 - _EPS and (head := self._head()) is not None:
            self._queues[head.priority].popleft()
            self._take(head.priority)
            head.granted = True
            head.notify()
            granted_any = True
        if granted_any:
            self._notify_head()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._stamp)
        self._stamp = now
        self._tokens = min(float(self._burst), self._tokens + elapsed * self._rate)

    def _may_take(self, priority: int) -> bool:
        ahead = any(self._queues[p] for p in PRIORITIES if p <= priority)
        return not ahead and self._tokens >= 1.0 - _EPS

    def _take(self, priority: int) -> None:
        self._tokens -= 1.0
        self._granted[priority] += 1

    def _head(self) -> _Waiter | None:
        for priority in PRIORITIES:
            if self._queues[priority]:
                return self._queues[priority][0]
        return None

    def _notify_head(self) -> None:
        head = self._head()
        if head is not None:
            head.notify()


def _check_priority(priority: int) -> None:
    if priority not in PRIORITIES:
        raise ValueError(f"priority must be EDIT ({EDIT}), URGENT ({URGENT}) or ROUTINE "
                         f"({ROUTINE})")


def _checked(rate: float, burst: int | None) -> tuple[float, int]:
    if not (rate > 0 and math.isfinite(rate)):
        raise ValueError("rate must be a positive number of calls per second")
    burst = 1 if burst is None else burst
    if burst < 1:
        raise ValueError("burst must be at least 1")
    return float(rate), int(burst)
