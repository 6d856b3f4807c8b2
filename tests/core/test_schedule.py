"""spec.schedule: the pure rules (core/schedule.py) and their rows in the decision table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mpu_operator.core import reasons, schedule
from mpu_operator.core.decide import (
    Forget,
    Poll,
    Stop,
    Wait,
    decide,
    wants_restart,
)
from mpu_operator.core.model import Phase, Record, StopCause, TaskState
from mpu_operator.core.reasons import SECRET_NOT_FOUND, SUSPENDED, TASK_ENDED
from mpu_operator.core.rules import InUse
from mpu_operator.core.status import View, conditions

from .fixtures import ME, at, desired, running_record, situation, start_call

STOPPED = Record(task_id="ns-me-abc-1", incarnation=1, state=TaskState.STOPPED,
                 remote_status=3, stopped_at=at(-30), stop_requested=True,
                 stop_cause=StopCause.SCHEDULE_END)
LIVE_STATES = (TaskState.STARTING, TaskState.ACTIVE, TaskState.STOPPING)


# --- the pure rules -------------------------------------------------------------------

@pytest.mark.parametrize(("start", "stop", "now", "before", "ended"), [
    (None, None, 0, False, False),
    (10, None, 9.999, True, False),
    (10, None, 10, False, False),  # startAt itself is inside the window
    (None, 10, 9.999, False, False),
    (None, 10, 10, False, True),  # stopAt itself is outside it
    (5, 10, 7, False, False),
])
def test_window_edges(start, stop, now, before, ended) -> None:
    d = desired(start_at=None if start is None else at(start),
                stop_at=None if stop is None else at(stop))
    assert schedule.before_start(d, at(now)) is before
    assert schedule.ended(d, at(now)) is ended
    assert schedule.no_resend(d, at(now)) is ended


@pytest.mark.parametrize("state", [TaskState.NONE, TaskState.STOPPED])
def test_before_start_with_nothing_live_holds_scheduled_until_start_at(state) -> None:
    d = desired(start_at=at(3600), stop_at=at(7200))
    held = schedule.hold(d, state, at(0))
    assert held == schedule.Hold(
        Phase.SCHEDULED, reasons.SCHEDULED,
        "scheduled to start at 2026-11-25T13:00:00Z until 2026-11-25T14:00:00Z", at(3600))


def test_scheduled_message_without_stop_at_says_only_when_it_starts() -> None:
    held = schedule.hold(desired(start_at=at(60)), TaskState.NONE, at(0))
    assert held is not None and held.message == "scheduled to start at 2026-11-25T12:01:00Z"


def test_scheduled_message_names_what_must_be_fixed_before_the_start() -> None:
    d = desired(start_at=at(60), waiting_reason=SECRET_NOT_FOUND,
                waiting_message="Secret ns/url not found")
    held = schedule.hold(d, TaskState.NONE, at(0))
    assert held is not None and held.phase is Phase.SCHEDULED
    assert held.message.endswith("(to fix before then: Secret ns/url not found)")


@pytest.mark.parametrize("state", [TaskState.NONE, TaskState.STOPPED])
def test_after_stop_with_nothing_live_holds_stopped_for_good(state) -> None:
    held = schedule.hold(desired(start_at=at(-100), stop_at=at(-1)), state, at(0))
    assert held == schedule.Hold(
        Phase.STOPPED, reasons.SCHEDULE_ENDED,
        "the schedule ended at 2026-11-25T11:59:59Z: no task runs (move "
        "spec.schedule.stopAt later to run again)", None)


@pytest.mark.parametrize("state", LIVE_STATES)
def test_a_live_task_is_never_held(state) -> None:
    for d in (desired(start_at=at(60)), desired(stop_at=at(-1))):
        assert schedule.hold(d, state, at(0)) is None


def test_inside_the_window_nothing_is_held() -> None:
    d = desired(start_at=at(-1), stop_at=at(1))
    assert schedule.hold(d, TaskState.NONE, at(0)) is None
    assert schedule.hold(desired(), TaskState.NONE, at(0)) is None


@pytest.mark.parametrize(("state", "stop"), [
    (TaskState.ACTIVE, True), (TaskState.STARTING, False), (TaskState.STOPPING, False),
    (TaskState.NONE, False), (TaskState.STOPPED, False)])
def test_only_an_active_task_past_stop_at_must_stop(state, stop) -> None:
    assert schedule.must_stop(desired(stop_at=at(0)), state, at(0)) is stop
    assert schedule.must_stop(desired(stop_at=at(1)), state, at(0)) is False


@pytest.mark.parametrize(("stop", "when", "want"), [
    (None, 30, 30),  # no schedule: unchanged
    (10, 30, 10),  # the end comes first: look again at the end
    (40, 30, 30),  # the end comes later: unchanged
    (30, 30, 30),
    (0, 30, 30),  # the end is now or past: nothing to wake for
    (-5, 30, 30),
])
def test_look_by_cuts_a_wait_at_stop_at(stop, when, want) -> None:
    d = desired(stop_at=None if stop is None else at(stop))
    assert schedule.look_by(at(when), d, at(0)) == at(want)
    assert schedule.look_by(at(when), None, at(0)) == at(when)


def test_iso_is_utc_to_the_second() -> None:
    assert schedule.iso(datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC)) == "2026-01-02T03:04:05Z"


# --- rows of the decision table -------------------------------------------------------

def test_before_start_at_nothing_starts_and_it_looks_again_exactly_then() -> None:
    action = decide(situation(d=desired(start_at=at(3600))))
    assert isinstance(action, Wait)
    assert (action.phase, action.reason, action.until, action.stalled) == (
        Phase.SCHEDULED, reasons.SCHEDULED, at(3600), False)
    assert action.message == "scheduled to start at 2026-11-25T13:00:00Z"


def test_at_start_at_it_starts() -> None:
    assert decide(situation(d=desired(start_at=at(0)))) == start_call("ns-me-abc-1", 1)


def test_at_start_at_the_url_rule_still_applies() -> None:
    action = decide(situation(d=desired(start_at=at(-1)), gate=InUse(ME)))
    assert isinstance(action, Wait) and action.phase is Phase.PENDING


def test_before_start_at_the_gate_is_not_even_shown() -> None:
    action = decide(situation(d=desired(start_at=at(60)), gate=InUse(ME), quota_ok=False))
    assert isinstance(action, Wait) and action.reason == reasons.SCHEDULED


def test_a_running_task_is_left_running_when_start_at_moves_later() -> None:
    d = desired(start_at=at(3600))
    action = decide(situation(running_record(d), d))
    assert isinstance(action, Wait) and action.phase is Phase.RUNNING


def test_a_task_stopped_before_start_at_waits_for_it_to_start_again() -> None:
    d = desired(start_at=at(60))
    r = running_record(d, state=TaskState.STOPPED, stop_cause=StopCause.SPEC_CHANGE,
                       stop_requested=True)
    action = decide(situation(r, d))
    assert isinstance(action, Wait) and action.reason == reasons.SCHEDULED


def test_at_stop_at_a_live_task_stops_whatever_the_channel_does() -> None:
    d = desired(stop_at=at(0))
    for remote in (0, 1):
        action = decide(situation(running_record(d, remote_status=remote), d))
        assert action == Stop("app", "ns-me-abc-1", StopCause.SCHEDULE_END)


def test_at_stop_at_the_stop_goes_before_a_due_poll_or_a_pending_edit() -> None:
    d = desired(stop_at=at(-1))
    r = running_record(d, applied_layout="old", applied_immutable="old")
    assert decide(situation(r, d, poll_in=-5)) == Stop("app", "ns-me-abc-1", StopCause.SCHEDULE_END)


def test_a_failed_stop_at_stop_at_backs_off_and_is_retried() -> None:
    d = desired(stop_at=at(-10))
    r = running_record(d, error_code="Throttling", error_message="slow down",
                       next_attempt_at=at(2), error_generation=1)
    action = decide(situation(r, d))
    assert isinstance(action, Wait) and action.until == at(2)
    assert decide(situation(r, d, now=2)) == Stop("app", "ns-me-abc-1", StopCause.SCHEDULE_END)


def test_a_stop_in_flight_past_stop_at_is_confirmed_by_polling() -> None:
    d = desired(stop_at=at(-10))
    r = running_record(d, state=TaskState.STOPPING, stop_requested=True,
                       stop_cause=StopCause.SCHEDULE_END, remote_status=1)
    assert decide(situation(r, d, poll_in=0)) == Poll("app", "ns-me-abc-1")


def test_after_stop_at_it_stays_stopped_whatever_the_restart_policy() -> None:
    d = desired(start_at=at(-100), stop_at=at(-60), restart_policy="Always")
    for r in (STOPPED, STOPPED.replace(stop_cause=StopCause.REMOTE, stop_requested=False,
                                       remote_status=5), Record()):
        action = decide(situation(r, d))
        assert isinstance(action, Wait)
        assert (action.phase, action.reason, action.until) == (
            Phase.STOPPED, reasons.SCHEDULE_ENDED, None)


def test_an_unconfirmed_start_is_not_resent_after_stop_at() -> None:
    d = desired(stop_at=at(-1))
    r = running_record(d, state=TaskState.STARTING, remote_status=None, retry_start=True,
                       unconfirmed_since=at(-5))
    action = decide(situation(r, d, poll_in=0, start_window=30.0))
    assert action == Poll("app", "ns-me-abc-1")  # not Start(..., retry=True)
    action = decide(situation(r, d, poll_in=1, start_window=30.0))
    assert isinstance(action, Wait) and action.until == at(1)
    assert decide(situation(r, d, start_window=4.0)) == Forget("ns-me-abc-1")


def test_an_unconfirmed_start_is_still_resent_inside_the_window() -> None:
    d = desired(stop_at=at(60))
    r = running_record(d, state=TaskState.STARTING, remote_status=None, retry_start=True,
                       unconfirmed_since=at(-5))
    assert decide(situation(r, d)) == start_call("ns-me-abc-1", 1, retry=True)


def test_moving_stop_at_later_runs_a_schedule_stopped_task_again() -> None:
    d = desired(stop_at=at(3600), restart_policy="Never")
    assert wants_restart(STOPPED, "Never")
    assert decide(situation(STOPPED, d)) == start_call("ns-me-abc-2", 2)


def test_a_running_task_whose_stop_at_moves_later_keeps_running_and_wakes_at_the_end() -> None:
    d = desired(stop_at=at(5))
    action = decide(situation(running_record(d), d, poll_in=30))
    assert isinstance(action, Wait) and action.phase is Phase.RUNNING
    assert action.until == at(5)  # not the poll at +30 s: the stop is on time


def test_every_wait_inside_the_window_ends_by_stop_at() -> None:
    d = desired(stop_at=at(3))
    action = decide(situation(d=d, gate=InUse(ME)))  # recheck at +5 s
    assert isinstance(action, Wait) and action.until == at(3)


def test_suspend_wins_over_the_schedule() -> None:
    for d in (desired(start_at=at(60), suspend=True), desired(stop_at=at(-1), suspend=True)):
        action = decide(situation(d=d))
        assert isinstance(action, Wait) and action.reason == SUSPENDED
    d = desired(stop_at=at(-1), suspend=True)
    assert decide(situation(running_record(d), d)) == Stop("app", "ns-me-abc-1", StopCause.SUSPEND)


def test_an_invalid_spec_has_no_schedule() -> None:
    action = decide(situation(invalid=True, problems=("schedule.startAt: bad",)))
    assert isinstance(action, Wait) and action.phase is Phase.FAILED


def test_deleting_a_scheduled_task_finishes_at_once() -> None:
    from mpu_operator.core.decide import Finish
    assert decide(situation(d=desired(start_at=at(3600)), deleting=True)) == Finish()


def test_a_task_ended_by_itself_inside_the_window_follows_the_restart_policy() -> None:
    d = desired(start_at=at(-100), stop_at=at(100), restart_policy="Never")
    r = STOPPED.replace(stop_cause=StopCause.REMOTE, stop_requested=False, remote_status=2)
    action = decide(situation(r, d))
    assert isinstance(action, Wait) and action.reason == TASK_ENDED


# --- what users see -------------------------------------------------------------------

def _ready(phase: Phase, reason: str, *, suspend: bool = False) -> dict[str, str]:
    view = View(phase=phase, reason=reason, message="m", suspend=suspend)
    found = conditions(Record(), view, 1, None, at(0))
    return {c["type"]: c["status"] for c in found}


def test_scheduled_is_ready_and_not_reconciling() -> None:
    assert _ready(Phase.SCHEDULED, reasons.SCHEDULED) == {
        "Ready": "True", "Streaming": "False", "Reconciling": "False", "Stalled": "False"}
    assert _ready(Phase.STOPPED, reasons.SCHEDULE_ENDED)["Ready"] == "True"
    assert _ready(Phase.SCHEDULED, reasons.SCHEDULED, suspend=True)["Ready"] == "False"
