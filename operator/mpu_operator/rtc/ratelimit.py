"""A process-wide limiter for RTC calls, with three priorities.

The service allows about 10 requests/s per account; going over it earns ``Throttling``
errors that delay everything. One limiter per process keeps the operator under that limit
however many MPUTasks it reconciles. Priorities keep it responsive under load: a user's
change to a task that already runs (a live edit, a stop) is ``EDIT`` and goes first, even
while a thousand new tasks start; starts are ``URGENT``; the polls that confirm a start or
a stop are ``CONFIRM``, after the queued starts (a start makes a broadcast happen, its
confirmation only shows it: with 1000 tasks created at once, all start in N/QPS seconds
and are confirmed in the next N/QPS); routine status polls are ``ROUTINE`` and never
delay the one ``kubectl apply``.

The guarantee is the one the service (and the emulator's ``peakCallsPerSecond``) counts:
**no window of one second holds more than ``calls_per_second`` calls**, where
``calls_per_second`` is ``floor(rate)`` (a service counts whole calls; below 1/s, one call
per ``1/rate`` seconds). Grants are spaced evenly, ``(1 + guard) / calls_per_second``
apart, so any ``calls_per_second + 1`` consecutive grants span ``1 + guard`` seconds: the
guard absorbs the time between a grant and the call's arrival at the service, which varies
from call to call (the event loop, the worker thread, the network). Without it, calls
granted exactly 0.1 s apart arrive 11 in some second whenever one is delayed a little more
than the tenth after it (``make bench`` saw a peak of 11 at 10/s). The price is the guard's
share of the throughput: 10 % by default, so 100 ms of such variation are absorbed (5 %
was not enough: on a busy two-core machine the emulator dated calls sent 84 ms apart
within 10 ms of each other, and counted 11 in some second).

The window counts calls when they are *sent*, not when they are granted: on a busy
machine a granted caller may run late, and several late callers would then send
together. So :meth:`RateLimiter.acquire` returns a :class:`Turn`; the caller says
:meth:`Turn.sent` as its request goes out (``AsyncRTCClient`` does, in the worker thread),
the log takes that time, and the next grant waits for it (at most ``HOLD`` seconds: a
caller cancelled before it sent never says so).

Callers wait with :meth:`RateLimiter.acquire` on the operator's event loop, holding no
thread. Tokens are granted by whichever caller touches the limiter (``_dispatch``), in
queue order (priority, then first come first served). Only the waiter at the head of the
queue keeps a timer, set to when the next grant is due; everyone else sleeps until
notified. Whenever the head changes (granted, gave up) the new head is notified so that it
starts its own timer.
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
CONFIRM = 1
ROUTINE = 2
PRIORITIES = (EDIT, URGENT, CONFIRM, ROUTINE)  # highest first

#: Default share of a second added to the window (see the module's docstring).
GUARD = 0.10
#: The least time between two grants, as a share of the even spacing (window / k).
SPREAD = 0.8
#: Seconds a grant not yet reported sent holds the next one back, at most.
HOLD = 1.0
_EPS = 1e-9  # float slack when comparing times
_TIMER_SLACK = 1e-4  # seconds added to a head's timer so it wakes after, not before, its turn


@dataclass(frozen=True)
class LimiterStats:
    """A snapshot for metrics and tests: what was granted and who is waiting now."""

    rate: float
    per_window: int  # at most this many grants ...
    window: float  # ... in any window of this many seconds (guard included)
    granted: int
    granted_urgent: int
    granted_routine: int
    waiting_urgent: int
    waiting_routine: int
    granted_edit: int = 0
    waiting_edit: int = 0
    granted_confirm: int = 0
    waiting_confirm: int = 0


def window_of(rate: float, guard: float = GUARD) -> tuple[int, float]:
    """``(k, seconds)``: at most k grants in any window of that many seconds. ``floor(rate)``
    per second (one per ``1/rate`` s below 1/s), the window stretched by ``guard``."""
    if not (rate > 0 and math.isfinite(rate)):
        raise ValueError("rate must be a positive number of calls per second")
    if not (0 <= guard < 1):
        raise ValueError("guard must be at least 0 and less than 1")
    if rate >= 1:
        return math.floor(rate), 1.0 + guard
    return 1, (1.0 + guard) / rate


class Turn:
    """A granted call: say :meth:`sent` when the request goes out (any thread)."""

    def __init__(self, limiter: RateLimiter, waiter: _Waiter) -> None:
        self._limiter, self._waiter = limiter, waiter

    def sent(self) -> None:
        self._limiter._sent(self._waiter)


class _Waiter:
    """One queued caller on an event loop. ``granted`` is only written under the lock."""

    def __init__(self, priority: int) -> None:
        self.priority = priority
        self.granted = False
        self.loop = asyncio.get_running_loop()
        self.event = asyncio.Event()

    def notify(self) -> None:
        """Wake the caller so it looks at the limiter again (called under the lock)."""
        # May run on any thread; asyncio.Event is not thread-safe, so hop onto its loop.
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to wake
            self.loop.call_soon_threadsafe(self.event.set)

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
    """At most k grants in any window of :func:`window_of` seconds, spread out.

    The window is a log of the last k grants: a grant is due when the k-th last one left
    the window, and not sooner than ``SPREAD`` of the even spacing after the last one, so
    that the calls of a second are spread over it rather than sent together, while a
    grant that came late (a busy event loop) is made up for by the next one instead of
    being lost to the throughput. ``clock`` (seconds, monotonic) is injectable for tests; waits
    themselves are real, so after moving a fake clock call :meth:`wake`. ``on_wait`` (for
    metrics) hears of every grant and how long it took, zero included. One instance is
    meant to be shared by a process.
    """

    def __init__(
        self,
        rate: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        on_wait: WaitObserver | None = None,
        guard: float = GUARD,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._on_wait = on_wait
        self._k, self._window = window_of(rate, guard)
        self._gap = SPREAD * self._window / self._k  # the least time between two grants
        self._rate = float(rate)
        self._recent: deque[tuple[float, _Waiter]] = deque(maxlen=self._k)  # the last k
        self._unsent: tuple[float, _Waiter] | None = None  # the last grant, until it is sent
        self._queues: dict[int, deque[_Waiter]] = {p: deque() for p in PRIORITIES}
        self._granted = dict.fromkeys(PRIORITIES, 0)

    # ---------------------------------------------------------------- public interface

    async def acquire(self, priority: int = ROUTINE) -> Turn:
        """Wait on the event loop (no thread held) until this caller may call.

        Cancelling the wait is safe: a grant made in the meantime is taken back.
        """
        _check_priority(priority)
        started = time.monotonic()
        waiter = _Waiter(priority)
        if self._enter(waiter):
            self._waited(priority, started)
            return Turn(self, waiter)
        try:
            while True:
                waiter.event.clear()
                delay = self._poll(waiter)
                if delay is None:
                    self._waited(priority, started)
                    return Turn(self, waiter)
                await waiter.sleep(delay)
        except BaseException:
            self._leave(waiter)
            raise

    def wake(self) -> None:
        """Make the waiters look at the limiter again now (after moving a fake clock)."""
        with self._lock:
            self._dispatch()
            self._notify_head()

    def stats(self) -> LimiterStats:
        with self._lock:
            return LimiterStats(
                rate=self._rate,
                per_window=self._k,
                window=self._window,
                granted=sum(self._granted.values()),
                granted_urgent=self._granted[URGENT],
                granted_routine=self._granted[ROUTINE],
                waiting_urgent=len(self._queues[URGENT]),
                waiting_routine=len(self._queues[ROUTINE]),
                granted_edit=self._granted[EDIT],
                waiting_edit=len(self._queues[EDIT]),
                granted_confirm=self._granted[CONFIRM],
                waiting_confirm=len(self._queues[CONFIRM]),
            )

    @property
    def rate(self) -> float:
        return self._rate

    def _waited(self, priority: int, started: float) -> None:
        """Tell ``on_wait`` (outside the lock); its failure never costs the caller a call."""
        if self._on_wait is None:
            return
        with contextlib.suppress(Exception):
            self._on_wait(priority, time.monotonic() - started)

    # ----------------------------------------------------------- everything under the lock

    def _enter(self, waiter: _Waiter) -> bool:
        """Grant at once if allowed (True), else queue ``waiter`` (False)."""
        with self._lock:
            now = self._clock()
            ahead = any(self._queues[p] for p in PRIORITIES if p <= waiter.priority)
            if not ahead and self._due(now):
                self._grant(waiter, now)
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
            return max(0.0, self._next() - self._clock()) + _TIMER_SLACK

    def _leave(self, waiter: _Waiter) -> None:
        """Stop waiting; a grant made meanwhile is taken back (fewer grants in the log
        never break the guarantee)."""
        with self._lock:
            if not waiter.granted:
                self._queues[waiter.priority].remove(waiter)
            else:
                self._granted[waiter.priority] -= 1
                self._replace(waiter, None)
                self._dispatch()
            self._notify_head()  # it may have been the head, the one keeping the timer

    def _dispatch(self) -> None:
        """Grant the queue's head if its turn has come, in priority then FIFO order."""
        now = self._clock()
        head = self._head()
        if head is None or not self._due(now):
            return
        self._queues[head.priority].popleft()
        self._grant(head, now)
        head.notify()
        self._notify_head()

    def _next(self) -> float:
        """When the next grant is due: the k-th last grant left the window, and the last
        one is at least ``_gap`` old."""
        if not self._recent:
            return -math.inf
        due = self._recent[-1][0] + self._gap
        if len(self._recent) == self._k:
            due = max(due, self._recent[0][0] + self._window)
        if self._unsent is not None:
            due = max(due, self._unsent[0] + HOLD)
        return due

    def _sent(self, waiter: _Waiter) -> None:
        """The call granted to ``waiter`` goes out now: the log takes this time."""
        with self._lock:
            if self._unsent is None or self._unsent[1] is not waiter:
                return  # a hold that ran out, or said twice: the log has moved on
            self._replace(waiter, self._clock())
            self._dispatch()
            self._notify_head()

    def _replace(self, waiter: _Waiter, sent_at: float | None) -> None:
        """Re-date ``waiter``'s grant in the log to ``sent_at``, or drop it (None)."""
        if self._unsent is not None and self._unsent[1] is waiter:
            self._unsent = None
        entries = [(t, w) if w is not waiter else (sent_at, w) for t, w in self._recent]
        self._recent.clear()
        self._recent.extend((t, w) for t, w in entries if t is not None)

    def _due(self, now: float) -> bool:
        return now >= self._next() - _EPS

    def _grant(self, waiter: _Waiter, now: float) -> None:
        self._recent.append((now, waiter))
        self._unsent = (now, waiter)
        waiter.granted = True
        self._granted[waiter.priority] += 1

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
        raise ValueError(f"priority must be EDIT ({EDIT}), URGENT ({URGENT}), CONFIRM "
                         f"({CONFIRM}) or ROUTINE ({ROUTINE})")
