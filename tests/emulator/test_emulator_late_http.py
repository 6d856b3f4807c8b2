"""The late-start fault end to end: an SDK that times out, a task that appears later.

The emulator runs on a fake clock where the test needs exact instants ("nothing right
after, a task at S"), and on the real clock once, to show the late start happens by
itself with time passing, as the operator's scenarios will see it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from mpu_operator.emulator import EmulatorThread, FakeClock
from mpu_operator.rtc import codes

from .conftest import fresh, short_config
from .sdk import Refused, V1Caller, wait_for

pytestmark = pytest.mark.integration

S = 60.0  # on the fake clock: far beyond any real delay in the test
HOLD = 2.0  # real seconds a held call waits before its connection is dropped
READ_TIMEOUT = 0.3


def url(name: str | None = None) -> str:
    return f"rtmp://push.example.com/live/{name or fresh('s')}?auth_key=1700000000-0-0-ab"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emu(clock: FakeClock) -> Iterator[EmulatorThread]:
    with EmulatorThread(short_config(fault_hold_seconds=HOLD), clock=clock) as emulator:
        yield emulator


def impatient(emu: EmulatorThread) -> V1Caller:
    """A client that gives up long before the emulator drops a held call."""
    return V1Caller(emu.endpoint, timeout=READ_TIMEOUT, auto_retry=False)


def start_times_out(emu: EmulatorThread, app: str, task: str, stream: str) -> None:
    with pytest.raises(Refused) as caught:
        impatient(emu).start(app, fresh("ch"), task, stream)
    assert caught.value.code == "SDK.HttpError"  # the v1 SDK's word for a read timeout


def late(emu: EmulatorThread) -> tuple[int, dict[str, int], int]:
    stats = emu.stats()
    return stats["lateAppliedCalls"], stats["lateApplyOutcomes"], stats["latePendingCalls"]


def test_a_timed_out_start_takes_effect_s_seconds_later(emu: EmulatorThread,
                                                        clock: FakeClock) -> None:
    app, task = fresh("app"), fresh("task")
    emu.fault("StartMPUTask", timeout=True, applied="late", apply_after_seconds=S)
    arrived = clock.wall()
    start_times_out(emu, app, task, url())
    assert emu.tasks() == []
    assert late(emu) == (0, {}, 1)
    assert emu.stats()["timeoutsInjected"] == 1
    clock.advance(S - 0.01)
    assert emu.tasks() == []
    clock.advance(0.01)
    record = wait_for(lambda: emu.tasks(), timeout=5)[0]
    assert record["taskId"] == task
    started = record["startedAt"]
    assert started == (arrived + timedelta(seconds=S)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert late(emu) == (1, {"OK": 1}, 0)
    assert emu.stats()["urlRuleViolations"] == 0
    V1Caller(emu.endpoint).start(app, fresh("ch"), fresh("task"), url())  # fault used up


def test_a_new_task_id_after_the_timeout_leaks_and_breaks_the_url_rule(
        emu: EmulatorThread, clock: FakeClock) -> None:
    """The bug the fault exists to show: "never started" -> a new TaskId on the same URL."""
    app, stream = fresh("app"), url()
    emu.fault("StartMPUTask", timeout=True, applied="late", apply_after_seconds=S)
    start_times_out(emu, app, "first", stream)
    V1Caller(emu.endpoint).start(app, fresh("ch"), "second", stream)
    clock.advance(S)
    wait_for(lambda: late(emu)[0] == 1, timeout=5)
    assert [t["taskId"] for t in emu.tasks()] == ["second"]
    assert late(emu)[1] == {codes.STREAM_URL_IN_USE: 1}
    assert emu.stats()["urlRuleViolations"] == 1


def test_retrying_the_same_task_id_gives_one_task_and_no_violation(
        emu: EmulatorThread, clock: FakeClock) -> None:
    """The cure: retry the same TaskId; the late start then finds it already exists."""
    app, task, stream = fresh("app"), fresh("task"), url()
    emu.fault("StartMPUTask", timeout=True, applied="late", apply_after_seconds=S)
    start_times_out(emu, app, task, stream)
    V1Caller(emu.endpoint).start(app, fresh("ch"), task, stream)
    clock.advance(S)
    wait_for(lambda: late(emu)[0] == 1, timeout=5)
    (record,) = emu.tasks()
    assert record["history"][-1]["action"] == "emulator:late-start"
    assert record["history"][-1]["outcome"] == codes.TASK_EXISTS
    assert emu.stats()["urlRuleViolations"] == 0


def test_an_error_answer_with_a_late_apply(emu: EmulatorThread, clock: FakeClock) -> None:
    """``timeout: false``: a 503 now, the task anyway later (a 5xx is no proof of failure)."""
    app, task = fresh("app"), fresh("task")
    emu.fault("StartMPUTask", code="ServiceUnavailable", http=503, applied="late",
              apply_after_seconds=S)
    with pytest.raises(Refused) as caught:
        V1Caller(emu.endpoint).start(app, fresh("ch"), task, url())
    assert (caught.value.code, caught.value.http) == ("ServiceUnavailable", 503)
    clock.advance(S)
    assert [t["taskId"] for t in wait_for(lambda: emu.tasks(), timeout=5)] == [task]


def test_a_malformed_start_is_refused_at_once_and_never_applied(emu: EmulatorThread,
                                                                 clock: FakeClock) -> None:
    emu.fault("StartMPUTask", timeout=True, applied="late", apply_after_seconds=S)
    with pytest.raises(Refused) as caught:
        impatient(emu).start(fresh("app"), fresh("ch"), "bad id!", url())
    assert caught.value.code == "Request.InvalidTaskId"
    clock.advance(S)
    assert emu.tasks() == [] and late(emu) == (0, {}, 0)


def test_bad_late_fault_bodies_are_refused_over_http(emu: EmulatorThread) -> None:
    for raw, field in [
        ('{"action": "StartMPUTask", "applied": "late"}', "applyAfterSeconds"),
        ('{"action": "StartMPUTask", "applied": "late", "applyAfterSeconds": NaN}',
         "applyAfterSeconds"),
        ('{"action": "StartMPUTask", "applied": "late", "applyAfterSeconds": 3601}',
         "applyAfterSeconds"),
        ('{"action": "StartMPUTask", "applied": "soon"}', "applied"),
    ]:
        response = requests.post(emu.url + "/_emulator/faults", data=raw, timeout=5)
        assert response.status_code == 400, raw
        assert f'"{field}"' in response.json()["error"], response.json()
    with pytest.raises(RuntimeError, match="applyAfterSeconds"):
        emu.fault("StartMPUTask", applied="late", apply_after_seconds=-1)
    assert emu.stats()["faultsInjected"] == 0


def test_the_late_start_happens_on_the_real_clock() -> None:
    after = 0.4
    with EmulatorThread(short_config(fault_hold_seconds=HOLD)) as emu:
        app, task = fresh("app"), fresh("task")
        emu.fault("StartMPUTask", timeout=True, applied="late", apply_after_seconds=after)
        began = time.monotonic()
        start_times_out(emu, app, task, url())
        wait_for(lambda: emu.tasks(), timeout=10, interval=0.05)
        assert time.monotonic() - began >= after
        assert late(emu) == (1, {"OK": 1}, 0)
