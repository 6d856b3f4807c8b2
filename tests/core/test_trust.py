"""Trust rules of the core: TaskId ownership across namespaces, one task per start whose
answer was lost, suspend over an ended task, and clocks that run ahead."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mpu_operator.core import reasons
from mpu_operator.core import transitions as tr
from mpu_operator.core.decide import (
    Acknowledge,
    Finish,
    Forget,
    Poll,
    Start,
    Stop,
    Wait,
    acting_task_id,
    decide,
)
from mpu_operator.core.ledger import Ledger, claim_of
from mpu_operator.core.model import Owner, Phase, Record, StopCause, TaskState
from mpu_operator.core.reasons import INVALID_STREAM_URL, SECRET_NOT_FOUND
from mpu_operator.core.rules import IdClaim, task_id_taken
from mpu_operator.core.status import clamp_future, record_from_status, record_to_status
from mpu_operator.core.timing import Timing
from mpu_operator.rtc.codes import ErrorKind

from .fixtures import ME, at, desired, running_record, shows, situation, start_call

TIMING = Timing()
OLDER = Owner(at(-7200), "tenant-a", "show", "uid-a")
YOUNGER = Owner(at(-60), "tenant-b", "copy", "uid-b")


def claim(owner: Owner, base: str = "X", current: str | None = None,
          app: str = "app") -> IdClaim:
    return IdClaim(owner, app, base, current)


# --- who owns a TaskId -------------------------------------------------------------------

def test_a_younger_object_never_starts_a_base_an_older_one_claims() -> None:
    assert task_id_taken(claim(YOUNGER), "X", [claim(OLDER)])
    assert not task_id_taken(claim(OLDER), "X", [claim(YOUNGER)])


def test_a_taskid_another_object_runs_is_its_own_whatever_the_age() -> None:
    assert task_id_taken(claim(OLDER, base="Y"), "X", [claim(YOUNGER, current="X")])


def test_a_running_task_stays_with_the_object_that_runs_it() -> None:
    """The younger started X before the older claimed base X: its live task is its own."""
    me = claim(YOUNGER, current="X")
    assert not task_id_taken(me, "X", [claim(OLDER, current="Y")])


def test_when_two_records_name_one_task_the_older_keeps_it() -> None:
    assert task_id_taken(claim(YOUNGER, current="X"), "X", [claim(OLDER, current="X")])
    assert not task_id_taken(claim(OLDER, current="X"), "X", [claim(YOUNGER, current="X")])


def test_another_apps_taskid_is_another_task() -> None:
    assert not task_id_taken(claim(YOUNGER), "X", [claim(OLDER, app="other")])
    assert not task_id_taken(claim(YOUNGER), "X", [claim(OLDER, current="X", app="other")])


def test_a_later_incarnation_that_is_an_older_objects_base_is_taken() -> None:
    assert task_id_taken(claim(YOUNGER, base="X"), "X-2", [claim(OLDER, base="X-2")])


def test_one_second_ties_are_broken_by_uid() -> None:
    first = Owner(at(0), "z", "z", "uid-1")
    second = Owner(at(0), "a", "a", "uid-2")
    assert task_id_taken(claim(second), "X", [claim(first)])
    assert not task_id_taken(claim(first), "X", [claim(second)])


def test_an_object_never_competes_with_itself() -> None:
    assert not task_id_taken(claim(YOUNGER), "X", [claim(YOUNGER, current="X")])


def test_the_cluster_shows_every_objects_claim() -> None:
    body = {"metadata": {"namespace": "tenant-b", "name": "copy", "uid": "uid-b",
                         "creationTimestamp": "2026-11-25T11:59:00Z"},
            "spec": {"appId": "app", "taskId": "X"},
            "status": {"taskId": "X", "internal": {"state": "Active"}}}
    found = claim_of(body)
    assert (found.owner.uid, found.app_id, found.base, found.current) == \
        ("uid-b", "app", "X", "X")
    derived = claim_of({**body, "spec": {"appId": "app"}, "status": {}})
    assert derived.base.startswith("tenant-b-copy-") and derived.current is None


def test_the_ledger_forgets_the_claims_of_deleted_objects_and_prefers_its_own() -> None:
    ledger = Ledger(at(-3600), timedelta(seconds=10))
    ledger.claim(claim(OLDER, current="X"))
    stale = claim(OLDER)  # the index has not seen the start yet
    shows(ledger, claims=[stale, claim(YOUNGER, base="Y")])
    assert set(ledger.claims()) == {claim(OLDER, current="X"), claim(YOUNGER, base="Y")}
    assert ledger.task_id_taken(claim(YOUNGER, base="Y"), "X")
    ledger.unobserve(OLDER)
    assert ledger.task_id_taken(claim(YOUNGER, base="Y"), "X")  # until pruned
    ledger.prune(at(0))
    assert not ledger.task_id_taken(claim(YOUNGER, base="Y"), "X")
    assert ledger.claims() == [claim(YOUNGER, base="Y")]


# --- what a taken TaskId does to decisions ------------------------------------------------

def test_a_taken_taskid_is_never_called_and_names_no_other_namespace() -> None:
    action = decide(situation(task_id_taken=True, namespace="tenant-b"))
    assert isinstance(action, Wait)
    assert (action.reason, action.stalled, action.phase) == ("TaskIdInUse", True,
                                                            Phase.PENDING)
    assert "tenant-a" not in action.message


def test_deleting_an_object_whose_task_is_anothers_never_stops_it() -> None:
    action = decide(situation(running_record(), task_id_taken=True, deleting=True))
    assert action == Finish(disowned=True)


def test_the_acting_taskid_is_the_records_while_it_may_run_else_the_next() -> None:
    d = desired()
    assert acting_task_id(Record(), d) == "ns-me-abc-1"
    assert acting_task_id(running_record(d), d) == "ns-me-abc-1"
    stopped = running_record(d, state=TaskState.STOPPED)
    assert acting_task_id(stopped, d) == "ns-me-abc-2"
    assert acting_task_id(stopped, None) == "ns-me-abc-1"
    assert acting_task_id(Record(), None) is None


def test_a_fresh_start_that_finds_its_taskid_taken_never_adopts_it() -> None:
    d = desired()
    starting = tr.write_ahead(Record(), "ns-me-abc-1", 1, d, at(0))
    after = tr.start_taken(starting, "Request.ExistTask", at(1), 1, TIMING)
    assert after.state is TaskState.NONE and after.error_code == reasons.TASK_ID_IN_USE
    action = decide(situation(after, d, now=2))
    assert isinstance(action, Wait)
    assert (action.reason, action.stalled) == ("TaskIdInUse", True)
    assert action.until == after.next_attempt_at == at(1 + TIMING.backoff_max)


# --- a start whose answer was lost --------------------------------------------------------

def unconfirmed(d=None, since: float = 0.0) -> Record:
    d = d or desired()
    starting = tr.write_ahead(Record(), "ns-me-abc-1", 1, d, at(since))
    return tr.vanished(starting, at(since), TIMING)


def test_a_start_the_service_has_no_trace_of_is_resent_with_the_same_taskid() -> None:
    assert decide(situation(unconfirmed())) == start_call("ns-me-abc-1", 1, retry=True)


def test_after_a_failed_resend_the_next_move_is_a_poll() -> None:
    failed = tr.retry_failed(unconfirmed(), ErrorKind.RETRYABLE, "ServiceUnavailable", "",
                             at(1), 1, TIMING)
    assert failed.state is TaskState.STARTING and not failed.retry_start
    assert failed.task_id == "ns-me-abc-1"
    action = decide(situation(failed, now=30, poll_in=-1))
    assert action == Poll("app", "ns-me-abc-1")


def test_a_resend_that_finds_the_task_adopts_it() -> None:
    adopted = tr.adopted(unconfirmed(), at(2))
    assert (adopted.state, adopted.retry_start, adopted.unconfirmed_since) == \
        (TaskState.ACTIVE, False, None)


def test_a_spec_changed_meanwhile_is_not_sent_under_the_old_taskid() -> None:
    moved = desired(start_changes={"channel_id": "other"},
                    immutable_fingerprint="moved")
    record = unconfirmed()
    assert decide(situation(record, moved, now=5, poll_in=-1)) == Poll("app", "ns-me-abc-1")
    assert decide(situation(record, moved, now=TIMING.unknown_start_window)) == \
        Forget("ns-me-abc-1")
    assert tr.forget_start(record).state is TaskState.NONE


def test_deletion_waits_out_an_unconfirmed_start_before_letting_go() -> None:
    record = unconfirmed()
    assert decide(situation(record, deleting=True, now=5, poll_in=-1)) == \
        Poll("app", "ns-me-abc-1")
    assert decide(situation(record, deleting=True, now=30)) == Finish()


def test_an_invalid_spec_still_confirms_starts_and_stops() -> None:
    starting = tr.write_ahead(Record(), "ns-me-abc-1", 1, desired(), at(0))
    assert decide(situation(starting, invalid=True, poll_in=-1)) == Poll("app", "ns-me-abc-1")
    stopping = tr.stop_sent(running_record(), StopCause.SUSPEND, at(0))
    assert decide(situation(stopping, invalid=True, poll_in=-1)) == Poll("app", "ns-me-abc-1")


# --- suspend over an ended task ----------------------------------------------------------

@pytest.mark.parametrize("code", [4, 6])
def test_suspend_and_resume_restart_an_ended_task_whatever_the_policy(code: int) -> None:
    ended = tr.polled(running_record(), code, at(0), TIMING)
    never = desired(restart_policy="Never")
    assert not isinstance(decide(situation(ended, never, now=1)), Start)
    assert decide(situation(ended, desired(restart_policy="Never", suspend=True))) == \
        Acknowledge()
    noted = tr.suspended(ended)
    assert noted.next_attempt_at is None and noted.failures == 0
    suspended = decide(situation(noted, desired(restart_policy="Never", suspend=True)))
    assert isinstance(suspended, Wait) and suspended.phase is Phase.SUSPENDED
    assert decide(situation(noted, never, now=1)) == start_call("ns-me-abc-2", 2)


# --- a live task whose spec lost a part ---------------------------------------------------

@pytest.mark.parametrize(("reason", "stalled"), [(SECRET_NOT_FOUND, False),
                                                 (INVALID_STREAM_URL, True)])
def test_a_live_task_goes_on_and_warns_when_its_url_secret_fails(reason: str,
                                                                 stalled: bool) -> None:
    d = desired(waiting_reason=reason, waiting_message="streamURLFrom: gone",
                waiting_stalled=stalled)
    record = running_record(d)
    action = decide(situation(record, d))
    assert isinstance(action, Wait)
    assert (action.reason, action.stalled, action.phase) == (reason, stalled, Phase.RUNNING)
    assert decide(situation(record, d, poll_in=-1)) == Poll("app", "ns-me-abc-1")
    assert decide(situation(record, desired(waiting_reason=reason, suspend=True))) == \
        Stop("app", "ns-me-abc-1", StopCause.SUSPEND)


# --- clocks that run ahead ----------------------------------------------------------------

def test_times_from_a_clock_ahead_of_ours_count_as_now() -> None:
    ahead = at(3600)
    skewed = running_record(last_polled_at=ahead, stopped_at=ahead, started_at=ahead,
                            changed_at=ahead, unconfirmed_since=ahead,
                            next_attempt_at=at(86400))
    fixed = clamp_future(skewed, at(0), horizon=300)
    assert (fixed.last_polled_at, fixed.stopped_at, fixed.started_at, fixed.changed_at,
            fixed.unconfirmed_since) == (at(0),) * 5
    assert fixed.next_attempt_at == at(300)
    sane = running_record(next_attempt_at=at(10))
    assert clamp_future(sane, at(0), horizon=300) == sane


def test_new_record_fields_survive_the_status_round_trip() -> None:
    record = unconfirmed().replace(credentials_secret="team-creds")
    assert record_from_status(record_to_status(record)) == record


def test_the_record_remembers_the_credentials_secret_of_its_start() -> None:
    started = tr.write_ahead(Record(), "t", 1, desired(credentials_secret="creds"), at(0))
    assert started.credentials_secret == "creds"
    assert ME.seniority == (ME.created, "")


# --- the immutable fingerprint ------------------------------------------------------------

def test_every_start_parameter_but_the_updatable_ones_and_taskid_is_immutable() -> None:
    """Built from all of StartParams: a new field counts without being listed. What an
    update carries (fingerprint.UPDATABLE) is not immutable: it changes live."""
    import dataclasses

    from mpu_operator.core.fingerprint import UPDATABLE, immutable_fingerprint
    from mpu_operator.rtc.params import LayoutParams, MediaUsers, SingleSource, Watermark

    start = desired().start
    assert start is not None
    base = immutable_fingerprint(start, "X")
    other_values = {"app_id": "app2", "channel_id": "chan2", "media_encode": 30,
                    "task_profile": "4IN_1080P", "mix_mode": "Single",
                    "single": SingleSource("shareScreen"),
                    "stream_url": "rtmp://push.example.com/live/other?auth_key=SECRET123"}
    assert set(other_values) == {f.name for f in dataclasses.fields(start)} - \
        {"task_id", *UPDATABLE}, "a new StartParams field needs a row here"
    for name, value in other_values.items():
        changed = dataclasses.replace(start, **{name: value})
        assert immutable_fingerprint(changed, "X") != base, name
    assert immutable_fingerprint(start, "Y") != base
    logo = Watermark("https://cdn.example.com/logo.png", 0, 0, 0.1, 0.1)
    same = dataclasses.replace(start, task_id="whatever", layout=LayoutParams((6,)),
                               stream_url=start.stream_url.replace("SECRET123", "ROTATED"),
                               subscribe_users=("u1",), watermarks=(logo,),
                               subscribe=MediaUsers(("u1",)))
    assert immutable_fingerprint(same, "X") == base


def test_an_upgrade_does_not_restart_tasks_fingerprinted_the_old_way() -> None:
    from mpu_operator.core.fingerprint import (
        current_immutable,
        immutable_fingerprint,
        legacy_immutable_fingerprint,
    )

    start = desired().start
    assert start is not None
    legacy = legacy_immutable_fingerprint(start, "X")
    assert legacy != immutable_fingerprint(start, "X")
    assert current_immutable(start, "X", legacy) == legacy
    assert current_immutable(start, "Y", legacy) == immutable_fingerprint(start, "Y")
    assert current_immutable(start, "X", None) == immutable_fingerprint(start, "X")


def test_deletion_releases_an_unconfirmed_start_so_its_url_cools_down_and_frees() -> None:
    """Found by the soak: a deleted object's unconfirmed start kept its URL held forever."""
    record = unconfirmed()
    gone = tr.released(record, at(30))
    assert (gone.state, gone.stopped_at, gone.stop_cause, gone.retry_start,
            gone.unconfirmed_since) == (TaskState.STOPPED, at(30), StopCause.DELETE, False,
                                        None)
    ledger = Ledger(at(-3600), timedelta(seconds=10))
    from mpu_operator.core.ledger import held_use
    use = held_use(ME, gone, "app", at(-3600))
    assert use is not None and not use.active and use.released_at == at(30)
    ledger.record(ME, [use])
    ledger.prune(at(41))
    assert ledger.uses() == []
    untouched = Record()
    assert tr.released(untouched, at(30)) is untouched
    stopped = running_record(state=TaskState.STOPPED, stopped_at=at(-5))
    assert tr.released(stopped, at(30)) is stopped
