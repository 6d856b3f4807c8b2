"""Reports written behind the step: order, the latest wins, retries, and the write-ahead
that waits for the write in flight and is never overtaken by an older status."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mpu_operator.controller import status_writer
from mpu_operator.controller.status_writer import StatusWriter

Status = dict[str, Any]


class FakeApi:
    """Records each write when it lands; a write can be held until released, or fail."""

    def __init__(self) -> None:
        self.landed: list[Status] = []
        self.started: list[Status] = []
        self.hold = False
        self.release = asyncio.Event()
        self.fail: list[Exception] = []
        self.changed = asyncio.Event()

    async def patch(self, status: Status) -> None:
        self.started.append(status)
        self.changed.set()
        if self.hold:
            await self.release.wait()
        if self.fail:
            raise self.fail.pop(0)
        self.landed.append(status)
        self.changed.set()

    async def until(self, check: Any, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not check():
                self.changed.clear()
                await self.changed.wait()


def s(n: int) -> Status:
    return {"n": n}


async def test_a_report_returns_at_once_and_lands_soon() -> None:
    api = FakeApi()
    api.hold = True
    writer = StatusWriter(api.patch)
    writer.submit(s(1))  # returns while the write is held
    assert not writer.settled
    await api.until(lambda: api.started == [s(1)])
    api.release.set()
    await api.until(lambda: api.landed == [s(1)])
    await api.until(lambda: writer.settled)


async def test_the_latest_status_supersedes_unwritten_older_ones() -> None:
    api = FakeApi()
    api.hold = True
    writer = StatusWriter(api.patch)
    writer.submit(s(1))
    await api.until(lambda: api.started == [s(1)])
    writer.submit(s(2))
    writer.submit(s(3))
    api.release.set()
    await api.until(lambda: api.landed == [s(1), s(3)])
    await api.until(lambda: writer.settled)
    assert api.started == [s(1), s(3)]


async def test_write_now_waits_for_the_write_in_flight_and_drops_older_pending() -> None:
    api = FakeApi()
    api.hold = True
    writer = StatusWriter(api.patch)
    writer.submit(s(1))
    await api.until(lambda: api.started == [s(1)])
    writer.submit(s(2))  # pending behind s(1): older than the write-ahead
    now = asyncio.create_task(writer.write_now(s(3)))
    await asyncio.sleep(0)
    assert api.started == [s(1)]  # not overtaking the write in flight
    api.release.set()
    await now
    assert api.landed == [s(1), s(3)]
    assert writer.settled


async def test_write_now_raises_what_the_write_raised() -> None:
    api = FakeApi()
    api.fail = [RuntimeError("API down")]
    writer = StatusWriter(api.patch)
    with pytest.raises(RuntimeError, match="API down"):
        await writer.write_now(s(1))
    assert api.landed == []


async def test_a_failed_report_is_retried_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(status_writer, "RETRY_SECONDS", 0.01)
    api = FakeApi()
    api.fail = [RuntimeError("boom"), RuntimeError("boom again")]
    errors: list[int] = []
    writer = StatusWriter(api.patch, on_error=lambda: errors.append(1))
    writer.submit(s(1))
    await api.until(lambda: api.landed == [s(1)])
    assert errors == [1, 1]
    assert api.started == [s(1)] * 3
    await api.until(lambda: writer.settled)


async def test_a_newer_report_replaces_a_failed_one_at_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(status_writer, "RETRY_SECONDS", 3600.0)  # a retry would never come
    api = FakeApi()
    api.hold = True
    api.fail = [RuntimeError("boom")]
    writer = StatusWriter(api.patch)
    writer.submit(s(1))
    await api.until(lambda: api.started == [s(1)])
    writer.submit(s(2))
    api.release.set()
    await api.until(lambda: api.landed == [s(2)])
    await api.until(lambda: writer.settled)


async def test_a_failed_report_waiting_for_its_retry_is_not_settled_and_is_superseded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(status_writer, "RETRY_SECONDS", 3600.0)
    api = FakeApi()
    api.fail = [RuntimeError("boom")]
    writer = StatusWriter(api.patch)
    writer.submit(s(1))
    await api.until(lambda: len(api.started) == 1 and not writer._writing())
    assert not writer.settled  # its retry is due
    await writer.write_now(s(2))
    assert writer.settled and api.landed == [s(2)]


async def test_a_write_now_during_a_failing_report_drops_its_retry(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(status_writer, "RETRY_SECONDS", 0.01)
    api = FakeApi()
    api.hold = True
    api.fail = [RuntimeError("boom")]
    writer = StatusWriter(api.patch)
    writer.submit(s(1))
    await api.until(lambda: api.started == [s(1)])
    now = asyncio.create_task(writer.write_now(s(2)))
    await asyncio.sleep(0)
    api.release.set()
    await now
    assert writer.settled  # no retry of s(1) is due: it would overwrite s(2)
    assert api.landed == [s(2)]

