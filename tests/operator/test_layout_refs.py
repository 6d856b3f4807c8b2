"""MPUTasks that use MPULayouts (``layout.layoutRefs``), end to end: the real operator
process against the Kubernetes stand-in and the RTC emulator. What the service was sent
is read off the emulator (``GET /_emulator/tasks``: layoutIds, taskProfile, history),
never off the operator's insides."""

from __future__ import annotations

from typing import Any

import pytest

from mpu_operator.rtc import layouts as rl
from mpu_operator.rtc.client import RTCClient
from mpu_operator.rtc.credentials import Credentials
from tests.operator.conftest import FAST
from tests.operator.harness import (
    ACCESS_SECRET,
    APP,
    KIND,
    condition,
    manifest,
    status,
    tasks_of,
    wait_phase,
)
from tests.operator.kit import summary, wait_status
from tests.operator.test_layouts import LAYOUT, layout, layout_status, pane, wait_ready
from tests.support.cluster import Cluster

#: Integration scenarios; portable: they run unchanged on a real cluster (make e2e).
pytestmark = [pytest.mark.integration, pytest.mark.portable]


def panes(count: int) -> list[dict[str, Any]]:
    return [pane(i, i / count, 1.0 / count) for i in range(count)]


def user(name: str, namespace: str, *layout_names: str, **layout_spec: Any) -> dict[str, Any]:
    """An MPUTask whose layouts are MPULayouts only."""
    return manifest(name, namespace,
                    layout={"layoutRefs": [{"name": n} for n in layout_names], **layout_spec})


def waiting_for_layout(kube: Cluster, namespace: str, name: str,
                       generation: int = 1) -> dict[str, Any]:
    return wait_status(kube, namespace, name,
                       lambda st: st.get("phase") == "Pending"
                       and st.get("observedGeneration") == generation
                       and condition(st, "Ready").get("reason") == "LayoutNotReady",
                       20, f"Pending, LayoutNotReady (generation {generation})")


def the_task(rtc: Any, name: str) -> dict[str, Any]:
    [task] = tasks_of(rtc, f"ch-{name}")
    return task


@pytest.mark.rtc(**FAST)
def test_waits_for_the_layout_then_starts_with_its_id(kube: Cluster, namespace: str,
                                                      rtc: Any, operator: Any) -> None:
    kube.create(user("show", namespace, "stage"))
    st = waiting_for_layout(kube, namespace, "show")
    ready = condition(st, "Ready")
    assert ready["status"] == "False" and "stage" in ready["message"], summary(st)
    assert condition(st, "Stalled").get("status") != "True", "a wait is not stalled"
    assert tasks_of(rtc, "ch-show") == []

    kube.create(layout("stage", namespace))
    layout_id = wait_ready(kube, namespace, "stage")["layoutId"]
    wait_phase(kube, namespace, "show", ("Waiting", "Running"), timeout=20)
    task = the_task(rtc, "show")
    assert task["layoutIds"] == [layout_id]
    assert task["taskProfile"] == "2IN_720P", "Auto did not use the MPULayout's 2 panes"


@pytest.mark.rtc(**FAST)
def test_a_layout_of_another_namespace_is_never_used(kube: Cluster, namespace: str,
                                                     rtc: Any, operator: Any) -> None:
    other = kube.create_namespace()
    kube.create(layout("stage", other))
    foreign = wait_ready(kube, other, "stage")["layoutId"]
    kube.create(user("show", namespace, "stage"))
    waiting_for_layout(kube, namespace, "show")
    # an edit makes the operator look again, well after the other layout was ready
    kube.patch(KIND, namespace, "show", {"spec": {"layout": {"backgroundColor": "#102030"}}})
    st = waiting_for_layout(kube, namespace, "show", generation=2)
    assert other not in str(st) and str(foreign) not in str(st), summary(st)
    assert tasks_of(rtc, "ch-show") == []

    kube.create(layout("stage", namespace, panes=panes(3)))
    own = wait_ready(kube, namespace, "stage")["layoutId"]
    wait_phase(kube, namespace, "show", ("Waiting", "Running"), timeout=20)
    assert own != foreign and the_task(rtc, "show")["layoutIds"] == [own]


@pytest.mark.rtc(**FAST)
def test_switching_the_ref_updates_the_layout_and_releases_the_old_one(
        kube: Cluster, namespace: str, rtc: Any, operator: Any) -> None:
    kube.create(layout("stage", namespace, panes=panes(3)))
    kube.create(layout("wide", namespace, panes=panes(4)))
    first = wait_ready(kube, namespace, "stage")["layoutId"]
    second = wait_ready(kube, namespace, "wide")["layoutId"]
    kube.create(user("show", namespace, "stage", layoutIds=[1]))
    st = wait_phase(kube, namespace, "show", ("Waiting", "Running"), timeout=20)
    task = the_task(rtc, "show")
    assert task["layoutIds"] == [1, first]  # layoutIds first, then the refs
    assert task["taskProfile"] == "4IN_720P"

    kube.delete(LAYOUT, namespace, "stage")  # held while the task refers to it
    kube.wait_for(lambda: condition(layout_status(kube, namespace, "stage"), "Ready")
                  .get("reason") == "InUse", 20, "the delete held (InUse)")
    assert first in [r["layoutId"] for r in rtc.layouts()]

    kube.patch(KIND, namespace, "show", {"spec": {"layout": {"layoutRefs": [{"name": "wide"}]}}})

    def updated() -> dict[str, Any]:
        now = the_task(rtc, "show")
        assert now["layoutIds"] == [1, second], now["layoutIds"]
        return now
    now = kube.wait_for(updated, 20, "UpdateMPULayout with the new layout's id")
    assert now["taskId"] == st["taskId"], "switching a layout restarted the task"
    assert [h["action"] for h in now["history"]].count("UpdateMPULayout") == 1
    kube.wait_for(lambda: kube.find(LAYOUT, namespace, "stage") is None, 30,
                  "the old layout to go once no task refers to it")
    assert [r["layoutId"] for r in rtc.layouts()] == [second]


@pytest.mark.rtc(**FAST)
def test_a_pane_not_in_the_layout_is_a_clear_problem(kube: Cluster, namespace: str,
                                                     rtc: Any, operator: Any) -> None:
    kube.create(layout("stage", namespace))  # panes 0 and 1
    wait_ready(kube, namespace, "stage")
    kube.create(user("show", namespace, "stage", userPanes=[{"paneId": 5, "userId": "ann"}]))
    st = wait_status(kube, namespace, "show",
                     lambda s: condition(s, "Ready").get("reason") == "InvalidSpec",
                     20, "Ready=False reason InvalidSpec")
    message = condition(st, "Ready")["message"]
    assert ("layout.userPanes[0].paneId: pane 5 is in none of the layouts (MPULayout stage "
            "has panes 0 and 1)") in message, message
    assert condition(st, "Stalled")["status"] == "True"
    assert tasks_of(rtc, "ch-show") == []

    kube.patch(KIND, namespace, "show", {"spec": {"layout": {"userPanes": [
        {"paneId": 1, "userId": "ann"}]}}})
    wait_phase(kube, namespace, "show", ("Waiting", "Running"), timeout=20)
    assert status(kube, namespace, "show")["observedGeneration"] == 2


@pytest.mark.rtc(**FAST)
def test_a_pane_edit_of_the_layout_leaves_the_task_running_and_shows_broken_rules(
        kube: Cluster, namespace: str, rtc: Any, operator: Any) -> None:
    kube.create(layout("stage", namespace, panes=panes(3)))
    layout_id = wait_ready(kube, namespace, "stage")["layoutId"]
    kube.create(user("show", namespace, "stage", userPanes=[{"paneId": 2, "userId": "ann"}]))
    st = wait_phase(kube, namespace, "show", ("Waiting", "Running"), timeout=20)
    assert the_task(rtc, "show")["taskProfile"] == "4IN_720P"

    # two panes: the service applies them; pane 2 is gone, and the task says so
    kube.patch(LAYOUT, namespace, "stage", {"spec": {"panes": panes(2)}})
    broken = wait_status(kube, namespace, "show",
                         lambda s: condition(s, "Ready").get("reason") == "InvalidSpec",
                         20, "Ready=False reason InvalidSpec after the layout lost pane 2")
    assert "layout.userPanes[0].paneId: pane 2 is in none of the layouts" in \
        condition(broken, "Ready")["message"]
    assert broken["taskId"] == st["taskId"]

    # four panes: the rules hold again; 4IN_720P still covers, so no restart
    kube.patch(LAYOUT, namespace, "stage", {"spec": {"panes": panes(4)}})
    kube.wait_for(lambda: len(rtc.layouts()[0]["panes"]) == 4, 20, "ModifyMPULayout, 4 panes")
    wait_status(kube, namespace, "show",
                lambda s: condition(s, "Ready").get("status") == "True", 20, "Ready again")
    task = the_task(rtc, "show")
    actions = [h["action"] for h in task["history"]]
    assert task["taskId"] == st["taskId"] and "StopMPUTask" not in actions, actions
    assert "UpdateMPULayout" not in actions and task["layoutIds"] == [layout_id]

    # two panes again, with the pane moved: Auto alone would pick 2IN_720P, but the task's
    # 4IN_720P still covers them, so it keeps running (the profile cannot change live)
    kube.patch(KIND, namespace, "show", {"spec": {"layout": {"userPanes": [
        {"paneId": 1, "userId": "ann"}]}}})
    kube.patch(LAYOUT, namespace, "stage", {"spec": {"panes": panes(2)}})
    kube.wait_for(lambda: len(rtc.layouts()[0]["panes"]) == 2, 20, "ModifyMPULayout, 2 panes")
    wait_status(kube, namespace, "show",
                lambda s: s.get("observedGeneration") == 2
                and condition(s, "Ready").get("status") == "True", 20, "Ready at generation 2")
    task = the_task(rtc, "show")
    assert task["taskId"] == st["taskId"] and task["taskProfile"] == "4IN_720P"
    assert "StopMPUTask" not in [h["action"] for h in task["history"]]


@pytest.mark.rtc(**FAST)
def test_a_recreated_layout_reaches_the_running_task_as_an_update(
        kube: Cluster, namespace: str, rtc: Any, operator: Any) -> None:
    kube.create(layout("stage", namespace))
    first = wait_ready(kube, namespace, "stage")["layoutId"]
    kube.create(user("show", namespace, "stage"))
    st = wait_phase(kube, namespace, "show", ("Waiting", "Running"), timeout=20)
    assert the_task(rtc, "show")["layoutIds"] == [first]

    # someone deletes the layout at the service; the next edit finds it gone and creates
    # it again, under a new id, which the running task is moved to without a restart
    client = RTCClient(rtc.url)
    rl.delete_mpu_layout(client, Credentials("testid", ACCESS_SECRET), APP, first)
    kube.patch(LAYOUT, namespace, "stage", {"spec": {"audioMixCount": 2}})
    second = kube.wait_for(lambda: (i := layout_status(kube, namespace, "stage")
                                    .get("layoutId")) not in (None, first) and i,
                           30, "the MPULayout created again under a new id")

    def moved() -> dict[str, Any]:
        task = the_task(rtc, "show")
        assert task["layoutIds"] == [second], task["layoutIds"]
        return task
    task = kube.wait_for(moved, 20, "UpdateMPULayout with the new id")
    assert task["taskId"] == st["taskId"]
    assert "StopMPUTask" not in [h["action"] for h in task["history"]]
