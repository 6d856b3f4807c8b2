"""Overlays and subscriptions applied live (#10 part 1), end to end: the real operator
process against the Kubernetes stand-in and the RTC emulator. Every claim about the
service is read off the emulator's record of the task and its calls."""

from __future__ import annotations

from typing import Any

import pytest

from tests.operator.conftest import FAST
from tests.operator.harness import APP, KIND, manifest, status, tasks_of, wait_phase
from tests.operator.kit import calls, wait_status

#: Integration scenarios; portable: they run unchanged on a real cluster (make e2e).
pytestmark = [pytest.mark.integration, pytest.mark.portable]

#: A logo whose URL carries a signed query: it must reach the service, never an Event.
LOGO_URL = "https://cdn.example.com/logo.png?Signature=LOGOSECRET"
LOGO = {"url": LOGO_URL, "x": 0.8, "y": 0.05, "width": 0.15, "height": 0.1, "alpha": 0.7}


def _running(kube, namespace: str, rtc, name: str) -> dict[str, Any]:
    kube.create(manifest(name, namespace))
    rtc.join(APP, f"ch-{name}", "alice")
    return wait_phase(kube, namespace, name, "Running")


def _observed(kube, namespace: str, name: str, generation: int) -> dict[str, Any]:
    return wait_status(kube, namespace, name,
                       lambda s: s.get("observedGeneration") == generation
                       and s.get("phase") == "Running", 20,
                       f"status to observe generation {generation}")


def _actions(task: dict[str, Any]) -> list[str]:
    return [h["action"] for h in task["history"]]


def _the_task_when(rtc, channel: str, kube, check, what: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        [task] = tasks_of(rtc, channel)
        return task if check(task) else None
    return kube.wait_for(probe, 20, what)


@pytest.mark.rtc(**FAST)
def test_a_watermark_added_to_a_running_task_is_one_update_mpu_task(kube, namespace, rtc,
                                                                    operator) -> None:
    first = _running(kube, namespace, rtc, "logo")
    kube.patch(KIND, namespace, "logo", {"spec": {"layout": {"watermarks": [LOGO]}}})
    task = _the_task_when(rtc, "ch-logo", kube, lambda t: t["watermarks"],
                          "the emulator to show the watermark")
    [mark] = task["watermarks"]
    assert (mark["url"], mark["alpha"]) == (LOGO_URL, 0.7)
    assert _actions(task).count("UpdateMPUTask") == 1
    assert "UpdateMPULayout" not in _actions(task) and calls(task, "StopMPUTask") == []
    assert task["taskId"] == first["taskId"] and task["status"] == 1
    st = _observed(kube, namespace, "logo", 2)
    assert st["restartCount"] == 0 and st["taskId"] == first["taskId"]
    events = kube.events(namespace, "logo")
    updated = [e for e in events if e["reason"] == "TaskUpdated"]
    assert len(updated) == 1 and "RequestId" in updated[0]["message"]
    assert all("LOGOSECRET" not in str(e) for e in events)
    assert "LOGOSECRET" not in str(st)


@pytest.mark.rtc(**FAST)
def test_a_layout_ids_only_edit_still_uses_update_mpu_layout(kube, namespace, rtc,
                                                            operator) -> None:
    first = _running(kube, namespace, rtc, "ids")
    kube.patch(KIND, namespace, "ids", {"spec": {"layout": {"layoutIds": [1, 2, 6]}}})
    task = _the_task_when(rtc, "ch-ids", kube, lambda t: t["layoutIds"] == [1, 2, 6],
                          "the emulator to run the new layout")
    assert _actions(task).count("UpdateMPULayout") == 1
    assert "UpdateMPUTask" not in _actions(task)
    assert task["taskId"] == first["taskId"]
    _observed(kube, namespace, "ids", 2)
    # The daemons read changes themselves: kopf keeps no diff base (one write less per
    # creation and per edit, see handlers.ChangesReadByDaemons).
    annotations = kube.get(KIND, namespace, "ids")["metadata"].get("annotations") or {}
    assert not [key for key in annotations if "last-handled-configuration" in key]


@pytest.mark.rtc(**FAST)
def test_a_subscribe_edit_is_update_mpu_task(kube, namespace, rtc, operator) -> None:
    first = _running(kube, namespace, rtc, "subs")
    kube.patch(KIND, namespace, "subs", {"spec": {
        "subscribe": {"audioUsers": ["alice"]}, "unsubscribe": {"cameraUsers": ["bob"]}}})
    task = _the_task_when(rtc, "ch-subs", kube, lambda t: t["subSpecAudioUsers"] == ["alice"],
                          "the emulator to show the subscription")
    assert task["unsubSpecCameraUsers"] == ["bob"]
    assert _actions(task).count("UpdateMPUTask") == 1
    assert task["taskId"] == first["taskId"] and calls(task, "StopMPUTask") == []
    st = _observed(kube, namespace, "subs", 2)
    assert st["restartCount"] == 0


@pytest.mark.rtc(**FAST)
def test_a_mix_mode_edit_restarts_with_a_new_task_id(kube, namespace, rtc, operator) -> None:
    first = _running(kube, namespace, rtc, "mode")
    kube.patch(KIND, namespace, "mode", {"spec": {
        "mixMode": "Single", "subscribeUsers": ["alice"],
        "single": {"sourceType": "camera", "streamType": "AudioOnly"}}})
    st = wait_status(kube, namespace, "mode",
                     lambda s: s.get("taskId") not in (None, first["taskId"])
                     and s.get("phase") in ("Waiting", "Running"), 40,
                     "a new incarnation in Single mode")
    old, new = sorted(tasks_of(rtc, "ch-mode"), key=lambda t: t["startedAt"])
    assert (old["taskId"], new["taskId"]) == (first["taskId"], st["taskId"])
    assert old["status"] == 3 and calls(old, "StopMPUTask")
    assert "UpdateMPUTask" not in _actions(old)
    assert new["mixMode"] == 1


@pytest.mark.rtc(**FAST)
def test_an_operator_killed_after_sending_an_update_resends_it_without_a_restart(
        kube, namespace, rtc, start_operator) -> None:
    first_operator = start_operator()
    first = _running(kube, namespace, rtc, "crashup")
    applied = first["internal"]["appliedTask"]
    # The update takes effect at the service, then its answer is lost: the operator never
    # records it, and is killed while it waits.
    rtc.fault("UpdateMPUTask", timeout=True, applied=True)
    kube.patch(KIND, namespace, "crashup", {"spec": {"layout": {"watermarks": [LOGO]}}})
    kube.wait_for(lambda: rtc.stats()["timeoutsInjected"] == 1, 15, "the held update")
    first_operator.kill()
    [task] = tasks_of(rtc, "ch-crashup")
    assert task["watermarks"], "the update took effect before the answer was lost"
    assert status(kube, namespace, "crashup")["internal"]["appliedTask"] == applied

    start_operator()
    st = _observed(kube, namespace, "crashup", 2)
    [task] = tasks_of(rtc, "ch-crashup")
    assert task["taskId"] == first["taskId"] == st["taskId"] and task["status"] == 1
    assert calls(task, "StopMPUTask") == [] and len(calls(task, "StartMPUTask")) == 1
    updates = calls(task, "UpdateMPUTask")
    assert len(updates) == 2 and updates[-1]["outcome"] == "OK", updates
    assert st["restartCount"] == 0 and len(task["watermarks"]) == 1
