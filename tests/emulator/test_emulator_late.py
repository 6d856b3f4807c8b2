"""The late start, on the state with a fake clock, and the fault parser that orders it.

A StartMPUTask whose answer was lost and that takes effect later is what makes "start a
new TaskId after a timeout" leak a task. These pin that the late start meets the rules of
its own instant: nothing before it, a task at it, "already exists" if the TaskId was
started meanwhile, and a counted URL-rule violation if another task took the URL.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mpu_operator.catalogue import RemoteStatus
from mpu_operator.emulator.clock import FakeClock, rfc3339
from mpu_operator.emulator.config import EmulatorConfig
from mpu_operator.emulator.errors import ApiError, ControlError
from mpu_operator.emulator.faults import Applied, parse_fault
from mpu_operator.emulator.model import Layout, StartSpec
from mpu_operator.emulator.state import EmulatorState
from mpu_operator.rtc import codes

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
URL = "rtmp://cdn.example.com/live/a?auth_key=k1"
S = 30.0  # seconds to the late apply
COOLDOWN = 10.0
IDLE = 120.0


def spec(task: str = "t1", url: str = URL, channel: str = "ch") -> StartSpec:
    return StartSpec("app", channel, task, url, Layout((1,)), 20, "16IN_1080P", False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def state(clock: FakeClock) -> EmulatorState:
    config = EmulatorConfig(idle_stop_seconds=IDLE, url_cooldown_seconds=COOLDOWN,
                            max_concurrent_tasks=2)
    return EmulatorState(config, clock)


def task_ids(state: EmulatorState) -> list[str]:
    return [t["taskId"] for t in state.tasks_json()]


def late_counters(state: EmulatorState) -> tuple[int, dict[str, int], int]:
    c = state.counters_json()
    return c["lateAppliedCalls"], c["lateApplyOutcomes"], c["latePendingCalls"]


# -- the state ---------------------------------------------------------------------------


def test_nothing_before_the_moment_then_a_task_started_at_it(state: EmulatorState,
                                                             clock: FakeClock) -> None:
    state.start_later(spec(), S, "RID-1")
    assert task_ids(state) == [] and late_counters(state) == (0, {}, 1)
    clock.advance(S - 0.001)
    assert task_ids(state) == []
    assert state.counters_json()["liveTasks"] == 0
    clock.advance(5)  # whoever looks later sees what happened at the due instant
    (record,) = state.tasks_json()
    assert record["taskId"] == "t1" and record["status"] == int(RemoteStatus.WAITING)
    assert record["startedAt"] == rfc3339(T0 + timedelta(seconds=S))
    assert [(h["action"], h["outcome"], h["requestId"]) for h in record["history"]] == [
        ("emulator:late-start", "OK", "RID-1")]
    assert late_counters(state) == (1, {"OK": 1}, 0)
    assert state.counters_json()["urlRuleViolations"] == 0


def test_a_retry_of_the_same_task_id_wins_and_the_late_start_finds_it(
        state: EmulatorState, clock: FakeClock) -> None:
    """What the operator must do after a timeout: retry the same TaskId."""
    state.start_later(spec(), S, "RID-LATE")
    clock.advance(1)
    state.start(spec(), "RID-RETRY")
    clock.advance(S)
    assert task_ids(state) == ["t1"]
    (record,) = state.tasks_json()
    assert record["startedAt"] == rfc3339(T0 + timedelta(seconds=1))
    assert record["history"][-1]["action"] == "emulator:late-start"
    assert record["history"][-1]["outcome"] == codes.TASK_EXISTS
    assert late_counters(state) == (1, {codes.TASK_EXISTS: 1}, 0)
    assert state.counters_json()["urlRuleViolations"] == 0


def test_a_retry_after_the_late_start_gets_already_exists(state: EmulatorState,
                                                          clock: FakeClock) -> None:
    state.start_later(spec(), S)
    clock.advance(S)
    with pytest.raises(ApiError) as caught:
        state.start(spec())
    assert caught.value.code == codes.TASK_EXISTS
    assert task_ids(state) == ["t1"] and late_counters(state)[:2] == (1, {"OK": 1})


def test_a_new_task_id_on_the_url_makes_the_late_start_a_violation(
        state: EmulatorState, clock: FakeClock) -> None:
    """What the operator must not do: conclude "never started" and start a new TaskId."""
    state.start_later(spec("t1"), S)
    clock.advance(1)
    state.start(spec("t2"))
    clock.advance(S)
    assert task_ids(state) == ["t2"]
    assert state.counters_json()["urlRuleViolations"] == 1
    assert late_counters(state) == (1, {codes.STREAM_URL_IN_USE: 1}, 0)


def test_a_late_start_inside_the_cooldown_is_a_violation(state: EmulatorState,
                                                         clock: FakeClock) -> None:
    state.start(spec("t0"))
    state.start_later(spec("t1"), S)
    clock.advance(S - COOLDOWN / 2)
    state.stop("app", "t0")
    clock.advance(COOLDOWN)
    assert task_ids(state) == ["t0"]
    assert state.counters_json()["urlRuleViolations"] == 1
    assert late_counters(state)[1] == {codes.STREAM_URL_COOLING_DOWN: 1}


def test_time_driven_changes_before_the_late_start_come_first(state: EmulatorState,
                                                              clock: FakeClock) -> None:
    """The holder's idle stop (due before the late start, its cooldown over by then) is
    settled first, though nobody looked in between: the late start finds the URL free."""
    state.join("app", "busy", "alice")
    state.start(spec("t0", channel="busy"))
    state.leave("app", "busy", "alice")  # idle stop due at IDLE
    state.start_later(spec("t1"), IDLE + COOLDOWN + 1)
    clock.advance(IDLE + COOLDOWN + 100)
    statuses = {t["taskId"]: t["status"] for t in state.tasks_json()}
    assert statuses == {"t0": int(RemoteStatus.CHANNEL_STOPPED), "t1": 0}
    assert state.counters_json()["urlRuleViolations"] == 0


def test_late_starts_apply_in_time_order(state: EmulatorState, clock: FakeClock) -> None:
    state.start_later(spec("slow"), S)
    state.start_later(spec("fast"), S / 2)
    clock.advance(S)
    assert task_ids(state) == ["fast"]
    assert late_counters(state)[1] == {"OK": 1, codes.STREAM_URL_IN_USE: 1}


def test_the_quota_applies_at_the_late_moment(state: EmulatorState, clock: FakeClock) -> None:
    state.start_later(spec("t1"), S)
    state.start(spec("a", url="rtmp://cdn.example.com/live/b"))
    state.start(spec("b", url="rtmp://cdn.example.com/live/c"))
    clock.advance(S)
    assert "t1" not in task_ids(state)
    assert state.counters_json()["quotaRefusals"] == 1


def test_zero_delay_and_reset(state: EmulatorState, clock: FakeClock) -> None:
    state.start_later(spec("t1"), 0)
    assert task_ids(state) == ["t1"]
    state.start_later(spec("t2", url="rtmp://cdn.example.com/live/z"), S)
    state.reset()
    clock.advance(S)
    assert task_ids(state) == [] and late_counters(state) == (0, {}, 0)


@pytest.mark.parametrize("after", [-1.0, math.nan])
def test_a_negative_delay_is_a_programming_error(state: EmulatorState, after: float) -> None:
    with pytest.raises(ValueError):
        state.start_later(spec(), after)


# -- the fault parser --------------------------------------------------------------------

LATE = {"action": "StartMPUTask", "timeout": True, "applied": "late"}


@pytest.mark.parametrize(("body", "applied", "after"), [
    ({"action": "StartMPUTask"}, Applied.NEVER, None),
    ({"action": "StartMPUTask", "applied": False}, Applied.NEVER, None),
    ({"action": "*", "applied": True, "timeout": True}, Applied.AT_ONCE, None),
    ({**LATE, "applyAfterSeconds": 0}, Applied.LATE, 0.0),
    ({**LATE, "applyAfterSeconds": 2.5}, Applied.LATE, 2.5),
    ({**LATE, "applyAfterSeconds": 3600}, Applied.LATE, 3600.0),
    ({"action": "StartMPUTask", "applied": "late", "applyAfterSeconds": 1, "http": 503,
      "code": "ServiceUnavailable"}, Applied.LATE, 1.0),  # a 5xx answer, applied later
])
def test_fault_bodies_accepted(body: dict[str, Any], applied: Applied,
                               after: float | None) -> None:
    fault = parse_fault(body)
    assert (fault.applied, fault.apply_after_seconds) == (applied, after)
    shown = fault.to_json()
    assert shown["applied"] == body.get("applied", False)
    assert shown.get("applyAfterSeconds") == after


@pytest.mark.parametrize(("body", "field"), [
    ({**LATE}, "applyAfterSeconds"),
    ({**LATE, "applyAfterSeconds": -1}, "applyAfterSeconds"),
    ({**LATE, "applyAfterSeconds": 3600.5}, "applyAfterSeconds"),
    ({**LATE, "applyAfterSeconds": "10"}, "applyAfterSeconds"),
    ({**LATE, "applyAfterSeconds": True}, "applyAfterSeconds"),
    ({**LATE, "applyAfterSeconds": None}, "applyAfterSeconds"),
    ({**LATE, "applyAfterSeconds": math.nan}, "applyAfterSeconds"),
    ({**LATE, "applyAfterSeconds": math.inf}, "applyAfterSeconds"),
    ({"action": "StartMPUTask", "applyAfterSeconds": 5}, "applyAfterSeconds"),
    ({"action": "StartMPUTask", "applied": True, "applyAfterSeconds": 5}, "applyAfterSeconds"),
    ({**LATE, "action": "StopMPUTask", "applyAfterSeconds": 5}, "applied"),
    ({**LATE, "action": "*", "applyAfterSeconds": 5}, "applied"),
    ({"action": "StartMPUTask", "applied": "yes"}, "applied"),
    ({"action": "StartMPUTask", "applied": "Late"}, "applied"),
    ({"action": "StartMPUTask", "applied": 1}, "applied"),
    ({"action": "StartMPUTask", "timeout": "false"}, "timeout"),
    ({"action": "StartMPUTask", "timeout": 1}, "timeout"),
    ({"action": "StartMPUTask", "http": True}, "http"),
    ({"action": "StartMPUTask", "http": 600}, "http"),
    ({"action": "StartMPUTask", "count": True}, "count"),
    ({"action": "StartMPUTask", "count": 1.5}, "count"),
    ({"action": "StartMPUTask", "code": 5}, "code"),
    ({"action": "StartMPUTask", "message": ["x"]}, "message"),
])
def test_fault_bodies_refused_naming_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ControlError) as caught:
        parse_fault(body)
    assert caught.value.http == 400
    assert f'"{field}"' in caught.value.message, caught.value.message
