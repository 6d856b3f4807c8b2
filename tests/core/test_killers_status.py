"""What ``status.render`` writes, spelt out: the exact keys and texts users and tools read.

Expectations here are literals, not other calls into the code under test.
"""

from __future__ import annotations

from typing import Any

import pytest

from mpu_operator.core.model import Phase, Record, TaskState
from mpu_operator.core.status import View, render

from .fixtures import at, running_record

STAMP_0 = "2026-11-25T12:00:00.000000Z"  # at(0), as written


def _conds(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status["conditions"]}


def _render(record: Record, view: View, previous: Any = None, now: float = 0) -> dict[str, Any]:
    return render(record, view, generation=4, stream_url="rtmp://h/live/s", previous=previous,
                  now=at(now))


def test_a_running_task_renders_exactly() -> None:
    record = running_record()
    status = _render(record, View(Phase.RUNNING, "Running", "mixing", contending=False))
    assert {k: status[k] for k in ("observedGeneration", "phase", "message", "streamURL")} == {
        "observedGeneration": 4, "phase": "Running", "message": "mixing",
        "streamURL": "rtmp://h/live/s"}
    assert status["internal"]["contending"] is False
    assert status["conditions"] == [
        {"type": "Ready", "status": "True", "reason": "Running", "message": "mixing",
         "observedGeneration": 4, "lastTransitionTime": STAMP_0},
        {"type": "Streaming", "status": "True", "reason": "Running",
         "message": "the service reports the stream running",
         "observedGeneration": 4, "lastTransitionTime": STAMP_0},
        {"type": "Reconciling", "status": "False", "reason": "Running", "message": "mixing",
         "observedGeneration": 4, "lastTransitionTime": STAMP_0},
        {"type": "Stalled", "status": "False", "reason": "Running", "message": "mixing",
         "observedGeneration": 4, "lastTransitionTime": STAMP_0},
    ]


def test_a_contending_task_says_so_for_the_arbitration() -> None:
    status = _render(Record(), View(Phase.PENDING, "StreamURLInUse", "m", contending=True))
    assert status["internal"]["contending"] is True


@pytest.mark.parametrize(("record", "message"), [
    (Record(), "the service reports: no task"),
    (running_record(remote_status=0), "the service reports: waiting for the channel to start"),
    (running_record(state=TaskState.STOPPED, remote_status=6),
     "the service reports: stopped: stream URL problem"),
    (running_record(remote_status=None), "the service reports: no task"),
    (running_record(remote_status=42), "the service reports: unknown status 42"),
    (running_record(state=TaskState.STOPPING, remote_status=1),
     "the service reports: running"),
])
def test_not_streaming_says_what_the_service_reports(record: Record, message: str) -> None:
    streaming = _conds(_render(record, View(Phase.PENDING, "P", "p")))["Streaming"]
    assert (streaming["status"], streaming["reason"], streaming["message"]) == (
        "False", "NotStreaming", message)


@pytest.mark.parametrize(("phase", "suspend", "ready"), [
    (Phase.SUSPENDED, True, "True"),
    (Phase.SUSPENDED, False, "False"),  # suspended, but the spec no longer asks for it
    (Phase.PENDING, True, "False"),  # asked to suspend, not there yet
    (Phase.STOPPED, True, "False"),
    (Phase.RUNNING, True, "False"),  # still running although suspend is asked
    (Phase.WAITING, False, "True"),
    (Phase.STOPPED, False, "True"),  # ended as its restartPolicy says: done, like a Job
    (Phase.FAILED, False, "False"),
])
def test_ready_means_the_declared_state_is_reached(phase: Phase, suspend: bool,
                                                   ready: str) -> None:
    status = _render(running_record(), View(phase, "R", "r", suspend=suspend))
    assert _conds(status)["Ready"]["status"] == ready


def test_a_task_that_runs_an_older_spec_is_not_ready_and_is_reconciling() -> None:
    view = View(Phase.RUNNING, "Running", "r", in_sync=False)
    conds = _conds(_render(running_record(), view))
    assert (conds["Ready"]["status"], conds["Reconciling"]["status"],
            conds["Stalled"]["status"]) == ("False", "True", "False")


def test_a_stalled_task_is_neither_ready_nor_reconciling() -> None:
    view = View(Phase.RUNNING, "InvalidSpec", "bad", stalled=True, in_sync=False)
    conds = _conds(_render(running_record(), view))
    assert (conds["Ready"]["status"], conds["Reconciling"]["status"],
            conds["Stalled"]["status"]) == ("False", "False", "True")


@pytest.mark.parametrize("phase", [Phase.PENDING, Phase.STARTING, Phase.RESTARTING,
                                   Phase.STOPPING])
def test_working_phases_are_reconciling(phase: Phase) -> None:
    assert _conds(_render(Record(), View(phase, "W", "w")))["Reconciling"]["status"] == "True"


@pytest.mark.parametrize("phase", [Phase.RUNNING, Phase.WAITING, Phase.SUSPENDED,
                                   Phase.STOPPED, Phase.FAILED])
def test_settled_phases_are_not_reconciling(phase: Phase) -> None:
    assert _conds(_render(Record(), View(phase, "S", "s")))["Reconciling"]["status"] == "False"


def test_transition_times_are_kept_while_the_status_holds() -> None:
    earlier = "2026-11-24T00:00:00Z"
    previous = {"conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": earlier},
        {"type": "Streaming", "status": "False", "lastTransitionTime": earlier},
        {"type": "Reconciling", "status": "False"},  # no time yet: now
    ]}
    conds = _conds(_render(running_record(), View(Phase.RUNNING, "Running", "ok"), previous))
    assert conds["Ready"]["lastTransitionTime"] == earlier
    assert conds["Streaming"]["lastTransitionTime"] == STAMP_0  # False -> True
    assert conds["Reconciling"]["lastTransitionTime"] == STAMP_0
    assert conds["Stalled"]["lastTransitionTime"] == STAMP_0  # new


@pytest.mark.parametrize("previous", [
    [], "junk", {"conditions": "junk"}, {"conditions": [["type"], "type", 5, {"status": "True"}]},
])
def test_junk_previous_conditions_are_ignored(previous: Any) -> None:
    conds = _conds(_render(running_record(), View(Phase.RUNNING, "Running", "ok"), previous))
    assert {c["lastTransitionTime"] for c in conds.values()} == {STAMP_0}
