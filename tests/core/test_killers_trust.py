"""The trust rules of the core spelt out to the letter: the Waits a taken or contested TaskId
shows (whole, with their messages and times), the claims and TaskId bases read from raw
objects (missing and junk fields included), the folds of an unconfirmed start as literal
records, and the clock-skew clamp at its defaults.

Expected values are written out: TaskId bases with their uid hashes (sha256("")[:8] is
e3b0c442, sha256("abc")[:8] is ba7816bf), back-offs from the default Timing (300 s for
an error a person must fix).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mpu_operator.core import transitions as tr
from mpu_operator.core.decide import Wait, acting_task_id, decide
from mpu_operator.core.ledger import EPOCH, claim_for, owner_of, task_id_base, uses_of
from mpu_operator.core.model import Owner, Phase, Record, TaskState
from mpu_operator.core.rules import IdClaim, InUse, Queued, UrlUse, task_id_taken
from mpu_operator.core.status import clamp_future
from mpu_operator.core.timing import Timing
from mpu_operator.rtc.codes import ErrorKind

from .fixtures import EMPTY_TASK, at, desired, running_record, situation

TIMING = Timing()
KEY = "rtmp://push.example.com/live/show"
ELSEWHERE = Owner(at(-7200), "tenant-a", "show", "uid-a")
TAKEN_HINT = "set a different spec.taskId"


# --- a TaskId another MPUTask owns ------------------------------------------------------

def test_a_taken_taskid_names_the_next_taskid_and_the_specs_app() -> None:
    """A fresh object: the TaskId is the first incarnation's, the app the spec's (the record
    has none yet)."""
    action = decide(situation(Record(), desired(app_id="app7"), task_id_taken=True))
    assert action == Wait(
        Phase.PENDING, "TaskIdInUse",
        "TaskId ns-me-abc-1 belongs to another MPUTask of app app7; set a different "
        "spec.taskId", at(5), stalled=True)


def test_a_taken_taskid_under_an_invalid_spec_names_the_records_task_and_app() -> None:
    record = running_record(app_id="app9")
    action = decide(situation(record, invalid=True, task_id_taken=True))
    assert action == Wait(
        Phase.PENDING, "TaskIdInUse",
        "TaskId ns-me-abc-1 belongs to another MPUTask of app app9; set a different "
        "spec.taskId", at(5), stalled=True)


def test_the_acting_taskid_of_a_users_own_taskid_is_it_unsuffixed_at_first() -> None:
    own = desired(task_id_base="my-show", task_id_from_spec=True)
    assert acting_task_id(Record(), own) == "my-show"
    ended = Record(task_id="my-show", incarnation=1, state=TaskState.STOPPED)
    assert acting_task_id(ended, own) == "my-show-2"


def test_a_start_the_service_refused_as_anothers_waits_with_the_whole_story() -> None:
    """After start_taken: Pending (nothing runs), the service's word plus what to do."""
    message = ("the service already has a task with TaskId ns-me-abc-1 that this MPUTask "
               "did not start (Request.ExistTask)")
    record = Record(task_id="ns-me-abc-1", incarnation=1, state=TaskState.NONE,
                    error_code="TaskIdInUse", error_message=message, error_terminal=True,
                    error_generation=1, error_attempts=1, next_attempt_at=at(299))
    assert decide(situation(record)) == Wait(
        Phase.PENDING, "TaskIdInUse",
        f"{message}; set a different spec.taskId (retrying slowly with the next TaskId)",
        at(299), stalled=True)


# --- holders in other namespaces are not named ------------------------------------------

def test_a_url_held_in_another_namespace_names_no_one() -> None:
    action = decide(situation(Record(), gate=InUse(ELSEWHERE), namespace="tenant-b"))
    assert action == Wait(Phase.PENDING, "StreamURLInUse",
                          "the stream URL is in use by MPUTask in another namespace", at(5))


def test_a_queue_ahead_in_another_namespace_names_no_one() -> None:
    action = decide(situation(Record(), gate=Queued(ELSEWHERE), namespace="tenant-b"))
    assert action == Wait(Phase.PENDING, "StreamURLQueued",
                          "the stream URL goes first to the older MPUTask in another "
                          "namespace", at(5))


# --- a spec that lost a part (its URL Secret) -------------------------------------------

@pytest.mark.parametrize(("code", "phase"), [(1, Phase.RUNNING), (0, Phase.WAITING)])
@pytest.mark.parametrize("stalled", [False, True])
def test_a_live_task_whose_url_secret_fails_warns_and_goes_on(code: int, phase: Phase,
                                                              stalled: bool) -> None:
    d = desired(waiting_reason="SecretNotFound", waiting_message="streamURLFrom: gone",
                waiting_stalled=stalled)
    action = decide(situation(running_record(d, remote_status=code), d))
    assert action == Wait(
        phase, "SecretNotFound",
        "streamURLFrom: gone (the running task goes on with the settings it was started "
        "with)", at(10), stalled=stalled)


def test_an_idle_object_with_a_broken_url_secret_is_stalled() -> None:
    d = desired(waiting_reason="InvalidStreamURL", waiting_message="streamURLFrom: not rtmp",
                waiting_stalled=True)
    assert decide(situation(Record(), d)) == Wait(
        Phase.PENDING, "InvalidStreamURL", "streamURLFrom: not rtmp", at(5), stalled=True)


# --- claims and TaskId bases from raw objects -------------------------------------------

ME_U = Owner(at(0), "ns", "me", "u")
META = {"namespace": "ns", "name": "me", "uid": "abc"}


def test_a_derived_base_is_namespace_name_and_the_uid_hash() -> None:
    assert task_id_base({}, META) == "ns-me-ba7816bf"


@pytest.mark.parametrize("given", ["", 5, None, ["x"]])
def test_a_spec_taskid_that_is_no_string_or_empty_is_ignored(given: object) -> None:
    assert task_id_base({"taskId": given}, META) == "ns-me-ba7816bf"


def test_a_base_without_metadata_is_the_hash_of_no_uid() -> None:
    assert task_id_base({}, {}) == "e3b0c442"
    assert task_id_base({}, {"namespace": None, "name": "", "uid": None}) == "e3b0c442"


def test_an_owner_without_a_uid_has_an_empty_one() -> None:
    assert owner_of({"metadata": {"namespace": "ns", "name": "a"}}) == \
        Owner(EPOCH, "ns", "a", "")


def test_a_claim_takes_the_app_from_the_spec() -> None:
    assert claim_for(ME_U, {"appId": "app", "taskId": "X"}, META, Record(app_id="old")) == \
        IdClaim(ME_U, "app", "X", None)


@pytest.mark.parametrize("app", [None, "", 7])
def test_a_claim_without_a_usable_app_in_the_spec_takes_the_records(app: object) -> None:
    assert claim_for(ME_U, {"appId": app}, META, Record(app_id="rec")) == \
        IdClaim(ME_U, "rec", "ns-me-ba7816bf", None)


@pytest.mark.parametrize("spec", [{}, {"appId": ""}, {"appId": 7}])
def test_a_claim_with_no_app_anywhere_has_an_empty_one(spec: dict[str, object]) -> None:
    assert claim_for(ME_U, spec, {}, Record()) == IdClaim(ME_U, "", "e3b0c442", None)


def test_a_record_in_state_none_claims_no_current_taskid() -> None:
    """A refused or forgotten start leaves its TaskId in the record, but names no task."""
    refused = Record(task_id="X-2", incarnation=2, state=TaskState.NONE, app_id="app")
    assert claim_for(ME_U, {"appId": "app", "taskId": "X"}, META, refused) == \
        IdClaim(ME_U, "app", "X", None)
    held = refused.replace(state=TaskState.STOPPED)
    assert claim_for(ME_U, {"appId": "app", "taskId": "X"}, META, held) == \
        IdClaim(ME_U, "app", "X", "X-2")


def test_uses_read_with_the_real_clock_keep_a_past_stop() -> None:
    """Without ``now`` the clamp uses the wall clock (aware: status times are UTC)."""
    status = {"phase": "Stopped", "taskId": "t-1", "stoppedAt": "2020-01-01T00:00:00Z",
              "startedAt": "2019-12-31T23:00:00Z", "nextAttemptAt": "2020-01-01T00:00:10Z",
              "internal": {"state": "Stopped", "streamKey": KEY, "appId": "app"}}
    body = {"metadata": {"namespace": "ns", "name": "a", "uid": "u",
                         "creationTimestamp": "2019-01-01T00:00:00Z"},
            "spec": {"appId": "app", "streamURL": KEY}, "status": status}
    assert uses_of(body, at(0)) == [
        UrlUse(Owner(datetime(2019, 1, 1, tzinfo=UTC), "ns", "a", "u"), KEY, "app",
               active=False, released_at=datetime(2020, 1, 1, tzinfo=UTC))]


# --- who owns a contested TaskId --------------------------------------------------------

YOUNGER = Owner(at(-60), "tenant-b", "copy", "uid-b")


def test_claims_before_the_older_owners_do_not_hide_it() -> None:
    """Own claims and other apps' are skipped, not the end of the search."""
    me = IdClaim(YOUNGER, "app", "X", None)
    claims = [IdClaim(ELSEWHERE, "other", "X", None), me, IdClaim(ELSEWHERE, "app", "X", None)]
    assert task_id_taken(me, "X", claims)


def test_a_tie_in_seniority_blocks_neither() -> None:
    """Objects no uid tells apart, created in the same second: neither yields (both would
    wait for ever); the service's refusal of the second start decides."""
    first = IdClaim(Owner(at(0), "a", "a", ""), "app", "X", None)
    second = IdClaim(Owner(at(0), "b", "b", ""), "app", "X", None)
    assert not task_id_taken(first, "X", [second])
    assert not task_id_taken(second, "X", [first])


# --- the folds of an unconfirmed start --------------------------------------------------

TASK = {"task_id": "t-1", "incarnation": 1, "stream_key": KEY, "app_id": "app",
        "applied_immutable": "imm", "applied_layout": "lay"}
UNCONFIRMED = Record(state=TaskState.STARTING, changed_at=at(-10), last_polled_at=at(-1),
                     retry_start=True, unconfirmed_since=at(-5), **TASK)


def test_a_resent_start_that_succeeds_is_confirmed() -> None:
    assert tr.started(UNCONFIRMED, at(2)) == Record(
        state=TaskState.ACTIVE, started_at=at(2), changed_at=at(2), last_polled_at=at(-1),
        **TASK)


def test_a_forgotten_start_is_nothing_and_confirmed() -> None:
    assert tr.forget_start(UNCONFIRMED) == Record(
        state=TaskState.NONE, changed_at=at(-10), last_polled_at=at(-1), **TASK)


@pytest.mark.parametrize(("kind", "terminal", "until"), [
    (ErrorKind.TERMINAL, True, at(300)),
    (ErrorKind.RETRYABLE, False, at(1)),
    (ErrorKind.CONFLICT, False, at(10)),
])
def test_a_failed_resend_keeps_the_taskid_and_records_the_error(
        kind: ErrorKind, terminal: bool, until: datetime) -> None:
    assert tr.retry_failed(UNCONFIRMED, kind, "Forbidden", "no access", at(0), 4,
                           TIMING) == Record(
        state=TaskState.STARTING, changed_at=at(-10), last_polled_at=at(-1),
        unconfirmed_since=at(-5), error_code="Forbidden", error_message="no access",
        error_terminal=terminal, error_generation=4, error_attempts=1,
        next_attempt_at=until, **TASK)


def test_a_start_found_taken_is_nothing_confirmed_and_a_slow_terminal_error() -> None:
    assert tr.start_taken(UNCONFIRMED, "Request.ExistTask", at(0), 2, TIMING) == Record(
        state=TaskState.NONE, changed_at=at(-10), last_polled_at=at(-1),
        error_code="TaskIdInUse",
        error_message="the service already has a task with TaskId t-1 that this MPUTask "
                      "did not start (Request.ExistTask)",
        error_terminal=True, error_generation=2, error_attempts=1, next_attempt_at=at(300),
        **TASK)


def test_a_write_ahead_is_a_confirmed_record_whatever_came_before() -> None:
    d = desired(immutable_fingerprint="imm2", layout_fingerprint="lay2")
    stale = Record(task_id="t-1", incarnation=1, state=TaskState.NONE, retry_start=True,
                   unconfirmed_since=at(-5))
    assert tr.write_ahead(stale, "t-2", 2, d, at(0)) == Record(
        task_id="t-2", incarnation=2, state=TaskState.STARTING, changed_at=at(0),
        applied_immutable="imm2", applied_layout="lay2", applied_task=EMPTY_TASK,
        stream_key=KEY, app_id="app")


# --- clocks that run ahead, at the defaults ---------------------------------------------

def test_a_retry_time_is_held_to_an_hour_ahead_by_default() -> None:
    assert clamp_future(Record(next_attempt_at=at(7200)), at(0)) == \
        Record(next_attempt_at=at(3600))
    assert clamp_future(Record(next_attempt_at=at(3599)), at(0)) == \
        Record(next_attempt_at=at(3599))
