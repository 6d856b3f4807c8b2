"""Scheduled broadcasts (spec.schedule): the real operator against the stand-in and the RTC
emulator. The operator's clock is the machine's, so times are set a few seconds ahead and
every wait is on a condition with a deadline; what the service saw is read off the
emulator (its tasks' startedAt/stoppedAt and its call counts), never the operator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.operator.conftest import FAST
from tests.operator.harness import KIND, condition, manifest, parse, status, tasks_of, wait_phase
from tests.operator.kit import gone, summary, wait_status

pytestmark = [pytest.mark.integration, pytest.mark.portable]


def _at(seconds: float) -> str:
    when = datetime.now(UTC) + timedelta(seconds=seconds)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _starts(rtc) -> int:
    return int(rtc.stats()["calls"].get("StartMPUTask", 0))


def _scheduled(kube, namespace: str, name: str, start_at: str):
    """Wait for phase Scheduled with Ready=True naming ``start_at`` (to the second)."""
    shown = start_at[:19] + "Z"
    return wait_status(kube, namespace, name,
                       lambda st: st.get("phase") == "Scheduled"
                       and condition(st, "Ready").get("status") == "True"
                       and condition(st, "Ready").get("reason") == "Scheduled"
                       and f"scheduled to start at {shown}" in (st.get("message") or ""),
                       30, f"Scheduled for {shown}")


@pytest.mark.rtc(**FAST)
def test_scheduled_until_start_at_then_started_never_before(kube, namespace, rtc,
                                                             operator) -> None:
    later = _at(3600)
    kube.create(manifest("show", namespace, schedule={"startAt": later}))
    st = _scheduled(kube, namespace, "show", later)
    assert condition(st, "Reconciling")["status"] == "False"
    assert not st.get("taskId") and tasks_of(rtc, "ch-show") == [] and _starts(rtc) == 0

    even_later = _at(7200)  # an edit moves the time: still Scheduled, for the new one
    kube.patch(KIND, namespace, "show", {"spec": {"schedule": {"startAt": even_later}}})
    _scheduled(kube, namespace, "show", even_later)
    assert tasks_of(rtc, "ch-show") == [] and _starts(rtc) == 0

    soon = _at(4)
    kube.patch(KIND, namespace, "show", {"spec": {"schedule": {"startAt": soon}}})
    st = wait_phase(kube, namespace, "show", "Waiting", timeout=40)
    [task] = tasks_of(rtc, "ch-show")
    assert st["taskId"] == task["taskId"]
    assert parse(task["startedAt"]) >= parse(soon), "the task started before startAt"


@pytest.mark.rtc(**FAST)
def test_stop_at_stops_the_task_for_good_and_moving_it_later_keeps_it_running(
        kube, namespace, rtc, operator) -> None:
    kube.create(manifest("end", namespace, restartPolicy="Always",
                         schedule={"stopAt": _at(3600)}))
    first = wait_phase(kube, namespace, "end", "Waiting")
    kube.patch(KIND, namespace, "end", {"spec": {"schedule": {"stopAt": _at(7200)}}})
    st = wait_status(kube, namespace, "end", lambda s: s.get("observedGeneration") == 2,
                     20, "generation 2 observed")
    assert (st["phase"], st["taskId"]) == ("Waiting", first["taskId"]), summary(st)

    stop_at = _at(4)
    kube.patch(KIND, namespace, "end", {"spec": {"schedule": {"stopAt": stop_at}}})
    st = wait_phase(kube, namespace, "end", "Stopped", timeout=40, reason="ScheduleEnded")
    assert condition(st, "Ready")["status"] == "True"
    assert st["internal"]["stopCause"] == "ScheduleEnded"
    [task] = tasks_of(rtc, "ch-end")
    assert task["status"] == 3 and parse(task["stoppedAt"]) >= parse(stop_at)
    assert "Stopping" in {e["reason"] for e in kube.events(namespace, "end")}
    # restartPolicy Always does not restart it; an unrelated edit does not either.
    kube.patch(KIND, namespace, "end", {"spec": {"layout": {"layoutIds": [1]}}})
    st = wait_status(kube, namespace, "end", lambda s: s.get("observedGeneration") == 3,
                     20, "generation 3 observed")
    assert st["phase"] == "Stopped" and len(tasks_of(rtc, "ch-end")) == 1, summary(st)
    assert _starts(rtc) == 1


@pytest.mark.rtc(**FAST)
def test_a_window_in_the_past_never_starts_anything(kube, namespace, rtc, operator) -> None:
    kube.create(manifest("past", namespace, schedule={"startAt": _at(-7200),
                                                        "stopAt": _at(-3600)}))
    st = wait_phase(kube, namespace, "past", "Stopped", reason="ScheduleEnded")
    assert condition(st, "Ready")["status"] == "True"
    assert tasks_of(rtc, "ch-past") == [] and _starts(rtc) == 0


@pytest.mark.rtc(**FAST)
def test_deleting_a_scheduled_task_finishes_at_once(kube, namespace, rtc, operator) -> None:
    later = _at(3600)
    kube.create(manifest("bye", namespace, schedule={"startAt": later}))
    _scheduled(kube, namespace, "bye", later)
    kube.delete(KIND, namespace, "bye")
    gone(kube, namespace, "bye")
    assert tasks_of(rtc, "ch-bye") == [] and rtc.stats()["calls"] == {}
    assert status(kube, namespace, "bye") == {}
