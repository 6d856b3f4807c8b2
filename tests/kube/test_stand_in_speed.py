"""The stand-in's speed-ups keep its behaviour: reactions see each request once, and the
read-only snapshots shared by the store, the change log and the readers stay distinct.

``make bench-kube`` measures the speed itself; these pin what would silently break."""
from __future__ import annotations

from typing import Any

import kmock
import pytest

from mpu_operator.sandbox.kube import KubeEmulator
from tests.support.cluster import ApiError, Cluster

pytestmark = [pytest.mark.integration]


def task(namespace: str) -> dict[str, Any]:
    return {"apiVersion": "mpu-operator.io/v1alpha1", "kind": "MPUTask",
            "metadata": {"name": "t1", "namespace": namespace}, "spec": {"size": 1}}


def test_each_request_is_matched_once_not_the_whole_log_again(
        kube: Cluster, kube_emulator: KubeEmulator, namespace: str) -> None:
    """Stock kmock re-filters every request ever received on each new one (quadratic: the
    N=300 bench got 223 creates in 20 minutes). A criterion here is asked once a request."""
    kube.create(task(namespace))
    asked: list[str] = []
    kube_emulator[lambda request: asked.append(request.url.path) or False] << 500  # never
    for _ in range(30):
        assert kube.get("mpu", namespace, "t1")["spec"] == {"size": 1}
    assert len(asked) == 30, f"a reaction's criterion was asked {len(asked)} times"


def test_reactions_still_take_priority_and_slices_deplete(
        kube: Cluster, kube_emulator: KubeEmulator, namespace: str) -> None:
    kube.create(task(namespace))
    kube_emulator[kmock.action.FETCH][:2] << 418  # two teapots, then normal service
    statuses = []
    for _ in range(3):
        try:
            kube.get("mpu", namespace, "t1")
            statuses.append(200)
        except ApiError as e:
            statuses.append(e.status)
    assert statuses == [418, 418, 200]


def test_stored_versions_are_snapshots_that_later_writes_do_not_touch(
        kube: Cluster, kube_emulator: KubeEmulator, namespace: str) -> None:
    kube.create(task(namespace))
    kube.patch("mpu", namespace, "t1", {"status": {"phase": "Running"}}, status=True)
    kube.patch("mpu", namespace, "t1", {"spec": {"size": 2}})
    kube.patch("mpu", namespace, "t1", {"status": {"phase": "Done"}}, status=True)
    log = kube_emulator.changes("mputasks", namespace, "t1")
    assert [c.object.get("status") for c in log] == [
        None, {"phase": "Running"}, {"phase": "Running"}, {"phase": "Done"}]
    assert [c.object["spec"]["size"] for c in log] == [1, 1, 2, 2]
    assert [c.object["metadata"]["generation"] for c in log] == [1, 1, 2, 2]
    listed = kube.list("mpu", namespace)
    assert [o["status"] for o in listed] == [{"phase": "Done"}]
