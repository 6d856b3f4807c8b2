"""MPULayout end to end: the real operator process against the Kubernetes stand-in and the
RTC emulator. Claims are read off the cluster (status, existence) and the emulator's record
(``GET /_emulator/layouts``), never off the operator's insides."""

from __future__ import annotations

from typing import Any

import pytest

from tests.operator.conftest import FAST
from tests.operator.harness import APP, KIND, condition, manifest
from tests.support.cluster import Cluster

#: Integration scenarios; the ``portable`` ones run unchanged on a real cluster (make e2e).
pytestmark = [pytest.mark.integration]

LAYOUT = "MPULayout"
API_VERSION = "mpu-operator.io/v1alpha1"


def pane(pane_id: int, x: float, width: float, **extra: Any) -> dict[str, Any]:
    return {"paneId": pane_id, "x": x, "y": 0.0, "width": width, "height": 1.0, **extra}


def layout(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    body = {"appId": APP, "audioMixCount": 3,
            "panes": [pane(0, 0.0, 0.5, majorPane=True), pane(1, 0.5, 0.5)], **spec}
    return {"apiVersion": API_VERSION, "kind": LAYOUT,
            "metadata": {"name": name, "namespace": namespace}, "spec": body}


def layout_status(kube: Cluster, namespace: str, name: str) -> dict[str, Any]:
    obj = kube.find(LAYOUT, namespace, name)
    return dict((obj or {}).get("status") or {})


def wait_ready(kube: Cluster, namespace: str, name: str, timeout: float = 20) -> dict[str, Any]:
    def check() -> dict[str, Any]:
        st = layout_status(kube, namespace, name)
        assert condition(st, "Ready").get("status") == "True" and st.get("layoutId"), st
        return st
    return kube.wait_for(check, timeout, f"MPULayout {namespace}/{name} Ready with a layoutId")


def service_layouts(rtc: Any) -> list[dict[str, Any]]:
    return list(rtc.layouts())


def user(name: str, namespace: str, *layout_names: str) -> dict[str, Any]:
    """An MPUTask that refers to layouts by name (layout.layoutRefs)."""
    task = manifest(name, namespace)
    task["spec"]["layout"]["layoutRefs"] = [{"name": n} for n in layout_names]
    return task


@pytest.mark.portable
@pytest.mark.rtc(**FAST)
def test_create_edit_delete(kube: Cluster, namespace: str, rtc: Any, operator: Any) -> None:
    kube.create(layout("stage", namespace))
    st = wait_ready(kube, namespace, "stage")
    (remote,) = service_layouts(rtc)
    assert (remote["layoutId"], remote["appId"]) == (st["layoutId"], APP)
    assert remote["name"] == st["layoutName"] and remote["name"].startswith(f"{namespace}.stage.")
    assert [p["paneId"] for p in remote["panes"]] == [0, 1] and remote["audioMixCount"] == 3
    assert condition(st, "InUse")["status"] == "False"

    kube.patch(LAYOUT, namespace, "stage", {"spec": {"audioMixCount": 1, "panes": [
        pane(0, 0.0, 1.0, majorPane=True)]}})

    def modified() -> dict[str, Any]:
        (now,) = service_layouts(rtc)
        assert now["modified"] == 1 and len(now["panes"]) == 1, now
        return now
    now = kube.wait_for(modified, 20, "ModifyMPULayout with the edited panes")
    assert (now["layoutId"], now["audioMixCount"]) == (st["layoutId"], 1)  # same layout
    kube.wait_for(lambda: (s := layout_status(kube, namespace, "stage"))
                  .get("observedGeneration") == 2 and condition(s, "Ready")["status"] == "True",
                  20, "generation 2 observed, Ready")

    kube.delete(LAYOUT, namespace, "stage")
    kube.wait_for(lambda: kube.find(LAYOUT, namespace, "stage") is None, 20, "the object to go")
    assert service_layouts(rtc) == [], "DeleteMPULayout was not called"


@pytest.mark.portable
@pytest.mark.rtc(**FAST)
def test_delete_waits_for_the_mputasks_of_its_namespace(kube: Cluster, namespace: str,
                                                        rtc: Any, operator: Any) -> None:
    other = kube.create_namespace()
    kube.create(layout("stage", namespace))
    wait_ready(kube, namespace, "stage")
    kube.create(user("show", namespace, "stage"))
    kube.create(user("intruder", other, "stage"))  # same name, another namespace

    def in_use() -> dict[str, Any]:
        st = layout_status(kube, namespace, "stage")
        assert condition(st, "InUse").get("status") == "True", st
        return st
    st = kube.wait_for(in_use, 20, "InUse=True")
    assert "show" in condition(st, "InUse")["message"]
    assert "intruder" not in str(st), "another namespace's MPUTask shows in the status"

    kube.delete(LAYOUT, namespace, "stage")

    def held() -> dict[str, Any]:
        st = layout_status(kube, namespace, "stage")
        ready = condition(st, "Ready")
        assert (ready.get("status"), ready.get("reason")) == ("False", "InUse"), st
        return st
    st = kube.wait_for(held, 20, "the delete held with Ready=False reason InUse")
    assert "show" in condition(st, "Ready")["message"] and "intruder" not in str(st)
    assert len(service_layouts(rtc)) == 1, "deleted at the service while in use"
    assert kube.find(LAYOUT, namespace, "stage") is not None

    kube.delete(KIND, namespace, "show")  # the last user of this namespace goes
    kube.wait_for(lambda: kube.find(LAYOUT, namespace, "stage") is None, 30,
                  "the layout to go once nothing of its namespace refers to it")
    assert service_layouts(rtc) == []
    assert kube.find(KIND, other, "intruder") is not None  # it never held anything


@pytest.mark.portable
@pytest.mark.rtc(**FAST)
def test_a_removed_reference_releases_the_layout(kube: Cluster, namespace: str, rtc: Any,
                                                 operator: Any) -> None:
    kube.create(layout("stage", namespace))
    wait_ready(kube, namespace, "stage")
    kube.create(user("show", namespace, "stage"))
    kube.delete(LAYOUT, namespace, "stage")
    kube.wait_for(lambda: condition(layout_status(kube, namespace, "stage"), "Ready")
                  .get("reason") == "InUse", 20, "the delete held")
    kube.patch(KIND, namespace, "show", {"spec": {"layout": {"layoutRefs": []}}})
    kube.wait_for(lambda: kube.find(LAYOUT, namespace, "stage") is None, 30,
                  "the layout to go once the reference is removed")
    assert service_layouts(rtc) == []


@pytest.mark.portable
@pytest.mark.rtc(**FAST)
def test_a_create_whose_answer_is_lost_is_found_not_repeated(kube: Cluster, namespace: str,
                                                             rtc: Any, operator: Any) -> None:
    rtc.fault("CreateMPULayout", timeout=True, applied=True)  # created; the answer never comes
    kube.create(layout("stage", namespace))
    st = wait_ready(kube, namespace, "stage", timeout=45)
    remote = service_layouts(rtc)
    assert [r["layoutId"] for r in remote] == [st["layoutId"]], "a second layout was created"
    assert rtc.stats()["timeoutsInjected"] == 1


# Not portable: a real apiserver's CRD schema refuses the spec before the operator sees it.
@pytest.mark.rtc(**FAST)
def test_an_invalid_spec_is_reported_and_nothing_is_created(kube: Cluster, namespace: str,
                                                            rtc: Any, operator: Any) -> None:
    bad = layout("bad", namespace, audioMixCount=9)  # the stand-in has no CRD: the operator judges
    kube.create(bad)
    st = kube.wait_for(lambda: (s := layout_status(kube, namespace, "bad")) and
                       condition(s, "Ready").get("reason") == "InvalidSpec" and s, 20,
                       "Ready=False reason InvalidSpec")
    assert "audioMixCount: must be at most 6" in condition(st, "Ready")["message"]
    assert service_layouts(rtc) == []
    kube.delete(LAYOUT, namespace, "bad")
    kube.wait_for(lambda: kube.find(LAYOUT, namespace, "bad") is None, 20, "the object to go")
