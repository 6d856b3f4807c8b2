"""Each call's outcome folded into the record."""

from __future__ import annotations

from mpu_operator.core import transitions as tr
from mpu_operator.core.model import Record, StopCause, TaskState
from mpu_operator.core.timing import Timing
from mpu_operator.rtc.codes import ErrorKind

from .fixtures import at, desired, running_record

TIMING = Timing()


def test_write_ahead_records_the_task_id_before_the_call() -> None:
    record = tr.write_ahead(Record(), "t-1", 1, desired(), at(0))
    assert (record.state, record.task_id, record.incarnation) == (TaskState.STARTING, "t-1", 1)
    assert record.stream_key == "rtmp://push.example.com/live/show"
    assert "SECRET123" not in repr(record)


def test_a_restart_after_an_outside_stop_is_counted_and_a_spec_restart_is_not() -> None:
    ended = running_record(state=TaskState.STOPPED, stop_cause=StopCause.REMOTE)
    assert tr.write_ahead(ended, "t-2", 2, desired(), at(0)).restart_count == 1
    changed = ended.replace(stop_cause=StopCause.SPEC_CHANGE)
    assert tr.write_ahead(changed, "t-2", 2, desired(), at(0)).restart_count == 0


def test_a_poll_that_finds_the_write_ahead_task_adopts_it() -> None:
    starting = tr.write_ahead(Record(), "t-1", 1, desired(), at(0))
    record = tr.polled(starting, 0, at(1), TIMING)
    assert record.state is TaskState.ACTIVE and record.remote_status == 0


def test_a_write_ahead_task_the_service_does_not_know_is_resent_not_replaced() -> None:
    """Its start may still take effect: the TaskId and the URL stay held, and the next
    move is to send the same TaskId again."""
    starting = tr.write_ahead(Record(), "t-1", 1, desired(), at(0))
    missing = tr.vanished(starting, at(1), TIMING)
    assert (missing.state, missing.task_id, missing.retry_start, missing.unconfirmed_since) \
        == (TaskState.STARTING, "t-1", True, at(1))
    again = tr.vanished(missing.replace(retry_start=False), at(5), TIMING)
    assert again.unconfirmed_since == at(1), "the window runs from the first miss"


def test_a_remote_stop_backs_off_exponentially_for_quick_failures() -> None:
    record = running_record(started_at=at(-5))
    first = tr.polled(record, 5, at(0), TIMING)
    assert (first.state, first.stop_cause, first.failures) == (TaskState.STOPPED,
                                                               StopCause.REMOTE, 1)
    assert first.next_attempt_at == at(10)
    again = tr.polled(first.replace(state=TaskState.ACTIVE, started_at=at(1)), 5, at(3), TIMING)
    assert again.failures == 2 and again.next_attempt_at == at(3 + 20)


def test_a_long_healthy_run_resets_the_backoff() -> None:
    record = running_record(started_at=at(-1000), failures=5)
    assert tr.polled(record, 6, at(0), TIMING).failures == 1


def test_backoff_is_capped() -> None:
    record = running_record(started_at=at(-1), failures=20)
    stopped = tr.polled(record, 5, at(0), TIMING)
    assert stopped.next_attempt_at == at(TIMING.backoff_max)


def test_a_requested_stop_is_not_a_failure() -> None:
    stopping = tr.stop_sent(running_record(), StopCause.SUSPEND, at(0))
    stopped = tr.polled(stopping, 3, at(1), TIMING)
    assert (stopped.state, stopped.stop_cause, stopped.next_attempt_at) == (
        TaskState.STOPPED, StopCause.SUSPEND, None)
    assert stopped.stopped_at == at(1)


def test_errors_back_off_and_terminal_ones_slowly() -> None:
    record = tr.failed_call(Record(), ErrorKind.RETRYABLE, "Service.X", "m", at(0), 1, TIMING)
    assert record.next_attempt_at == at(1) and not record.error_terminal
    record = tr.failed_call(record, ErrorKind.RETRYABLE, "Service.X", "m", at(1), 1, TIMING)
    assert record.next_attempt_at == at(3)
    terminal = tr.failed_call(Record(), ErrorKind.TERMINAL, "App.Stop", "m", at(0), 1, TIMING)
    assert terminal.error_terminal and terminal.next_attempt_at == at(TIMING.backoff_max)


def test_a_refused_start_frees_the_task_state() -> None:
    starting = tr.write_ahead(Record(), "t-1", 1, desired(), at(0))
    refused = tr.start_refused(starting, ErrorKind.CONFLICT, "Request.StreamURLInUse", "m",
                               at(1), 1, TIMING)
    assert refused.state is TaskState.NONE
    assert refused.next_attempt_at is not None and refused.next_attempt_at >= at(11)
