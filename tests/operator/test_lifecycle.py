"""Life cycle scenarios: create, observe, live layout update, restart on change, suspend,
delete. Every claim about the service is read off the RTC emulator, not the operator."""

from __future__ import annotations

import pytest

from tests.operator.conftest import FAST
from tests.operator.harness import (
    APP,
    KIND,
    condition,
    manifest,
    parse,
    status,
    tasks_of,
    wait_phase,
)

#: Integration scenarios; portable: they run unchanged on a real cluster (make e2e).
pytestmark = [pytest.mark.integration, pytest.mark.portable]


@pytest.mark.rtc(**FAST)
def test_create_waits_for_the_channel_then_runs_and_reports_truthfully(kube, namespace, rtc,
                                                                      operator) -> None:
    kube.create(manifest("show", namespace))
    st = wait_phase(kube, namespace, "show", "Waiting")
    [task] = tasks_of(rtc, "ch-show")
    assert st["taskId"] == task["taskId"] and task["status"] == 0
    assert task["taskProfile"] == "4IN_720P" and task["layoutIds"] == [1, 6]
    assert st["streamURL"] == "rtmp://push.example.com/live/show"
    assert st["observedGeneration"] == 1 and st["remoteStatus"] == 0
    assert condition(st, "Ready")["status"] == "True"
    assert condition(st, "Streaming")["status"] == "False"

    rtc.join(APP, "ch-show", "alice")
    st = wait_phase(kube, namespace, "show", "Running")
    assert condition(st, "Streaming")["status"] == "True"
    assert condition(st, "Reconciling")["status"] == "False"
    assert condition(st, "Stalled")["status"] == "False"
    assert st["remoteStatusText"] == "running" and st["lastPolledAt"]
    reasons = {e["reason"] for e in kube.events(namespace, "show")}
    assert "Started" in reasons


@pytest.mark.rtc(**FAST)
def test_a_layout_change_is_applied_live_without_a_restart(kube, namespace, rtc,
                                                           operator) -> None:
    kube.create(manifest("live", namespace))
    rtc.join(APP, "ch-live", "alice")
    first = wait_phase(kube, namespace, "live", "Running")
    kube.patch(KIND, namespace, "live", {"spec": {"layout": {
        "layoutIds": [1, 2, 6], "cropMode": 1, "backgroundColor": "#0000FF",
        "userPanes": [{"paneId": 0, "userId": "alice"}]}}})

    def updated():
        [task] = tasks_of(rtc, "ch-live")
        return task if task["layoutIds"] == [1, 2, 6] else None
    task = kube.wait_for(updated, 20, "the emulator to run the new layout")
    assert (task["cropMode"], task["backgroundColor"]) == (1, 255 * 65536)
    assert task["userPanes"][0]["userId"] == "alice"
    assert [h["action"] for h in task["history"]].count("UpdateMPULayout") == 1
    assert task["status"] == 1 and task["taskId"] == first["taskId"]
    st = kube.wait_for(lambda: (s := status(kube, namespace, "live")).get(
        "observedGeneration") == 2 and s, 10, "status to observe generation 2")
    assert st["phase"] == "Running" and st["restartCount"] == 0
    assert "LayoutUpdated" in {e["reason"] for e in kube.events(namespace, "live")}


def test_an_immutable_change_restarts_after_the_url_cooldown(kube, namespace, rtc,
                                                             operator) -> None:
    kube.create(manifest("enc", namespace))
    first = wait_phase(kube, namespace, "enc", "Waiting", timeout=40)
    kube.patch(KIND, namespace, "enc", {"spec": {"encoding": {"mediaEncode": 30}}})

    def restarted():
        st = status(kube, namespace, "enc")
        return st if st.get("taskId") not in (None, first["taskId"]) and \
            st.get("phase") == "Waiting" else None
    second = kube.wait_for(restarted, 40, "a new incarnation on the new encoding")
    old, new = sorted(tasks_of(rtc, "ch-enc"), key=lambda t: t["startedAt"])
    assert (old["taskId"], new["taskId"]) == (first["taskId"], second["taskId"])
    assert old["status"] == 3 and new["mediaEncode"] == 30
    assert new["taskProfile"] == "4IN_1080P"
    gap = (parse(new["startedAt"]) - parse(old["stoppedAt"])).total_seconds()
    assert gap >= 10.0, f"restarted {gap:.3f}s after the stop on the same URL"
    assert rtc.stats()["urlRuleViolations"] == 0


@pytest.mark.rtc(**FAST)
def test_suspend_stops_and_resume_starts_a_new_task(kube, namespace, rtc, operator) -> None:
    kube.create(manifest("pause", namespace))
    first = wait_phase(kube, namespace, "pause", "Waiting")
    kube.patch(KIND, namespace, "pause", {"spec": {"suspend": True}})
    st = wait_phase(kube, namespace, "pause", "Suspended")
    assert condition(st, "Ready")["status"] == "True"
    assert [t["status"] for t in tasks_of(rtc, "ch-pause")] == [3]
    kube.patch(KIND, namespace, "pause", {"spec": {"suspend": False}})
    st = wait_phase(kube, namespace, "pause", "Waiting")
    assert st["taskId"] != first["taskId"]
    assert sorted(t["status"] for t in tasks_of(rtc, "ch-pause")) == [0, 3]


@pytest.mark.rtc(**FAST)
def test_delete_stops_the_task_before_the_object_goes(kube, namespace, rtc, operator) -> None:
    kube.create(manifest("bye", namespace))
    wait_phase(kube, namespace, "bye", "Waiting")
    kube.delete(KIND, namespace, "bye")
    kube.wait_for(lambda: kube.find(KIND, namespace, "bye") is None, 20, "the object to go")
    [task] = tasks_of(rtc, "ch-bye")
    assert task["status"] == 3 and task["stoppedAt"]
    assert rtc.stats()["liveTasks"] == 0


@pytest.mark.rtc(**FAST)
def test_orphan_policy_leaves_the_task_running_and_says_so(kube, namespace, rtc,
                                                           operator) -> None:
    kube.create(manifest("orphan", namespace, deletionPolicy="Orphan"))
    wait_phase(kube, namespace, "orphan", "Waiting")
    kube.delete(KIND, namespace, "orphan")
    kube.wait_for(lambda: kube.find(KIND, namespace, "orphan") is None, 20, "the object to go")
    [task] = tasks_of(rtc, "ch-orphan")
    assert task["status"] == 0 and task["stoppedAt"] is None
    assert "Orphaned" in {e["reason"] for e in kube.events(namespace, "orphan")}


@pytest.mark.rtc(**FAST)
def test_deleting_a_task_that_never_started_does_not_hang(kube, namespace, rtc,
                                                          operator) -> None:
    kube.create(manifest("never", namespace, layout={"layoutIds": [2, 3]}))
    wait_phase(kube, namespace, "never", "Failed")
    kube.delete(KIND, namespace, "never")
    kube.wait_for(lambda: kube.find(KIND, namespace, "never") is None, 20, "the object to go")
    assert tasks_of(rtc, "ch-never") == []
