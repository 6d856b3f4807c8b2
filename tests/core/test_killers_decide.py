"""Every Wait that ``decide`` produces, spelt out whole: phase, reason, message, when to look
again, and whether it is stalled. Users read these in ``kubectl get``/``describe``; the
times decide when the operator looks again. Also the boundaries (``now`` exactly at a
deadline) and ``phase_of_record`` as a table.
"""

from __future__ import annotations

import pytest

from mpu_operator.core.decide import (
    Finish,
    Poll,
    Stop,
    Wait,
    decide,
    phase_of_record,
    wants_restart,
)
from mpu_operator.core.model import Owner, Phase, Record, StopCause, TaskState
from mpu_operator.core.rules import CoolingDown, InUse, Queued

from .fixtures import at, desired, running_record, situation, start_call

OTHER = Owner(at(-7200), "ns", "older")
TASK = "ns-me-abc-1"


def _ended(code: int | None, cause: StopCause = StopCause.REMOTE, **changes: object) -> Record:
    return running_record(state=TaskState.STOPPED, remote_status=code, stop_cause=cause,
                          stopped_at=at(-20), **changes)


# --- a live task ------------------------------------------------------------------------

def test_a_running_task_waits_for_its_poll() -> None:
    assert decide(situation(running_record())) == Wait(
        Phase.RUNNING, "Running", "the service is mixing and pushing the stream", at(10))


def test_a_waiting_task_waits_for_its_poll() -> None:
    assert decide(situation(running_record(remote_status=0))) == Wait(
        Phase.WAITING, "WaitingForChannel",
        "started; the service waits for someone to join the channel", at(10))


def test_a_poll_is_due_exactly_at_its_time() -> None:
    assert decide(situation(running_record(), poll_in=0)) == Poll("app", TASK)


# --- API errors -------------------------------------------------------------------------

def _erring(**changes: object) -> Record:
    fields: dict[str, object] = {"error_code": "Service.Busy", "error_message": "busy",
                                 "next_attempt_at": at(8), "error_generation": 1}
    return running_record(**{**fields, **changes})


def test_a_retryable_error_waits_with_its_code_and_message() -> None:
    assert decide(situation(_erring())) == Wait(
        Phase.RUNNING, "APIError", "Service.Busy: busy; retrying", at(8))


def test_an_error_without_a_message_shows_its_code() -> None:
    assert decide(situation(_erring(error_message=None))) == Wait(
        Phase.RUNNING, "APIError", "Service.Busy:; retrying", at(8))


def test_the_back_off_ends_exactly_at_its_time() -> None:
    action = decide(situation(_erring(), now=8, poll_in=10))
    assert action == Wait(Phase.RUNNING, "Running",
                          "the service is mixing and pushing the stream", at(18))


def test_an_undated_error_generation_blocks_whatever_the_generation() -> None:
    action = decide(situation(_erring(error_generation=None), generation=5))
    assert isinstance(action, Wait) and action.reason == "APIError"


def test_a_terminal_error_on_a_live_task_keeps_its_phase_and_stalls() -> None:
    record = _erring(error_code="Forbidden.RAM", error_message="denied", error_terminal=True,
                     next_attempt_at=at(300))
    assert decide(situation(record)) == Wait(
        Phase.RUNNING, "ServiceRejected",
        "Forbidden.RAM: denied; a person must act (retrying slowly)", at(300), stalled=True)


def test_a_terminal_error_without_a_task_is_failed() -> None:
    record = Record(error_code="Forbidden.RAM", error_message="denied", error_terminal=True,
                    next_attempt_at=at(300), error_generation=1)
    assert decide(situation(record)) == Wait(
        Phase.FAILED, "ServiceRejected",
        "Forbidden.RAM: denied; a person must act (retrying slowly)", at(300), stalled=True)


# --- confirming a start or a stop -------------------------------------------------------

@pytest.mark.parametrize(("state", "incarnation", "phase", "reason", "verb"), [
    (TaskState.STARTING, 1, Phase.STARTING, "ConfirmingStart", "start"),
    (TaskState.STARTING, 2, Phase.RESTARTING, "ConfirmingStart", "start"),
    (TaskState.STOPPING, 1, Phase.STOPPING, "ConfirmingStop", "stop"),
])
def test_confirming_waits_for_the_fast_poll(state: TaskState, incarnation: int, phase: Phase,
                                            reason: str, verb: str) -> None:
    record = running_record(state=state, incarnation=incarnation, remote_status=None)
    assert decide(situation(record, poll_in=2)) == Wait(
        phase, reason, f"waiting for the service to confirm the {verb} of task {TASK}", at(2))
    assert decide(situation(record, poll_in=0)) == Poll("app", TASK)


def test_a_task_state_without_a_task_id_is_a_bug_that_says_so() -> None:
    with pytest.raises(AssertionError,
                       match=r"^a task state other than None implies a TaskId$"):
        decide(situation(Record(state=TaskState.STARTING), poll_in=0))


# --- deletion ---------------------------------------------------------------------------

@pytest.mark.parametrize(("terminal", "reason"), [(True, "ServiceRejected"),
                                                  (False, "APIError")])
def test_deletion_blocked_by_an_error_says_the_way_out(terminal: bool, reason: str) -> None:
    record = _erring(error_code="C", error_message="m", error_terminal=terminal)
    assert decide(situation(record, deleting=True)) == Wait(
        Phase.STOPPING, reason,
        "cannot stop the task yet: C: m; set spec.deletionPolicy: Orphan to let go without "
        "stopping it", at(8), stalled=terminal)


def test_deletion_blocked_by_an_error_without_a_message() -> None:
    action = decide(situation(_erring(error_code="C", error_message=None), deleting=True))
    assert isinstance(action, Wait)
    assert action.message.startswith("cannot stop the task yet: C: ; set")


def test_deletion_retries_the_stop_exactly_when_the_back_off_ends() -> None:
    assert decide(situation(_erring(), deleting=True, now=8)) == Stop("app", TASK, StopCause.DELETE)


def test_an_error_without_a_back_off_does_not_block_deletion() -> None:
    record = _erring(next_attempt_at=None)
    assert decide(situation(record, deleting=True)) == Stop("app", TASK, StopCause.DELETE)


def test_orphaning_a_stopped_task_names_no_task() -> None:
    assert decide(situation(_ended(3), deleting=True, deletion_policy="Orphan")) == Finish()


# --- an ended task, restarts, gates, quota ---------------------------------------------

@pytest.mark.parametrize("code", [5, 6])
def test_a_failure_under_never_is_failed_and_says_how_to_restart(code: int) -> None:
    assert decide(situation(_ended(code), desired(restart_policy="Never"))) == Wait(
        Phase.FAILED, "RestartsDisabled",
        f"the task failed (status {code}) and restartPolicy is Never; toggle spec.suspend "
        "to start it again", stalled=True)


def test_a_normal_end_says_how_to_restart() -> None:
    assert decide(situation(_ended(4))) == Wait(
        Phase.STOPPED, "TaskEnded",
        "the task ended (status 4); restartPolicy OnFailure does not restart it; toggle "
        "spec.suspend to start it again")


def test_a_task_deleted_by_us_is_never_restarted_whatever_the_policy() -> None:
    assert wants_restart(_ended(3, StopCause.DELETE), "Always") is False


def test_suspended_waits_without_a_deadline() -> None:
    assert decide(situation(d=desired(suspend=True))) == Wait(
        Phase.SUSPENDED, "Suspended", "suspended: no task runs")


def test_a_restart_back_off_counts_the_restart_it_waits_for() -> None:
    record = _ended(5, next_attempt_at=at(10), restart_count=2)
    d = desired(restart_policy="Always")
    assert decide(situation(record, d)) == Wait(
        Phase.RESTARTING, "BackingOff", "restart 3 backs off after status 5", at(10))
    assert decide(situation(record, d, now=10)) == start_call("ns-me-abc-2", 2)


def test_a_missing_secret_waits_with_the_shells_reason_and_message() -> None:
    d = desired(waiting_reason="SecretNotFound", waiting_message="Secret s has no key k")
    assert decide(situation(d=d)) == Wait(
        Phase.PENDING, "SecretNotFound", "Secret s has no key k", at(5))


@pytest.mark.parametrize(("record", "phase"), [
    (Record(), Phase.PENDING),
    (_ended(5, next_attempt_at=at(-1)), Phase.RESTARTING),
])
def test_gate_and_quota_waits_are_exact(record: Record, phase: Phase) -> None:
    d = desired(restart_policy="Always")
    assert decide(situation(record, d, gate=InUse(OTHER), namespace="ns")) == Wait(
        phase, "StreamURLInUse", "the stream URL is in use by MPUTask ns/older", at(5))
    assert decide(situation(record, d, gate=CoolingDown(at(7)))) == Wait(
        phase, "StreamURLCoolingDown",
        "the stream URL is cooling down until 2026-11-25T12:00:07Z (the service forbids "
        "reuse within 10 s of a stop)", at(7))
    assert decide(situation(record, d, gate=Queued(OTHER), namespace="ns")) == Wait(
        phase, "StreamURLQueued", "the stream URL goes first to the older MPUTask ns/older",
        at(5))
    assert decide(situation(record, d, quota_ok=False)) == Wait(
        phase, "QuotaExhausted", "app app has reached its concurrent task quota", at(5))


# --- an invalid spec --------------------------------------------------------------------

def test_an_invalid_spec_without_a_task_fails_with_every_problem() -> None:
    assert decide(situation(invalid=True, problems=("a: bad", "b: worse"))) == Wait(
        Phase.FAILED, "InvalidSpec", "a: bad; b: worse", None, stalled=True)
    assert decide(situation(invalid=True)) == Wait(
        Phase.FAILED, "InvalidSpec", "invalid spec", None, stalled=True)


def test_an_invalid_edit_of_a_live_task_keeps_polling_it() -> None:
    record = running_record()
    assert decide(situation(record, invalid=True, problems=("a: bad",))) == Wait(
        Phase.RUNNING, "InvalidSpec",
        "a: bad (the running task keeps its last valid settings)", at(10), stalled=True)
    assert decide(situation(record, invalid=True, poll_in=0)) == Poll("app", TASK)


# --- the phase a record implies ---------------------------------------------------------

@pytest.mark.parametrize(("record", "phase"), [
    (Record(), Phase.PENDING),
    (Record(task_id="t", state=TaskState.STARTING, incarnation=0), Phase.STARTING),
    (Record(task_id="t", state=TaskState.STARTING, incarnation=1), Phase.STARTING),
    (Record(task_id="t", state=TaskState.STARTING, incarnation=2), Phase.RESTARTING),
    (Record(task_id="t", state=TaskState.ACTIVE, remote_status=1), Phase.RUNNING),
    (Record(task_id="t", state=TaskState.ACTIVE, remote_status=0), Phase.WAITING),
    (Record(task_id="t", state=TaskState.ACTIVE, remote_status=None), Phase.STARTING),
    (Record(task_id="t", state=TaskState.STOPPING, remote_status=1), Phase.STOPPING),
    (Record(task_id="t", state=TaskState.STOPPED, remote_status=4), Phase.STOPPED),
    (Record(task_id="t", state=TaskState.STOPPED, remote_status=5), Phase.FAILED),
    (Record(task_id="t", state=TaskState.STOPPED, remote_status=6), Phase.FAILED),
    (Record(task_id="t", state=TaskState.STOPPED, remote_status=7), Phase.STOPPED),
    (Record(task_id="t", state=TaskState.STOPPED, remote_status=None), Phase.STOPPED),
])
def test_phase_of_record(record: Record, phase: Phase) -> None:
    assert phase_of_record(record) is phase
