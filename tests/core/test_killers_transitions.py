"""Each fold of an outcome into the record, checked field by field against literal records.

The input records carry a pending error so that every fold that must clear it is seen
to; expected records are written out, not derived with the folds themselves.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from mpu_operator.core import transitions as tr
from mpu_operator.core.model import Record, StopCause, TaskState, UpdateKind, UrlFailure
from mpu_operator.core.timing import Timing
from mpu_operator.rtc.codes import ErrorKind

from .fixtures import EMPTY_TASK, at, desired

TIMING = Timing(url_cooldown=10, backoff_max=300, healthy_after=300)
KEY = "rtmp://push.example.com/live/show"
ERROR = {"error_code": "Throttling", "error_message": "slow down", "error_terminal": True,
         "error_generation": 3, "next_attempt_at": at(30), "error_attempts": 4}
TASK = {"task_id": "t-1", "incarnation": 1, "stream_key": KEY, "app_id": "app",
        "applied_immutable": "imm", "applied_layout": "lay"}
STARTING = Record(state=TaskState.STARTING, changed_at=at(-10), **TASK, **ERROR)
ACTIVE = Record(state=TaskState.ACTIVE, remote_status=1, started_at=at(-100),
                last_polled_at=at(-2), changed_at=at(-100), failures=2, restart_count=1,
                **TASK, **ERROR)


def test_started_activates_and_clears_the_error() -> None:
    assert tr.started(STARTING, at(0)) == Record(
        state=TaskState.ACTIVE, started_at=at(0), changed_at=at(0), **TASK)


def test_adopting_dates_the_start_now_unless_it_was_known() -> None:
    assert tr.adopted(STARTING, at(0)) == Record(
        state=TaskState.ACTIVE, started_at=at(0), changed_at=at(0), **TASK)
    known = Record(state=TaskState.STARTING, started_at=at(-7), **TASK)
    assert tr.adopted(known, at(0)).started_at == at(-7)


@pytest.mark.parametrize("code", [0, 1])
def test_a_poll_that_finds_the_started_task_adopts_it(code: int) -> None:
    assert tr.polled(STARTING, code, at(1), TIMING) == Record(
        state=TaskState.ACTIVE, remote_status=code, started_at=at(1), last_polled_at=at(1),
        changed_at=at(1), **TASK)


def test_a_poll_of_a_live_task_records_the_answer_and_clears_the_error() -> None:
    assert tr.polled(ACTIVE, 0, at(1), TIMING) == Record(
        state=TaskState.ACTIVE, remote_status=0, started_at=at(-100), last_polled_at=at(1),
        changed_at=at(-100), failures=2, restart_count=1, **TASK)


@pytest.mark.parametrize("code", [2, 3, 4, 5, 6])
def test_a_poll_that_finds_the_task_ended_is_an_outside_stop(code: int) -> None:
    """A quick failure (ran 100 s < 300 s): failures 2 -> 3, back-off 10 * 2**2 s; a
    failure (5, 6) marks its URL with the time and the code (core/failover.py)."""
    assert tr.polled(ACTIVE, code, at(0), TIMING) == Record(
        state=TaskState.STOPPED, remote_status=code, started_at=at(-100),
        stopped_at=at(0), last_polled_at=at(0), changed_at=at(-100),
        stop_cause=StopCause.REMOTE, failures=3, restart_count=1, next_attempt_at=at(40),
        url_failures=(UrlFailure(KEY, at(0), code),) if code in (5, 6) else (), **TASK)


def test_a_vanished_task_is_an_outside_stop_of_its_own_kind() -> None:
    assert tr.vanished(ACTIVE, at(0), TIMING) == Record(
        state=TaskState.STOPPED, remote_status=1, started_at=at(-100),
        stopped_at=at(0), last_polled_at=at(0), changed_at=at(-100),
        stop_cause=StopCause.VANISHED, failures=3, restart_count=1, next_attempt_at=at(40),
        **TASK)


def test_a_vanished_write_ahead_is_kept_and_resent() -> None:
    assert tr.vanished(STARTING, at(0), TIMING) == Record(
        state=TaskState.STARTING, last_polled_at=at(0), changed_at=at(-10),
        retry_start=True, unconfirmed_since=at(0), **TASK)


def test_a_stopped_task_stays_as_it_was_stopped() -> None:
    stopped = Record(state=TaskState.STOPPED, stopped_at=at(-50), stop_cause=StopCause.DELETE,
                     **TASK)
    assert tr.vanished(stopped, at(0), TIMING) == Record(
        state=TaskState.STOPPED, stopped_at=at(-50), stop_cause=StopCause.DELETE,
        last_polled_at=at(0), **TASK)
    assert tr.polled(stopped, 2, at(0), TIMING).stopped_at == at(-50)


def test_a_confirmed_requested_stop_is_no_failure_and_clears_the_error() -> None:
    stopping = ACTIVE.replace(state=TaskState.STOPPING, stop_requested=True,
                              stop_cause=StopCause.SUSPEND)
    assert tr.polled(stopping, 3, at(0), TIMING) == Record(
        state=TaskState.STOPPED, remote_status=3, started_at=at(-100), stopped_at=at(0),
        last_polled_at=at(0), changed_at=at(-100), stop_cause=StopCause.SUSPEND,
        stop_requested=True, failures=2, restart_count=1, **TASK)


def test_a_run_of_exactly_the_healthy_time_resets_the_failures() -> None:
    healthy = ACTIVE.replace(started_at=at(-300), failures=5)
    record = tr.polled(healthy, 2, at(0), TIMING)
    assert (record.failures, record.next_attempt_at) == (1, at(10))
    quick = ACTIVE.replace(started_at=at(-299), failures=5)
    assert tr.polled(quick, 2, at(0), TIMING).failures == 6


def test_an_undated_start_counts_as_a_quick_failure() -> None:
    undated = ACTIVE.replace(started_at=None, failures=0)
    timing = Timing(healthy_after=0.5, url_cooldown=10)
    assert tr.polled(undated, 5, at(0), timing).failures == 1
    assert tr.polled(undated.replace(failures=3), 5, at(0), timing).failures == 4


def test_a_layout_update_records_the_new_layout_and_clears_the_error() -> None:
    assert tr.updated(ACTIVE, UpdateKind.LAYOUT, "new-layout", at(0)) == Record(
        state=TaskState.ACTIVE, remote_status=1, started_at=at(-100), last_polled_at=at(-2),
        changed_at=at(0), failures=2, restart_count=1,
        **{**TASK, "applied_layout": "new-layout"})


@pytest.mark.parametrize("cause", list(StopCause))
def test_a_sent_stop_is_recorded_with_its_cause(cause: StopCause) -> None:
    assert tr.stop_sent(ACTIVE, cause, at(0)) == Record(
        state=TaskState.STOPPING, remote_status=1, started_at=at(-100),
        last_polled_at=at(-2), changed_at=at(0), stop_cause=cause, stop_requested=True,
        failures=2, restart_count=1, **TASK)


@pytest.mark.parametrize("cause", [StopCause.DELETE, StopCause.SUSPEND])
def test_stopping_a_task_the_service_does_not_know_is_a_dated_stop(cause: StopCause) -> None:
    assert tr.stop_not_found(ACTIVE, cause, at(0)) == Record(
        state=TaskState.STOPPED, remote_status=1, started_at=at(-100), stopped_at=at(0),
        last_polled_at=at(-2), changed_at=at(0), stop_cause=cause, stop_requested=True,
        failures=2, restart_count=1, **TASK)


@pytest.mark.parametrize(("kind", "attempts", "terminal", "delay"), [
    (ErrorKind.RETRYABLE, 0, False, 1),  # a timeout or a 5xx: retried soon
    (ErrorKind.RETRYABLE, 3, False, 8),
    (ErrorKind.RETRYABLE, 20, False, 300),
    (ErrorKind.TERMINAL, 0, True, 300),
    (ErrorKind.CONFLICT, 0, False, 10),  # never sooner than the URL cooldown
    (ErrorKind.CONFLICT, 5, False, 32),
    (ErrorKind.NOT_FOUND, 0, False, 1),
])
def test_a_failed_call_backs_off_by_kind(kind: ErrorKind, attempts: int, terminal: bool,
                                         delay: float) -> None:
    before = Record(state=TaskState.ACTIVE, error_attempts=attempts, **TASK)
    assert tr.failed_call(before, kind, "Code", "msg", at(0), 7, TIMING) == Record(
        state=TaskState.ACTIVE, error_code="Code", error_message="msg",
        error_terminal=terminal, error_generation=7, error_attempts=attempts + 1,
        next_attempt_at=at(0) + timedelta(seconds=delay), **TASK)


def test_a_refused_start_frees_the_state_and_keeps_the_error() -> None:
    assert tr.start_refused(STARTING, ErrorKind.TERMINAL, "InvalidParam", "bad", at(0), 9,
                            TIMING) == Record(
        state=TaskState.NONE, changed_at=at(-10), error_code="InvalidParam",
        error_message="bad", error_terminal=True, error_generation=9, error_attempts=5,
        next_attempt_at=at(300), **TASK)


def test_write_ahead_starts_a_clean_incarnation() -> None:
    """Everything of the last incarnation that would mislead the next one is reset: its
    stop (a kept ``stop_requested`` would make the new task's failure look like our own
    stop), its times, its error; the counters that span incarnations are kept."""
    ended = Record(task_id="t-1", incarnation=1, state=TaskState.STOPPED, remote_status=5,
                   started_at=at(-100), stopped_at=at(-20), last_polled_at=at(-20),
                   changed_at=at(-100), stop_cause=StopCause.REMOTE, stop_requested=True,
                   applied_immutable="old-i", applied_layout="old-l",
                   stream_key="rtmp://old/x", app_id="old-app", restart_count=1, failures=3,
                   **ERROR)
    d = desired()
    assert tr.write_ahead(ended, "t-2", 2, d, at(0)) == Record(
        task_id="t-2", incarnation=2, state=TaskState.STARTING, last_polled_at=at(-20),
        changed_at=at(0), applied_immutable=d.immutable_fingerprint,
        applied_layout=d.layout_fingerprint, applied_task=EMPTY_TASK, stream_key=KEY,
        app_id="app", restart_count=2, failures=3, released_key="rtmp://old/x",
        released_at=at(-20))
    assert d.immutable_fingerprint and d.layout_fingerprint


def test_write_ahead_without_a_known_url_holds_no_key() -> None:
    record = tr.write_ahead(Record(), "t-1", 1, desired(stream_key=None), at(0))
    assert record.stream_key is None
