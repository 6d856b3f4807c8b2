"""The emulated service's rules on a fake clock: no sleeping, exact instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpu_operator.catalogue import RemoteStatus
from mpu_operator.emulator.clock import FakeClock
from mpu_operator.emulator.config import EmulatorConfig
from mpu_operator.emulator.errors import ApiError, ControlError
from mpu_operator.emulator.model import Layout, StartSpec
from mpu_operator.emulator.state import EmulatorState
from mpu_operator.rtc import codes

T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def spec(task: str = "t1", url: str = "rtmp://cdn.example.com/live/a?auth_key=k1",
         app: str = "app", channel: str = "ch", profile: str = "16IN_1080P",
         sent: bool = False, layouts: tuple[int, ...] = (1,)) -> StartSpec:
    return StartSpec(app, channel, task, url, Layout(layouts), 20, profile, sent)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def state(clock: FakeClock) -> EmulatorState:
    config = EmulatorConfig(idle_stop_seconds=120, url_cooldown_seconds=10,
                            max_concurrent_tasks=2)
    return EmulatorState(config, clock)


def refused(code: str, call: object, *args: object) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(*args)  # type: ignore[operator]
    assert caught.value.code == code, caught.value
    return caught.value


def test_task_waits_for_the_channel_then_runs(state: EmulatorState) -> None:
    state.start(spec())
    assert state.status("app", "t1") is RemoteStatus.WAITING
    state.join("app", "ch", "alice")
    assert state.status("app", "t1") is RemoteStatus.RUNNING


def test_task_started_in_a_busy_channel_runs_at_once(state: EmulatorState) -> None:
    state.join("app", "ch", "alice")
    state.start(spec())
    assert state.status("app", "t1") is RemoteStatus.RUNNING


def test_idle_stop_happens_exactly_idle_seconds_after_the_channel_empties(
        state: EmulatorState, clock: FakeClock) -> None:
    state.join("app", "ch", "alice")
    state.join("app", "ch", "bob")
    state.start(spec())
    clock.advance(5)
    state.leave("app", "ch", "alice")
    clock.advance(200)  # someone is still there: no countdown
    assert state.status("app", "t1") is RemoteStatus.RUNNING
    state.leave("app", "ch", "bob")
    emptied = clock.wall()
    clock.advance(119.999)
    assert state.status("app", "t1") is RemoteStatus.RUNNING  # pinned: 1 during the grace
    clock.advance(0.002)
    assert state.status("app", "t1") is RemoteStatus.CHANNEL_STOPPED
    record = state.tasks_json()[0]
    assert emptied == T0 + timedelta(seconds=205)
    assert record["stoppedAt"] == "2026-01-02T03:09:30.678901Z"  # emptied + 120 s, written out
    assert record["history"][-1]["action"] == "emulator:idle-stop"


def test_rejoining_within_the_grace_keeps_the_task(state: EmulatorState,
                                                    clock: FakeClock) -> None:
    state.join("app", "ch", "alice")
    state.start(spec())
    state.leave("app", "ch", "alice")
    clock.advance(100)
    state.join("app", "ch", "alice")
    clock.advance(1000)
    assert state.status("app", "t1") is RemoteStatus.RUNNING


def test_a_waiting_task_never_idle_stops(state: EmulatorState, clock: FakeClock) -> None:
    state.join("app", "ch", "alice")
    state.leave("app", "ch", "alice")
    state.start(spec())
    clock.advance(10_000)
    assert state.status("app", "t1") is RemoteStatus.WAITING


def test_stop_gives_3_and_is_idempotent(state: EmulatorState, clock: FakeClock) -> None:
    state.start(spec())
    state.stop("app", "t1")
    assert state.status("app", "t1") is RemoteStatus.STOPPED_BY_USER
    stopped_at = state.tasks_json()[0]["stoppedAt"]
    clock.advance(5)
    state.stop("app", "t1")
    assert state.tasks_json()[0]["stoppedAt"] == stopped_at


@pytest.mark.parametrize("status", [5, 6])
def test_injected_failures(state: EmulatorState, status: int) -> None:
    state.start(spec())
    state.fail("app", "t1", status)
    assert int(state.status("app", "t1")) == status
    with pytest.raises(ControlError) as again:
        state.fail("app", "t1", status)
    assert again.value.http == 409


def test_fail_refuses_other_statuses_and_unknown_tasks(state: EmulatorState) -> None:
    with pytest.raises(ControlError):
        state.fail("app", "nope", 5)
    state.start(spec())
    with pytest.raises(ControlError):
        state.fail("app", "t1", 3)


def test_a_task_id_stays_taken_after_it_stops(state: EmulatorState, clock: FakeClock) -> None:
    state.start(spec())
    error = refused(codes.TASK_EXISTS, state.start, spec(url="rtmp://cdn.example.com/other"))
    assert "task already exists" in error.message and error.http == 400
    state.stop("app", "t1")
    clock.advance(10 ** 6)
    refused(codes.TASK_EXISTS, state.start, spec(url="rtmp://cdn.example.com/other"))
    # Same id in another app is another task.
    state.start(spec(app="app2", url="rtmp://cdn.example.com/other"))


def test_task_ids_clear_when_configured(clock: FakeClock) -> None:
    state = EmulatorState(EmulatorConfig(task_clear_seconds=60, url_cooldown_seconds=0), clock)
    state.start(spec())
    state.stop("app", "t1")
    clock.advance(59)
    refused(codes.TASK_EXISTS, state.start, spec())
    clock.advance(1)
    refused(codes.TASK_NOT_FOUND, state.status, "app", "t1")
    state.start(spec())
    records = state.tasks_json()
    assert [r["cleared"] for r in records] == [True, False]


def test_url_in_use_ignores_the_query_and_names_the_holder(state: EmulatorState) -> None:
    state.start(spec(url="rtmp://CDN.example.com:1935/live/a?auth_key=one"))
    error = refused(codes.STREAM_URL_IN_USE, state.start,
                    spec("t2", url="rtmp://cdn.example.com/live/a?auth_key=two"))
    assert "'t1'" in error.message and "auth_key" not in error.message
    # Another path, host or port is another stream.
    state.start(spec("t3", url="rtmp://cdn.example.com/live/b?auth_key=one"))
    assert state.counters.url_rule_violations == 1


def test_url_in_use_across_apps(state: EmulatorState) -> None:
    state.start(spec())
    refused(codes.STREAM_URL_IN_USE, state.start, spec(app="other"))


def test_url_cooldown_after_any_stop(state: EmulatorState, clock: FakeClock) -> None:
    state.start(spec())
    state.stop("app", "t1")
    clock.advance(9.999)
    error = refused(codes.STREAM_URL_COOLING_DOWN, state.start, spec("t2"))
    assert "may be used again at" in error.message
    clock.advance(0.001)
    state.start(spec("t2"))
    state.fail("app", "t2", 5)
    refused(codes.STREAM_URL_COOLING_DOWN, state.start, spec("t3"))
    assert state.counters.url_rule_violations == 2


def test_cooldown_counts_from_the_idle_stop_instant(state: EmulatorState,
                                                    clock: FakeClock) -> None:
    state.join("app", "ch", "u")
    state.start(spec())
    state.leave("app", "ch", "u")
    clock.advance(125)  # stopped at 120, free at 130
    refused(codes.STREAM_URL_COOLING_DOWN, state.start, spec("t2"))
    clock.advance(5)
    state.start(spec("t2"))


def test_quota_counts_live_tasks_per_app(state: EmulatorState) -> None:
    state.start(spec("t1", url="rtmp://h/1"))
    state.start(spec("t2", url="rtmp://h/2"))
    error = refused(codes.TASK_QUOTA_EXCEEDED, state.start, spec("t3", url="rtmp://h/3"))
    assert error.http == 400
    state.start(spec("t3", app="other", url="rtmp://h/3"))
    state.stop("app", "t1")
    state.start(spec("t4", url="rtmp://h/4"))
    counters = state.counters_json()
    assert counters["quotaRefusals"] == 1
    assert counters["maxConcurrentTasks"] == 2
    assert counters["liveTasks"] == 3


def test_update_changes_only_a_live_tasks_layout(state: EmulatorState) -> None:
    state.start(spec())
    state.update_layout("app", "t1", Layout((1, 6), 1, 255))
    record = state.tasks_json()[0]
    assert (record["layoutIds"], record["cropMode"], record["backgroundColor"]) == ([1, 6], 1, 255)
    state.stop("app", "t1")
    refused(codes.TASK_NOT_FOUND, state.update_layout, "app", "t1", Layout((1,)))
    refused(codes.TASK_NOT_FOUND, state.update_layout, "app", "nope", Layout((1,)))


def test_update_keeps_within_a_sent_profile(state: EmulatorState) -> None:
    state.start(spec(profile="4IN_720P", sent=True))
    state.update_layout("app", "t1", Layout((6,)))  # 4 panes: fits
    refused("Request.InvalidLayoutIds", state.update_layout, "app", "t1", Layout((11,)))


def test_history_is_bounded_and_times_are_rfc3339(clock: FakeClock) -> None:
    state = EmulatorState(EmulatorConfig(history_limit=3), clock)
    state.start(spec())
    for n in range(10):
        state.record("app", "t1", "GetMPUTaskStatus", "OK", f"r{n}")
    history = state.tasks_json()[0]["history"]
    assert [h["requestId"] for h in history] == ["r7", "r8", "r9"]
    assert history[0]["time"].endswith("Z") and "." in history[0]["time"]
    assert state.tasks_json()[0]["startedAt"] == "2026-01-02T03:04:05.678901Z"


def test_reset_forgets_everything(state: EmulatorState) -> None:
    state.start(spec())
    state.reset()
    assert state.tasks_json() == []
    state.start(spec())


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet="abcdefgh0123456789=&-_", max_size=30),
       st.text(alphabet="abcdefgh0123456789=&-_", max_size=30))
def test_a_query_never_makes_another_stream(first: str, second: str) -> None:
    state = EmulatorState(EmulatorConfig(), FakeClock(T0))
    state.start(spec("t1", url=f"rtmp://cdn.example.com/live/a?{first}"))
    with pytest.raises(ApiError) as caught:
        state.start(spec("t2", url=f"rtmp://cdn.example.com/live/a?{second}"))
    assert caught.value.code == codes.STREAM_URL_IN_USE
