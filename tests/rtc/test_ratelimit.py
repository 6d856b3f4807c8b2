"""The shared limiter: the per-second window, priorities, cancellation, waking.

Everything that is about time runs on a fake clock: what is asserted is when grants are
*allowed*, never how long anything took.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
import time
from collections.abc import Callable

import pytest

from mpu_operator.rtc.ratelimit import (
    EDIT,
    GUARD,
    HOLD,
    ROUTINE,
    SPREAD,
    URGENT,
    RateLimiter,
    window_of,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def async_wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met before the deadline"
        await asyncio.sleep(0.002)


def _waiting(limiter: RateLimiter, priority: int) -> int:
    stats = limiter.stats()
    return {EDIT: stats.waiting_edit, URGENT: stats.waiting_urgent}.get(
        priority, stats.waiting_routine)


async def call(limiter: RateLimiter, priority: int) -> None:
    """A caller that sends as soon as it is granted."""
    (await limiter.acquire(priority)).sent()


async def queue(limiter: RateLimiter, priority: int, n: int = 1) -> list[asyncio.Task[None]]:
    """n callers waiting at ``priority``, each queued before the next one is started."""
    tasks = []
    for _ in range(n):
        before = _waiting(limiter, priority)
        tasks.append(asyncio.create_task(call(limiter, priority)))
        await async_wait_until(lambda b=before: _waiting(limiter, priority) == b + 1)  # type: ignore[misc]
    return tasks


async def drained(clock: FakeClock, rate: float = 1.0) -> RateLimiter:
    """A limiter on a frozen fake clock that has just granted: nothing more is due."""
    limiter = RateLimiter(rate=rate, clock=clock)
    (await limiter.acquire(URGENT)).sent()
    return limiter


async def settle() -> None:
    """Let woken callers run (their grant itself was made synchronously)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def cancel_all(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# ------------------------------------------------------------------- the window itself


def test_the_window_is_whole_calls_per_second_plus_the_guard() -> None:
    assert window_of(10.0) == (10, pytest.approx(1.0 + GUARD))
    assert window_of(10.9, guard=0.0) == (10, 1.0)  # 10.9/s allows 10 in a second, not 11
    assert window_of(1.0, guard=0.1) == (1, pytest.approx(1.1))
    assert window_of(0.5, guard=0.0) == (1, 2.0)  # below 1/s: one call per 1/rate seconds
    assert window_of(0.5, guard=0.1) == (1, pytest.approx(2.2))


@pytest.mark.parametrize(("rate", "guard"), [(0, 0.05), (-1, 0.05), (float("inf"), 0.05),
                                             (float("nan"), 0.05), (10, -0.01), (10, 1.0)])
def test_rejects_nonsense(rate: float, guard: float) -> None:
    with pytest.raises(ValueError, match=r"rate|guard"):
        RateLimiter(rate=rate, guard=guard)


async def test_rejects_unknown_priority() -> None:
    with pytest.raises(ValueError, match="priority"):
        await RateLimiter().acquire(3)


async def test_at_most_k_grants_in_any_window_under_a_saturating_queue() -> None:
    """The guarantee `make bench` checks at the emulator (peak calls/s never above qps):
    any k+1 consecutive grants span at least the window, with any clock steps and any mix
    of priorities. And nothing is held back: whenever a grant is due, it is made."""
    clock, rng = FakeClock(), random.Random(7)
    limiter = RateLimiter(rate=10.0, clock=clock)
    k, window = window_of(10.0)
    gap = SPREAD * window / k
    tasks = [asyncio.create_task(call(limiter, rng.choice((EDIT, URGENT, ROUTINE))))
             for _ in range(120)]
    await async_wait_until(lambda: limiter.stats().granted >= 1)
    times = [clock.now]
    while len(times) < 120:
        clock.advance(rng.choice((0.001, 0.005, 0.01, 0.03, 0.07, 0.2)))
        due = times[-1] + gap if len(times) < k else max(times[-1] + gap, times[-k] + window)
        before = limiter.stats().granted
        limiter.wake()
        granted = limiter.stats().granted - before
        assert granted == (1 if clock.now >= due - 1e-9 else 0), (clock.now, due)
        times += [clock.now] * granted
        await settle()
    await asyncio.gather(*tasks)
    spans = [later - first for first, later in zip(times, times[k:], strict=False)]
    assert min(spans) >= window - 1e-9
    assert all(b - a >= gap - 1e-9 for a, b in itertools.pairwise(times))


async def test_grants_are_spread_over_the_window_not_sent_together() -> None:
    clock = FakeClock()
    limiter = await drained(clock, rate=10.0)
    gap = SPREAD * (1 + GUARD) / 10
    (waiter,) = await queue(limiter, URGENT)
    clock.advance(gap - 0.001)
    limiter.wake()
    assert limiter.stats().granted == 1  # too soon after the last one
    clock.advance(0.002)
    limiter.wake()
    assert limiter.stats().granted == 2
    await waiter


async def test_the_eleventh_call_waits_for_the_first_to_leave_the_window() -> None:
    clock = FakeClock()
    limiter = await drained(clock, rate=10.0)  # grant 1 at t=0
    first = clock.now
    waiters = await queue(limiter, ROUTINE, 10)
    gap = SPREAD * (1 + GUARD) / 10
    for n in range(2, 11):  # grants 2..10 as soon as the spread allows: a late one is
        clock.advance(gap)  # made up for, the window is what limits
        limiter.wake()
        assert limiter.stats().granted == n
        await settle()  # the caller sends
    clock.now = first + 1 + GUARD - 0.001
    limiter.wake()
    assert limiter.stats().granted == 10  # 11 in one window: not yet
    clock.now = first + 1 + GUARD
    limiter.wake()
    assert limiter.stats().granted == 11
    await asyncio.gather(*waiters)


async def test_one_call_per_period_below_one_per_second() -> None:
    clock = FakeClock()
    limiter = await drained(clock, rate=0.5)
    (waiter,) = await queue(limiter, URGENT)
    clock.advance(2 * (1 + GUARD) - 0.01)
    limiter.wake()
    assert limiter.stats().granted == 1
    clock.advance(0.01)
    limiter.wake()
    assert limiter.stats().granted == 2
    await waiter


async def test_an_idle_limiter_grants_at_once() -> None:
    clock = FakeClock()
    limiter = await drained(clock, rate=10.0)
    clock.advance(5.0)
    await asyncio.wait_for(limiter.acquire(ROUTINE), 5)
    assert limiter.stats().granted == 2


async def test_the_window_counts_sends_and_the_next_grant_waits_for_one() -> None:
    """A caller granted on a busy machine may send late; if later grants went ahead, the
    late sends would reach the service together (make bench: 4 calls within 1 ms)."""
    clock = FakeClock()
    limiter = RateLimiter(rate=10.0, clock=clock)
    gap = SPREAD * (1 + GUARD) / 10
    late = await limiter.acquire(URGENT)  # granted at t=0, not sent yet
    (waiter,) = await queue(limiter, URGENT)
    clock.advance(0.5)
    limiter.wake()
    assert limiter.stats().granted == 1  # held back: the last grant is not sent
    late.sent()  # goes out at t=0.5: the log says 0.5, not 0
    clock.advance(gap - 0.001)
    limiter.wake()
    assert limiter.stats().granted == 1
    clock.advance(0.002)
    limiter.wake()
    assert limiter.stats().granted == 2
    await waiter


async def test_a_grant_never_sent_holds_the_next_one_back_for_a_while_only() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=10.0, clock=clock)
    lost = await limiter.acquire(URGENT)  # its caller is cancelled in the executor, say
    (waiter,) = await queue(limiter, URGENT)
    clock.advance(HOLD - 0.001)
    limiter.wake()
    assert limiter.stats().granted == 1
    clock.advance(0.002)
    limiter.wake()
    assert limiter.stats().granted == 2
    await waiter
    lost.sent()  # too late: the log has moved on, and nothing breaks
    lost.sent()
    (after,) = await queue(limiter, URGENT)
    clock.advance(1.1)
    limiter.wake()
    await asyncio.wait_for(after, 5)


# ------------------------------------------------------------------------ priorities


async def test_an_edit_goes_before_queued_starts_and_polls() -> None:
    """A user's change to a running task must not wait behind a start-up backlog: EDIT is
    served before every waiting URGENT and ROUTINE caller (found by `make bench` at N=1000,
    where edits waited ~100 s behind 1000 queued starts)."""
    clock = FakeClock()
    limiter = await drained(clock)
    starts = await queue(limiter, URGENT, 2)
    polls = await queue(limiter, ROUTINE, 1)
    (edit,) = await queue(limiter, EDIT)
    order: list[asyncio.Task[None]] = []
    for _ in range(4):
        clock.advance(1.1)
        limiter.wake()
        await settle()
        order += [t for t in (*starts, *polls, edit) if t.done() and t not in order]
    assert order == [edit, *starts, *polls]
    stats = limiter.stats()  # (drained() took one URGENT grant itself)
    assert (stats.granted_edit, stats.granted_urgent, stats.granted_routine) == (1, 3, 1)
    assert (stats.waiting_edit, stats.waiting_urgent, stats.waiting_routine) == (0, 0, 0)


async def test_a_new_caller_does_not_jump_a_queue_of_its_own_rank_but_outranks_lower() -> None:
    clock = FakeClock()
    limiter = await drained(clock)
    (routine,) = await queue(limiter, ROUTINE)
    clock.advance(5.0)  # a grant is due, but nobody has touched the limiter since
    await asyncio.wait_for(limiter.acquire(URGENT), 5)  # urgent goes before routine
    assert not routine.done()
    late = asyncio.create_task(limiter.acquire(ROUTINE))
    clock.advance(1.1)
    limiter.wake()
    await asyncio.wait_for(routine, 5)  # the queued routine caller was owed this one
    assert not late.done()
    await cancel_all([late])


# ------------------------------------------------------------- giving up, cancelling


async def test_cancelled_waiter_leaves_the_queue() -> None:
    clock = FakeClock()
    limiter = await drained(clock)
    (task,) = await queue(limiter, ROUTINE)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert limiter.stats().waiting_routine == 0
    clock.advance(1.1)
    await asyncio.wait_for(limiter.acquire(ROUTINE), 5)


async def test_a_grant_to_a_cancelled_waiter_is_taken_back() -> None:
    """The cancelled caller never calls: its grant must not count against the window,
    and the next caller may go at once."""
    clock = FakeClock()
    limiter = await drained(clock)
    (task, behind) = await queue(limiter, ROUTINE, 2)
    clock.advance(1.1)
    limiter.wake()  # grants the task's turn; the task has not run since
    assert limiter.stats().granted_routine == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(behind, 5)  # granted in its place, at the same instant
    assert limiter.stats().granted_routine == 1


async def test_a_leaving_head_hands_the_timer_on() -> None:
    """Only the head keeps a timer; when it gives up, the next waiter must take over the
    timer and get its grant when due, with nobody calling wake()."""
    limiter = RateLimiter(rate=2.0, guard=0.0)  # real clock
    (await limiter.acquire(URGENT)).sent()
    (head,) = await queue(limiter, URGENT)
    (behind,) = await queue(limiter, ROUTINE)  # not the head: sleeps until told
    head.cancel()
    await asyncio.gather(head, return_exceptions=True)
    await asyncio.wait_for(behind, 10)


@pytest.mark.parametrize("ticks", range(6))
async def test_cancellation_is_never_swallowed_by_a_coinciding_wake_up(ticks: int) -> None:
    """A wake-up and a cancel in the same loop turn: the cancel must win, at whatever
    point of the wake-up it lands (asyncio.wait_for on 3.11 would swallow it)."""
    clock = FakeClock()
    limiter = await drained(clock)
    (task,) = await queue(limiter, ROUTINE)
    limiter.wake()  # nothing due yet: the waiter only re-checks
    for _ in range(ticks):
        await asyncio.sleep(0)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=3)
    assert task in done and task.cancelled()
    assert limiter.stats().waiting_routine == 0


# ----------------------------------------------------------------- no threads held


async def test_waiters_hold_no_thread() -> None:
    clock = FakeClock()
    limiter = await drained(clock)
    threads_before = threading.active_count()
    waiters = await queue(limiter, ROUTINE, 50)
    assert threading.active_count() == threads_before
    await cancel_all(waiters)
    assert limiter.stats().waiting_routine == 0


async def test_an_observer_hears_of_every_grant_and_may_fail() -> None:
    heard: list[int] = []

    def observe(priority: int, seconds: float) -> None:
        heard.append(priority)
        raise RuntimeError("metrics broke")

    clock = FakeClock()
    limiter = RateLimiter(rate=1.0, clock=clock, on_wait=observe)
    (await limiter.acquire(URGENT)).sent()  # at once
    (task,) = await queue(limiter, EDIT)
    clock.advance(1.1)
    limiter.wake()
    await asyncio.wait_for(task, 5)
    assert heard == [URGENT, EDIT]
