"""Status rendering: the record round trip and kstatus conditions."""

from __future__ import annotations

from mpu_operator.core.model import Phase, Record, StopCause, TaskState
from mpu_operator.core.status import View, record_from_status, render

from .fixtures import at, running_record


def _conds(status):
    return {c["type"]: c for c in status["conditions"]}


def test_the_record_round_trips_through_status() -> None:
    record = running_record(stop_cause=StopCause.SUSPEND, next_attempt_at=at(5),
                            error_code="X", error_generation=3)
    status = render(record, View(Phase.RUNNING, "Running", "ok"), generation=3,
                    stream_url="rtmp://h/p", previous=None, now=at(0))
    assert record_from_status(status) == record


def test_junk_status_gives_an_empty_record() -> None:
    assert record_from_status({"taskId": 5, "internal": {"state": "Nope"}}) == Record()
    assert record_from_status(None) == Record()


def test_running_is_ready_and_streaming() -> None:
    status = render(running_record(), View(Phase.RUNNING, "Running", "ok"), generation=2,
                    stream_url=None, previous=None, now=at(0))
    conds = _conds(status)
    assert [conds[t]["status"] for t in ("Ready", "Streaming", "Reconciling", "Stalled")] == \
        ["True", "True", "False", "False"]
    assert status["observedGeneration"] == 2 and status["phase"] == "Running"
    assert status["remoteStatusText"] == "running"


def test_waiting_is_ready_but_not_streaming() -> None:
    record = running_record(remote_status=0)
    conds = _conds(render(record, View(Phase.WAITING, "W", "w"), generation=1, stream_url=None,
                          previous=None, now=at(0)))
    assert (conds["Ready"]["status"], conds["Streaming"]["status"]) == ("True", "False")


def test_pending_is_reconciling_and_failed_is_stalled() -> None:
    pending = _conds(render(Record(), View(Phase.PENDING, "StreamURLInUse", "m"),
                            generation=1, stream_url=None, previous=None, now=at(0)))
    assert (pending["Ready"]["status"], pending["Reconciling"]["status"]) == ("False", "True")
    failed = _conds(render(Record(), View(Phase.FAILED, "InvalidSpec", "m", stalled=True),
                           generation=1, stream_url=None, previous=None, now=at(0)))
    assert (failed["Stalled"]["status"], failed["Reconciling"]["status"]) == ("True", "False")
    assert failed["Stalled"]["reason"] == "InvalidSpec"


def test_suspended_is_ready_when_suspend_is_asked() -> None:
    record = Record(state=TaskState.STOPPED, remote_status=3)
    conds = _conds(render(record, View(Phase.SUSPENDED, "Suspended", "s", suspend=True),
                          generation=1, stream_url=None, previous=None, now=at(0)))
    assert conds["Ready"]["status"] == "True"


def test_last_transition_time_moves_only_when_status_changes() -> None:
    view = View(Phase.RUNNING, "Running", "ok")
    first = render(running_record(), view, generation=1, stream_url=None, previous=None,
                   now=at(0))
    second = render(running_record(), View(Phase.RUNNING, "Running", "still ok"), generation=1,
                    stream_url=None, previous=first, now=at(60))
    assert _conds(second)["Ready"]["lastTransitionTime"] == _conds(first)["Ready"][
        "lastTransitionTime"]
    third = render(running_record(remote_status=0), View(Phase.WAITING, "W", "w"),
                   generation=1, stream_url=None, previous=second, now=at(120))
    assert _conds(third)["Streaming"]["lastTransitionTime"] != _conds(second)["Streaming"][
        "lastTransitionTime"]
