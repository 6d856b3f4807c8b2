"""Backup stream URLs (issue #11): which URL the next start uses, and when (core/failover.py),
and how decide, the folds, the status and the URL holds carry it. Expectations written out."""

from __future__ import annotations

import dataclasses

import pytest

from mpu_operator.core import decide as dc
from mpu_operator.core import failover as fo
from mpu_operator.core import transitions as tr
from mpu_operator.core.ledger import held_uses, uses_of
from mpu_operator.core.model import Record, StopCause, TaskState, UrlFailure
from mpu_operator.core.rules import CoolingDown, Free, InUse, UrlUse
from mpu_operator.core.status import record_from_status, record_to_status
from mpu_operator.core.timing import Timing
from mpu_operator.rtc.params import LayoutParams, StartParams
from tests.core.fixtures import ME, T0, URL, at, desired, running_record, situation

B1 = "rtmp://backup-one.example.com/live/show?auth_key=B1SECRET"
B2 = "rtmps://backup-two.example.com:8443/live/show?auth_key=B2SECRET"
K0 = "rtmp://push.example.com/live/show"
K1 = "rtmp://backup-one.example.com/live/show"
K2 = "rtmps://backup-two.example.com:8443/live/show"
OTHER = dataclasses.replace(ME, name="other", uid="o")
FREE3 = (Free(), Free(), Free())


def with_backups(**changes: object) -> object:
    return desired(backup_stream_urls=(B1, B2), **changes)


def failed_on(index: int, code: int = 5, **changes: object) -> Record:
    """The task on URL ``index`` stopped by itself with ``code`` at T0-1s (a quick failure:
    back-off 20 s to T0+19s), its URL marked."""
    key = (K0, K1, K2)[index]
    base = Record(task_id="ns-me-abc-1", incarnation=1, state=TaskState.STOPPED,
                  remote_status=code, started_at=at(-30), stopped_at=at(-1),
                  stop_cause=StopCause.REMOTE, failures=2, next_attempt_at=at(19),
                  stream_key=key, url_index=index, app_id="app",
                  url_failures=(UrlFailure(key, at(-1), code),))
    return base.replace(**changes)


def mark(key: str, seconds: float, code: int = 5) -> UrlFailure:
    return UrlFailure(key, at(seconds), code)


# --- which URL: the table -------------------------------------------------------------

PICKS = [
    # (why, record, desired changes, gates, cooldown, expected)
    ("no backups: always the primary", failed_on(0), {"backup_stream_urls": ()}, FREE3, 10,
     fo.Pick(0)),
    ("a first start is the primary", Record(), {}, FREE3, 10, fo.Pick(0)),
    ("5 on the primary: backup 1 at once", failed_on(0, 5), {}, FREE3, 10,
     fo.Pick(1, at_once=True, failed_over=True)),
    ("6 on the primary: backup 1 at once", failed_on(0, 6), {}, FREE3, 10,
     fo.Pick(1, at_once=True, failed_over=True)),
    ("5 not in after: the usual restart on the same URL", failed_on(0, 5),
     {"failover_after": frozenset({6})}, FREE3, 10, fo.Pick(0)),
    ("status 4 is not a failure: same URL", failed_on(1, 4, url_failures=()), {}, FREE3, 10,
     fo.Pick(1)),
    ("on backup 1: on to backup 2", failed_on(1, 5,
     url_failures=(mark(K1, -1), mark(K0, -100))), {}, FREE3, 10,
     fo.Pick(2, at_once=True, failed_over=True)),
    ("on backup 2: wraps to the primary once it has cooled", failed_on(2, 5,
     url_failures=(mark(K2, -1), mark(K0, -100), mark(K1, -50))), {}, FREE3, 10,
     fo.Pick(0, at_once=True, failed_over=True)),
    ("a URL failed within the window is skipped", failed_on(1, 5,
     url_failures=(mark(K1, -1), mark(K2, -5))), {}, FREE3, 10,
     fo.Pick(0, at_once=True, failed_over=True)),
    ("the window is the back-off the task is in", failed_on(1, 5,
     url_failures=(mark(K1, -1), mark(K2, -15))), {}, FREE3, 20,
     fo.Pick(0, at_once=True, failed_over=True)),
    ("every URL failed within the window: the usual back-off on the same URL",
     failed_on(0, 5, url_failures=(mark(K0, -1), mark(K1, -4), mark(K2, -8))), {}, FREE3,
     10, fo.Pick(0)),
    ("a backup held by another MPUTask is passed over", failed_on(0, 5), {},
     (Free(), InUse(OTHER), Free()), 10, fo.Pick(2, at_once=True, failed_over=True)),
    ("every other URL held: wait for the next one like any start", failed_on(0, 5), {},
     (Free(), InUse(OTHER), CoolingDown(at(3))), 10, fo.Pick(1, failed_over=True)),
    ("a URL without a gate is never taken at once", failed_on(0, 5), {}, (Free(),), 10,
     fo.Pick(1, failed_over=True)),
    ("WhenPrimaryHealthy: a failing backup goes back to the cooled primary",
     failed_on(1, 5, url_failures=(mark(K1, -1), mark(K0, -60))),
     {"failover_back": "WhenPrimaryHealthy"}, FREE3, 10,
     fo.Pick(0, at_once=True, failed_over=True)),
    ("WhenPrimaryHealthy: not before the primary has cooled",
     failed_on(1, 5, url_failures=(mark(K1, -1), mark(K0, -5))),
     {"failover_back": "WhenPrimaryHealthy"}, FREE3, 10,
     fo.Pick(2, at_once=True, failed_over=True)),
    ("WhenPrimaryHealthy: any restart goes back once the primary cooled",
     failed_on(1, 4, url_failures=(mark(K0, -60),)),
     {"failover_back": "WhenPrimaryHealthy"}, FREE3, 10, fo.Pick(0)),
    ("WhenPrimaryHealthy: ... and stays while it has not",
     failed_on(1, 4, url_failures=(mark(K0, -5),)),
     {"failover_back": "WhenPrimaryHealthy"}, FREE3, 10, fo.Pick(1)),
    ("Manual: a restart stays on the backup", failed_on(1, 4, url_failures=(mark(K0, -60),)),
     {}, FREE3, 10, fo.Pick(1)),
    ("the backup the task used left the spec: from the primary", failed_on(1, 4),
     {"backup_stream_urls": (B2,)}, FREE3, 10, fo.Pick(0)),
    ("backups reordered: the active URL is found by its stream", failed_on(1, 5,
     url_failures=(mark(K1, -1), mark(K0, -3))), {"backup_stream_urls": (B2, B1)}, FREE3, 10,
     fo.Pick(1, at_once=True, failed_over=True)),
    ("one backup: 5 on the primary, on to it at once", failed_on(0, 5),
     {"backup_stream_urls": (B1,)}, FREE3, 10, fo.Pick(1, at_once=True, failed_over=True)),
] + [
    (f"a start after {cause.value} is the user's: the primary",
     failed_on(1, 5, stop_cause=cause), {}, FREE3, 10, fo.Pick(0))
    for cause in (StopCause.SPEC_CHANGE, StopCause.SUSPEND, StopCause.SCHEDULE_END)
]


@pytest.mark.parametrize(("why", "record", "changes", "gates", "cooldown", "expected"), PICKS,
                         ids=[p[0] for p in PICKS])
def test_pick(why, record, changes, gates, cooldown, expected) -> None:
    d = desired(**{"backup_stream_urls": (B1, B2), **changes})
    assert fo.pick(record, d, gates, T0, cooldown) == expected


def test_a_vanished_task_is_no_failover() -> None:
    assert not fo.failing(failed_on(0, 5, stop_cause=StopCause.VANISHED), with_backups())


def test_the_order_wraps_with_the_active_url_last() -> None:
    assert fo.order(1, 4, "Manual") == [2, 3, 0, 1]
    assert fo.order(2, 4, "WhenPrimaryHealthy") == [0, 3, 1, 2]
    assert fo.order(0, 3, "WhenPrimaryHealthy") == [0, 1, 2]


def test_cooled_is_exactly_the_window() -> None:
    r = Record(url_failures=(mark(K1, -10),))
    assert fo.cooled(r, K1, T0, 10) and not fo.cooled(r, K1, T0, 10.001)
    assert fo.cooled(r, K0, T0, 1000)


def test_urls_and_keys_in_order_the_primary_first() -> None:
    d = with_backups()
    assert fo.urls(d) == (URL, B1, B2)
    assert fo.keys(d) == (K0, K1, K2)
    assert fo.key_at(d, 2) == K2 and fo.key_at(desired(stream_key=None), 0) is None


@pytest.mark.parametrize(("record", "expected"), [
    (Record(), 0),
    (Record(stream_key=K1, url_index=1), 1),
    (Record(stream_key=K2, url_index=1), 2),
    (Record(stream_key="rtmp://gone/x", url_index=1), None),
    (Record(stream_key=K1, url_index=7), 1),
])
def test_index_of_finds_the_record_url_by_its_stream(record: Record, expected) -> None:
    assert fo.index_of(record, with_backups()) == expected


# --- decide ---------------------------------------------------------------------------

def test_a_failure_starts_at_once_on_the_backup_within_the_back_off() -> None:
    action = dc.decide(situation(failed_on(0, 5), with_backups(),
                                 backup_gates=(Free(), Free())))
    params = StartParams("app", "chan", "ns-me-abc-2", B1, LayoutParams((1, 6)), 20,
                         "4IN_720P")
    assert action == dc.Start(params, 2, url_index=1, failed_over=True)


def test_without_backup_gates_a_failover_waits_out_the_back_off() -> None:
    action = dc.decide(situation(failed_on(0, 5), with_backups()))
    assert isinstance(action, dc.Wait) and action.reason == "BackingOff"
    assert action.until == at(19)


def test_after_the_back_off_a_gate_the_shell_did_not_give_holds_the_start() -> None:
    action = dc.decide(situation(failed_on(0, 5), with_backups(), now=20))
    assert isinstance(action, dc.Wait) and action.reason == "StreamURLCoolingDown"
    assert action.until == at(25)


def test_after_the_back_off_a_held_backup_is_waited_for_by_its_own_gate() -> None:
    action = dc.decide(situation(failed_on(0, 5), with_backups(), now=20,
                                 backup_gates=(CoolingDown(at(22)), InUse(OTHER))))
    assert isinstance(action, dc.Wait) and action.reason == "StreamURLCoolingDown"
    assert action.until == at(22)


def test_the_primary_gate_does_not_hold_a_failover() -> None:
    action = dc.decide(situation(failed_on(0, 5), with_backups(), gate=InUse(OTHER),
                                 backup_gates=(Free(), Free())))
    assert isinstance(action, dc.Start) and action.url_index == 1


def test_restart_policy_never_never_fails_over() -> None:
    action = dc.decide(situation(failed_on(0, 5), with_backups(restart_policy="Never"),
                                 backup_gates=(Free(), Free())))
    assert isinstance(action, dc.Wait) and action.reason == "RestartsDisabled"


def test_every_url_failed_backs_off_then_takes_the_next() -> None:
    r = failed_on(0, 5, url_failures=(mark(K0, -1), mark(K1, -3), mark(K2, -6)))
    gates = (Free(), Free())
    waiting = dc.decide(situation(r, with_backups(), backup_gates=gates))
    assert isinstance(waiting, dc.Wait) and waiting.reason == "BackingOff"
    later = dc.decide(situation(r, with_backups(), backup_gates=gates, now=19))
    assert isinstance(later, dc.Start) and later.url_index == 1 and later.failed_over


def test_quota_still_holds_a_failover() -> None:
    action = dc.decide(situation(failed_on(0, 5), with_backups(), quota_ok=False,
                                 backup_gates=(Free(), Free())))
    assert isinstance(action, dc.Wait) and action.reason == "QuotaExhausted"


def test_a_waiting_reason_still_holds_a_failover() -> None:
    action = dc.decide(situation(failed_on(0, 5), with_backups(
        waiting_reason="SecretNotFound", waiting_message="m"), backup_gates=(Free(), Free())))
    assert isinstance(action, dc.Wait) and action.reason == "SecretNotFound"


def test_a_resent_start_goes_to_the_url_written_ahead() -> None:
    d = with_backups()
    r = running_record(d, state=TaskState.STARTING, retry_start=True, stream_key=K2,
                       url_index=2, task_id="ns-me-abc-3", incarnation=3)
    action = dc.decide(situation(r, d))
    assert isinstance(action, dc.Start) and action.retry
    assert (action.params.stream_url, action.url_index, action.failed_over) == (B2, 2, False)


def test_a_resent_start_whose_url_left_the_spec_is_not_resent() -> None:
    d = desired(backup_stream_urls=(B1,))
    r = running_record(d, state=TaskState.STARTING, retry_start=True, stream_key=K2,
                       url_index=2, unconfirmed_since=at(-1), last_polled_at=at(-1))
    action = dc.decide(situation(r, d))
    assert not isinstance(action, dc.Start)


def test_a_task_on_a_backup_is_ready_and_says_so() -> None:
    d = with_backups()
    r = running_record(d, stream_key=K1, url_index=1, failovers=2)
    action = dc.decide(situation(r, d))
    assert action == dc.Wait(dc.Phase.RUNNING, "RunningOnBackup",
                             "on backup stream URL 1 after 2 failover(s): the service is "
                             "mixing and pushing the stream", at(10))
    waiting = dc.decide(situation(r.replace(remote_status=0), d))
    assert waiting == dc.Wait(dc.Phase.WAITING, "RunningOnBackup",
                              "on backup stream URL 1 after 2 failover(s): started; the "
                              "service waits for someone to join the channel", at(10))


def test_a_task_on_a_backup_is_not_a_spec_change() -> None:
    """The fingerprint is the spec's: a failover is no reason to stop (no restart loop)."""
    d = with_backups()
    r = tr.started(tr.write_ahead(failed_on(0, 5), "ns-me-abc-2", 2, d, at(0), url_index=1,
                                  failed_over=True), at(1))
    r = tr.polled(r, 1, at(2), Timing())
    action = dc.decide(situation(r, d, now=3))
    assert isinstance(action, dc.Wait) and action.reason == "RunningOnBackup"


def test_a_backup_removed_from_the_spec_stops_its_task_as_a_spec_change() -> None:
    r = running_record(with_backups(), stream_key=K2, url_index=2)
    action = dc.decide(situation(r, desired(backup_stream_urls=(B1,))))
    assert action == dc.Stop("app", "ns-me-abc-1", StopCause.SPEC_CHANGE)


def test_an_unreadable_backup_secret_does_not_stop_a_task_on_it() -> None:
    r = running_record(with_backups(), stream_key=K2, url_index=2)
    d = desired(backup_stream_urls=(B1,), waiting_reason="SecretNotFound")
    action = dc.decide(situation(r, d))
    assert not isinstance(action, dc.Stop)


def test_the_primary_task_is_not_stopped_by_a_backup_edit() -> None:
    r = running_record(with_backups())
    action = dc.decide(situation(r, desired(backup_stream_urls=(B2,))))
    assert isinstance(action, dc.Wait) and action.reason == "Running"


# --- the folds ------------------------------------------------------------------------

def test_write_ahead_on_a_backup_holds_it_and_keeps_the_primary_released() -> None:
    d = with_backups()
    r = tr.write_ahead(failed_on(0, 5), "ns-me-abc-2", 2, d, at(0), url_index=1,
                       failed_over=True)
    assert (r.stream_key, r.url_index, r.failovers) == (K1, 1, 1)
    assert (r.released_key, r.released_at) == (K0, at(-1))
    assert r.applied_immutable == d.immutable_fingerprint
    assert r.next_attempt_at is None and r.url_failures == (mark(K0, -1),)


def test_write_ahead_on_the_same_url_releases_nothing_and_counts_no_failover() -> None:
    r = tr.write_ahead(failed_on(0, 5, released_key=K2, released_at=at(-50)), "t-2", 2,
                       with_backups(), at(0))
    assert (r.stream_key, r.url_index, r.failovers) == (K0, 0, 0)
    assert (r.released_key, r.released_at) == (K2, at(-50))


def test_only_failures_mark_the_url_one_mark_per_url_newest_first() -> None:
    active = running_record(with_backups(), url_failures=(mark(K1, -9), mark(K0, -99, 6)))
    assert tr.polled(active, 5, at(0), Timing()).url_failures == (mark(K0, 0), mark(K1, -9))
    assert tr.polled(active, 4, at(0), Timing()).url_failures == active.url_failures
    stopping = active.replace(state=TaskState.STOPPING, stop_requested=True)
    assert tr.polled(stopping, 5, at(0), Timing()).url_failures == active.url_failures


def test_marks_are_bounded() -> None:
    many = tuple(mark(f"rtmp://h/{i}", -i) for i in range(fo.MAX_MARKS))
    r = running_record(with_backups(), url_failures=many)
    marks = tr.polled(r, 6, at(0), Timing()).url_failures
    assert marks == (mark(K0, 0, 6), *many[:fo.MAX_MARKS - 1])


# --- status and URL holds -------------------------------------------------------------

def test_status_shows_the_active_url_without_query_and_the_count() -> None:
    r = running_record(with_backups(), stream_key=K1, url_index=1, failovers=3)
    status = record_to_status(r)
    assert (status["activeStreamURL"], status["failovers"]) == (K1, 3)
    assert "SECRET" not in str(status)
    assert record_to_status(r.replace(state=TaskState.STOPPED))["activeStreamURL"] is None


def test_an_old_status_reads_as_the_primary_with_no_failures() -> None:
    r = record_from_status({"taskId": "t", "internal": {"state": "Active",
                                                        "streamKey": K0}})
    assert (r.url_index, r.url_failures, r.failovers, r.released_key) == (0, (), 0, None)


@pytest.mark.parametrize("junk", [None, "x", [1, {"streamKey": K0}, {"streamKey": K0,
                                                                      "at": "bad",
                                                                      "status": 5}]])
def test_junk_failure_marks_read_as_none(junk: object) -> None:
    assert record_from_status({"internal": {"urlFailures": junk}}).url_failures == ()


def test_a_task_on_a_backup_holds_the_backup_and_the_primary_cools_down() -> None:
    r = tr.write_ahead(failed_on(0, 5), "ns-me-abc-2", 2, with_backups(), at(0),
                       url_index=1, failed_over=True)
    assert held_uses(ME, r, "app", at(-1000)) == [
        UrlUse(ME, K1, "app", active=True),
        UrlUse(ME, K0, "app", active=False, released_at=at(-1)),
    ]


def test_the_cluster_index_carries_the_backup_it_holds() -> None:
    r = tr.write_ahead(failed_on(0, 5), "ns-me-abc-2", 2, with_backups(), at(0),
                       url_index=1, failed_over=True)
    body = {"metadata": {"name": "me", "namespace": "ns", "uid": "",
                         "creationTimestamp": "2026-11-25T11:00:00Z"},
            "spec": {"appId": "app", "streamURL": URL}, "status": record_to_status(r)}
    uses = uses_of(body, at(-1000), at(0))
    assert [(u.key, u.active, u.released_at) for u in uses] == [
        (K1, True, None), (K0, False, at(-1))]


def test_releases_skip_the_url_in_use() -> None:
    r = Record(stream_key=K0, url_failures=(mark(K0, -1), mark(K1, -2)), released_key=K2,
               released_at=at(-3))
    assert fo.releases(r) == [(K1, at(-2)), (K2, at(-3))]
    assert fo.releases(Record(released_key=K2)) == []
    twice = Record(url_failures=(mark(K1, -2),), released_key=K1, released_at=at(-1))
    assert fo.releases(twice) == [(K1, at(-1))]
    assert fo.releases(twice.replace(released_at=at(-5))) == [(K1, at(-2))]


# --- fast polling ---------------------------------------------------------------------

@pytest.mark.parametrize(("record", "d", "expected"), [
    (running_record(), with_backups(), 2.2),
    (running_record(), desired(), 30.0),
    (running_record(state=TaskState.STOPPED), with_backups(), 30.0),
    (running_record(), None, 30.0),
])
def test_a_running_task_with_backups_polls_fast(record, d, expected) -> None:
    assert fo.poll_interval(30.0, record, d, 2.0, 0.0, 0.1) == pytest.approx(expected)


def test_fast_polls_stretch_with_the_poll_budget_and_never_lengthen() -> None:
    assert fo.poll_interval(30.0, running_record(), with_backups(), 2.0, 8.0, 0.0) == 8.0
    assert fo.poll_interval(1.0, running_record(), with_backups(), 2.0, 0.0, 0.0) == 1.0
    assert fo.poll_interval(30.0, running_record(), with_backups(), 0.0, 0.0, -1.0) == 0.05


def test_a_failover_moves_no_fingerprint() -> None:
    d = with_backups()
    assert dc.decide(situation(failed_on(0, 5), d, backup_gates=(Free(), Free()))) \
        .params.stream_url == B1  # type: ignore[union-attr]
    assert tr.write_ahead(Record(), "t", 1, d, T0, url_index=2).applied_immutable \
        == tr.write_ahead(Record(), "t", 1, d, T0).applied_immutable


# --- edges (mutation killers) ---------------------------------------------------------

def test_backup_1_removed_from_the_spec_stops_its_task() -> None:
    r = running_record(with_backups(), stream_key=K1, url_index=1)
    action = dc.decide(situation(r, desired(backup_stream_urls=(B2,))))
    assert action == dc.Stop("app", "ns-me-abc-1", StopCause.SPEC_CHANGE)


def test_an_unconfirmed_start_under_an_invalid_spec_is_confirmed_not_resent() -> None:
    r = running_record(state=TaskState.STARTING, retry_start=True, unconfirmed_since=at(-1),
                       last_polled_at=at(-1))
    action = dc.decide(situation(r, invalid=True, poll_in=0))
    assert action == dc.Poll("app", "ns-me-abc-1")


def test_a_failure_of_a_task_without_a_known_url_marks_nothing() -> None:
    r = running_record(stream_key=None)
    assert tr.polled(r, 5, at(0), Timing()).url_failures == ()


def test_urls_without_a_known_primary() -> None:
    d = desired(backup_stream_urls=(B1,), start=None, stream_key=None)
    assert fo.urls(d) == ("", B1) and fo.keys(d) == ("", K1)


def test_released_uses_carry_the_records_app_else_the_given_one() -> None:
    r = Record(stream_key=K1, released_key=K0, released_at=at(-1))
    assert held_uses(ME, r, "spec-app", at(-9)) == [
        UrlUse(ME, K0, "spec-app", active=False, released_at=at(-1))]
    assert held_uses(ME, r.replace(app_id="task-app"), "spec-app", at(-9)) == [
        UrlUse(ME, K0, "task-app", active=False, released_at=at(-1))]


def test_a_junk_mark_does_not_hide_the_marks_after_it() -> None:
    status = {"internal": {"urlFailures": ["junk", {"streamKey": K0,
                                                    "at": "2026-11-25T12:00:00Z",
                                                    "status": 6}]}}
    assert record_from_status(status).url_failures == (UrlFailure(K0, T0, 6),)
