"""Each call the decision makes carries the whole call: the app and TaskId it is about, and
for a start the parameters with the incarnation's TaskId in them. Where a call goes is
decided here, not in the shell: a call about a running task goes to the app it was
started on (an appId edit stops the old task there), a start goes to the spec's app."""

from __future__ import annotations

import dataclasses

from mpu_operator.core import fingerprint
from mpu_operator.core.decide import Poll, Start, Stop, Update, decide
from mpu_operator.core.model import Desired, StopCause, TaskState, UpdateKind
from mpu_operator.rtc.params import LayoutParams, StartParams

from .fixtures import URL, desired, running_record, situation, start_call

TASK = "ns-me-abc-1"


def _moved_to(app: str, **changes: object) -> Desired:
    """The fixture's desired state, edited to ``app``."""
    d = desired(**changes)
    assert d.start is not None
    start = dataclasses.replace(d.start, app_id=app)
    return dataclasses.replace(
        d, app_id=app, start=start,
        immutable_fingerprint=fingerprint.immutable_fingerprint(start, d.task_id_base))


def test_an_app_id_edit_stops_the_task_in_the_app_it_runs_in() -> None:
    moved = _moved_to("new-app")
    assert decide(situation(running_record(), moved)) == Stop("app", TASK,
                                                              StopCause.SPEC_CHANGE)


def test_the_next_start_goes_to_the_specs_app() -> None:
    moved = _moved_to("new-app")
    stopped = running_record(state=TaskState.STOPPED, remote_status=3,
                             stop_cause=StopCause.SPEC_CHANGE)
    assert decide(situation(stopped, moved)) == Start(
        StartParams("new-app", "chan", "ns-me-abc-2", URL, LayoutParams((1, 6)), 20,
                    "4IN_720P"), 2)


def test_polls_and_updates_go_to_the_tasks_app() -> None:
    record = running_record(app_id="old-app")
    assert decide(situation(record, poll_in=0)) == Poll("old-app", TASK)
    d = desired(layout=LayoutParams((1,)))
    assert decide(situation(record, d)) == Update("old-app", TASK, UpdateKind.LAYOUT,
                                                  LayoutParams((1,)), d.layout_fingerprint)
    assert decide(situation(record, desired(suspend=True))) == Stop("old-app", TASK,
                                                                    StopCause.SUSPEND)
    assert decide(situation(record, deleting=True)) == Stop("old-app", TASK,
                                                            StopCause.DELETE)


def test_a_record_that_names_no_app_calls_the_specs_app() -> None:
    """Records of early releases may lack the app: the spec's is the best guess."""
    record = running_record(app_id=None)
    assert decide(situation(record, _moved_to("spec-app"), poll_in=0)) == Stop(
        "spec-app", TASK, StopCause.SPEC_CHANGE)
    assert decide(situation(record, poll_in=0)) == Poll("app", TASK)


def test_with_neither_the_call_names_no_app() -> None:
    """An invalid spec and a record without an app: the call is still made (the service
    refuses it, which is reported), never sent to some other app."""
    record = running_record(app_id=None)
    assert decide(situation(record, invalid=True, poll_in=0)) == Poll("", TASK)


def test_a_resent_start_carries_the_task_id_written_ahead() -> None:
    record = running_record(state=TaskState.STARTING, retry_start=True, incarnation=3,
                            task_id="ns-me-abc-3")
    assert decide(situation(record)) == start_call("ns-me-abc-3", 3, retry=True)
    action = decide(situation(record))
    assert isinstance(action, Start) and action.task_id == "ns-me-abc-3"
