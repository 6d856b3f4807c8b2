"""The decision table: one row per rule, each with the action it must produce."""

from __future__ import annotations

import pytest

from mpu_operator.core.decide import (
    Finish,
    Poll,
    Stop,
    Update,
    Wait,
    decide,
    wants_restart,
)
from mpu_operator.core.model import Owner, Phase, Record, StopCause, TaskState, UpdateKind
from mpu_operator.core.reasons import (
    BACKING_OFF,
    INVALID_SPEC,
    QUOTA_EXHAUSTED,
    RESTARTS_DISABLED,
    SECRET_NOT_FOUND,
    TASK_ENDED,
    URL_COOLING_DOWN,
    URL_IN_USE,
    URL_QUEUED,
)
from mpu_operator.core.rules import CoolingDown, InUse, Queued
from mpu_operator.rtc.params import LayoutParams

from .fixtures import ME, at, desired, running_record, situation, start_call

OTHER = Owner(at(-7200), "ns", "older")


def test_a_new_task_starts_with_the_first_incarnation_of_its_derived_id() -> None:
    assert decide(situation()) == start_call("ns-me-abc-1", 1)


def test_a_users_task_id_is_used_as_is_for_the_first_start() -> None:
    d = desired(task_id_base="show-1", task_id_from_spec=True)
    assert decide(situation(d=d)) == start_call("show-1", 1)


@pytest.mark.parametrize(("gate", "reason"), [
    (InUse(OTHER), URL_IN_USE),
    (CoolingDown(at(7)), URL_COOLING_DOWN),
    (Queued(OTHER), URL_QUEUED),
])
def test_a_held_url_makes_a_new_task_wait_pending(gate, reason) -> None:
    action = decide(situation(gate=gate))
    assert isinstance(action, Wait)
    assert (action.phase, action.reason, action.stalled) == (Phase.PENDING, reason, False)


def test_cooldown_wait_ends_exactly_when_the_url_frees() -> None:
    action = decide(situation(gate=CoolingDown(at(7))))
    assert isinstance(action, Wait) and action.until == at(7)


def test_a_holder_in_the_same_namespace_is_named_in_the_message() -> None:
    action = decide(situation(gate=InUse(OTHER), namespace="ns"))
    assert isinstance(action, Wait) and "ns/older" in action.message


@pytest.mark.parametrize("gate", [InUse(OTHER), Queued(OTHER)])
def test_a_holder_in_another_namespace_is_never_named(gate) -> None:
    action = decide(situation(gate=gate, namespace="tenant-b"))
    assert isinstance(action, Wait)
    assert "ns/older" not in action.message and "ns/" not in action.message
    assert "another namespace" in action.message


def test_a_full_quota_makes_it_wait_pending() -> None:
    action = decide(situation(quota_ok=False))
    assert isinstance(action, Wait) and action.reason == QUOTA_EXHAUSTED


def test_a_missing_secret_is_a_waiting_condition_not_a_failure() -> None:
    d = desired(waiting_reason=SECRET_NOT_FOUND, waiting_message="Secret ns/url not found")
    action = decide(situation(d=d))
    assert isinstance(action, Wait)
    assert (action.phase, action.reason, action.stalled) == (Phase.PENDING, SECRET_NOT_FOUND,
                                                            False)


def test_an_invalid_spec_never_reaches_the_service() -> None:
    action = decide(situation(invalid=True, problems=("layout.layoutIds: too many",)))
    assert isinstance(action, Wait)
    assert (action.phase, action.reason, action.stalled) == (Phase.FAILED, INVALID_SPEC, True)
    assert "layout.layoutIds" in action.message


def test_an_invalid_edit_leaves_a_running_task_as_it_runs() -> None:
    action = decide(situation(running_record(), invalid=True, problems=("x: y",)))
    assert isinstance(action, Wait) and action.phase is Phase.RUNNING and action.stalled


def test_a_running_task_in_step_waits_for_its_next_poll() -> None:
    action = decide(situation(running_record(), poll_in=25))
    assert isinstance(action, Wait)
    assert (action.phase, action.until) == (Phase.RUNNING, at(25))


def test_a_due_poll_polls() -> None:
    assert decide(situation(running_record(), poll_in=0)) == Poll("app", "ns-me-abc-1")


def test_status_zero_is_waiting_for_the_channel() -> None:
    action = decide(situation(running_record(remote_status=0)))
    assert isinstance(action, Wait) and action.phase is Phase.WAITING


def test_a_layout_change_is_applied_live() -> None:
    record = running_record()
    d = desired(layout=LayoutParams((1, 6), crop_mode=1))
    assert decide(situation(record, d)) == Update(
        "app", "ns-me-abc-1", UpdateKind.LAYOUT, LayoutParams((1, 6), crop_mode=1),
        d.layout_fingerprint)


@pytest.mark.parametrize("change", [
    {"channel_id": "other"}, {"media_encode": 30}, {"task_profile": "4IN_1080P"},
    {"mix_mode": "Single"}, {"stream_url": "rtmp://push.example.com/live/other"},
])
def test_an_immutable_change_restarts(change) -> None:
    record = running_record()
    d = desired(start_changes=change)
    from mpu_operator.core import fingerprint

    assert d.start is not None
    d = d.__class__(**{**d.__dict__, "immutable_fingerprint":
                       fingerprint.immutable_fingerprint(d.start, d.task_id_base)})
    assert decide(situation(record, d)) == Stop("app", "ns-me-abc-1", StopCause.SPEC_CHANGE)


def test_a_rotated_auth_key_alone_does_not_restart() -> None:
    from mpu_operator.core import fingerprint

    d = desired(start_changes={"stream_url": "rtmp://push.example.com/live/show?auth_key=NEW"})
    assert d.start is not None
    same = fingerprint.immutable_fingerprint(d.start, d.task_id_base)
    assert same == running_record().applied_immutable


def test_suspend_stops_and_resume_starts_a_new_incarnation() -> None:
    record = running_record()
    assert decide(situation(record, desired(suspend=True))) == Stop("app", "ns-me-abc-1",
                                                                   StopCause.SUSPEND)
    stopped = record.replace(state=TaskState.STOPPED, stop_cause=StopCause.SUSPEND,
                             stop_requested=True, remote_status=3, stopped_at=at(-30))
    action = decide(situation(stopped, desired(suspend=True)))
    assert isinstance(action, Wait) and action.phase is Phase.SUSPENDED
    assert decide(situation(stopped)) == start_call("ns-me-abc-2", 2)


def test_starting_and_stopping_are_confirmed_by_polling() -> None:
    starting = running_record(state=TaskState.STARTING, remote_status=None)
    assert decide(situation(starting, poll_in=-1)) == Poll("app", "ns-me-abc-1")
    stopping = running_record(state=TaskState.STOPPING)
    assert decide(situation(stopping, poll_in=-1)) == Poll("app", "ns-me-abc-1")
    action = decide(situation(stopping, poll_in=2))
    assert isinstance(action, Wait) and action.phase is Phase.STOPPING


def _ended(code: int, cause: StopCause = StopCause.REMOTE, **changes) -> Record:
    return running_record(state=TaskState.STOPPED, remote_status=code, stop_cause=cause,
                          stopped_at=at(-20), **changes)


@pytest.mark.parametrize(("policy", "code", "restarts"), [
    ("Always", 4, True), ("Always", 5, True), ("Always", 6, True), ("Always", 3, True),
    ("OnFailure", 4, False), ("OnFailure", 5, True), ("OnFailure", 6, True),
    ("OnFailure", 3, True), ("OnFailure", 2, True),
    ("Never", 4, False), ("Never", 5, False), ("Never", 6, False), ("Never", 3, False),
])
def test_restart_policy_table(policy: str, code: int, restarts: bool) -> None:
    assert wants_restart(_ended(code), policy) is restarts


def test_a_vanished_task_counts_as_an_outside_stop() -> None:
    record = _ended(1, StopCause.VANISHED)
    assert wants_restart(record, "OnFailure") and not wants_restart(record, "Never")


def test_restart_waits_out_its_backoff_then_starts_a_new_incarnation() -> None:
    record = _ended(5, next_attempt_at=at(10))
    d = desired(restart_policy="Always")
    action = decide(situation(record, d))
    assert isinstance(action, Wait)
    assert (action.phase, action.reason, action.until) == (Phase.RESTARTING, BACKING_OFF, at(10))
    assert decide(situation(record, d, now=11)) == start_call("ns-me-abc-2", 2)


def test_never_after_a_failure_is_failed_and_stalled() -> None:
    action = decide(situation(_ended(6), desired(restart_policy="Never")))
    assert isinstance(action, Wait)
    assert (action.phase, action.reason, action.stalled) == (Phase.FAILED, RESTARTS_DISABLED,
                                                            True)


def test_a_normal_end_under_on_failure_is_stopped_not_stalled() -> None:
    action = decide(situation(_ended(4)))
    assert isinstance(action, Wait)
    assert (action.phase, action.reason, action.stalled) == (Phase.STOPPED, TASK_ENDED, False)


def test_a_restart_also_waits_for_the_url_gate() -> None:
    record = _ended(5, next_attempt_at=at(-1))
    action = decide(situation(record, desired(restart_policy="Always"),
                              gate=CoolingDown(at(3))))
    assert isinstance(action, Wait)
    assert (action.phase, action.reason) == (Phase.RESTARTING, URL_COOLING_DOWN)


def test_a_retryable_error_backs_off_but_a_spec_change_goes_first() -> None:
    record = running_record(error_code="Service.Busy", error_message="busy",
                            next_attempt_at=at(8), error_generation=1)
    action = decide(situation(record, poll_in=-1))
    assert isinstance(action, Wait) and action.until == at(8) and not action.stalled
    assert decide(situation(record, desired(suspend=True), generation=2)) == Stop("app",
        "ns-me-abc-1", StopCause.SUSPEND)


def test_a_terminal_error_stalls() -> None:
    record = Record(error_code="Request.IllegalSignature", error_message="bad",
                    error_terminal=True, next_attempt_at=at(300), error_generation=1)
    action = decide(situation(record))
    assert isinstance(action, Wait) and action.stalled and action.phase is Phase.FAILED


def test_deletion_stops_an_active_task_then_finishes() -> None:
    record = running_record()
    assert decide(situation(record, deleting=True)) == Stop("app", "ns-me-abc-1", StopCause.DELETE)
    stopping = record.replace(state=TaskState.STOPPING, stop_requested=True)
    assert decide(situation(stopping, deleting=True, poll_in=-1)) == Poll("app", "ns-me-abc-1")
    stopped = stopping.replace(state=TaskState.STOPPED, stopped_at=at(0))
    assert decide(situation(stopped, deleting=True)) == Finish()


def test_deletion_of_a_never_started_task_finishes_at_once() -> None:
    assert decide(situation(deleting=True)) == Finish()
    assert decide(situation(deleting=True, invalid=True)) == Finish()


def test_deletion_with_orphan_policy_leaves_the_task() -> None:
    action = decide(situation(running_record(), deleting=True, deletion_policy="Orphan"))
    assert action == Finish(orphaned_task="ns-me-abc-1")


def test_deletion_after_a_write_ahead_confirms_before_finishing() -> None:
    starting = running_record(state=TaskState.STARTING, remote_status=None)
    assert decide(situation(starting, deleting=True, poll_in=-1)) == Poll("app", "ns-me-abc-1")


def test_deletion_blocked_by_rejected_credentials_says_the_way_out() -> None:
    record = running_record(error_code="InvalidAccessKeyId.NotFound", error_message="no",
                            error_terminal=True, next_attempt_at=at(300))
    action = decide(situation(record, deleting=True))
    assert isinstance(action, Wait) and "deletionPolicy: Orphan" in action.message


def test_me_is_a_fixed_owner() -> None:
    assert ME.ref == "ns/me"
