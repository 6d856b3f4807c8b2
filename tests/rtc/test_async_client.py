"""AsyncRTCClient: waits on the loop, calls in a worker thread, urgent calls overtake polls."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from mpu_operator.rtc import codes
from mpu_operator.rtc.client import AsyncRTCClient, RTCClient, TaskStatus
from mpu_operator.rtc.codes import ErrorKind
from mpu_operator.rtc.credentials import Credentials
from mpu_operator.rtc.errors import RTCError
from mpu_operator.rtc.ratelimit import ROUTINE, URGENT, RateLimiter

from .fakertc import LAYOUT, START, Answer, FakeRTC, error

pytestmark = pytest.mark.integration


async def test_each_call_takes_one_token_from_the_async_limiter(
    fake_rtc: FakeRTC, creds: Credentials
) -> None:
    outer = RateLimiter(rate=1000, guard=0.0)
    rtc = AsyncRTCClient(RTCClient(fake_rtc.url), outer)
    fake_rtc.answer(Answer(200, {"RequestId": "R0"}), Answer(200, {"RequestId": "R1",
                                                                    "Status": 2}))
    assert await rtc.start_mpu_task(creds, START) == "R0"
    assert await rtc.get_mpu_task_status(creds, "app1", "task-1") == TaskStatus(2, "R1")
    assert await rtc.update_mpu_layout(creds, "app1", "task-1", LAYOUT)
    assert await rtc.update_mpu_task(creds, "app1", "task-1", START.update_params(),
                                     priority=ROUTINE)
    assert await rtc.stop_mpu_task(creds, "app1", "task-1", priority=ROUTINE)
    stats = outer.stats()
    assert (stats.granted_urgent, stats.granted_routine) == (2, 3)
    assert [r.params["Action"] for r in fake_rtc.received][3] == "UpdateMPUTask"


async def test_no_limiter(fake_rtc: FakeRTC, creds: Credentials) -> None:
    rtc = AsyncRTCClient(RTCClient(fake_rtc.url), None)
    assert await rtc.stop_mpu_task(creds, "a", "t")


async def test_errors_come_through(fake_rtc: FakeRTC, creds: Credentials) -> None:
    rtc = AsyncRTCClient(RTCClient(fake_rtc.url), None)
    fake_rtc.answer(error(400, codes.TASK_EXISTS, "task already exists", rid="RX"))
    with pytest.raises(RTCError) as info:
        await rtc.start_mpu_task(creds, START)
    assert info.value.kind is ErrorKind.ALREADY_EXISTS and info.value.request_id == "RX"


async def test_urgent_call_overtakes_queued_polls_with_a_small_pool(
    fake_rtc: FakeRTC, creds: Credentials
) -> None:
    """Two worker threads, ten polls waiting their turn, then a user's change: the change
    reaches the service next, because waiting polls hold no thread and rank lower."""
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=2))
    limiter = RateLimiter(rate=5.0)  # slow enough that the queue builds on a busy machine
    rtc = AsyncRTCClient(RTCClient(fake_rtc.url), limiter)

    polls = [asyncio.create_task(rtc.get_mpu_task_status(creds, "app1", f"poll-{i}"))
             for i in range(10)]
    deadline = time.monotonic() + 10
    while limiter.stats().waiting_routine < 8:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.002)
    await rtc.stop_mpu_task(creds, "app1", "urgent", priority=URGENT)
    await asyncio.gather(*polls)

    order = [r.params["TaskId"] for r in fake_rtc.received]
    # At most the polls already granted (≤ 2 when it was sent, 3 if a token fell due in the
    # same instant) went first; the other 7 queued polls came after it.
    assert order.index("urgent") <= 3, order
    assert len(order) == 11


async def test_each_call_tells_the_limiter_when_it_is_sent(
    fake_rtc: FakeRTC, creds: Credentials
) -> None:
    """The limiter's window counts sends; a call that never said so would hold the next
    grant back (on this frozen clock: for ever)."""
    clock = [100.0]
    limiter = RateLimiter(rate=10.0, clock=lambda: clock[0])
    rtc = AsyncRTCClient(RTCClient(fake_rtc.url), limiter)
    assert await rtc.stop_mpu_task(creds, "a", "t1")
    clock[0] += 0.1  # past the spread, well within the hold of an unsent grant
    assert await asyncio.wait_for(rtc.stop_mpu_task(creds, "a", "t2"), 5)
