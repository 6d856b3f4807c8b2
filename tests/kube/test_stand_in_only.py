"""Behaviour of the stand-in that has no real-cluster twin: fault injection, odd requests."""
from __future__ import annotations

from typing import Any

import kmock
import pytest
import requests

from mpu_operator.sandbox.kube import KubeEmulator
from tests.support.cluster import ApiError, Cluster

pytestmark = [pytest.mark.integration]
MPUTASKS = kmock.resource("mpu-operator.io", "v1alpha1", "mputasks")


def task(namespace: str) -> dict[str, Any]:
    return {"apiVersion": "mpu-operator.io/v1alpha1", "kind": "MPUTask",
            "metadata": {"name": "t1", "namespace": namespace}, "spec": {"size": 1}}


def test_an_injected_failure_changes_nothing(kube: Cluster, kube_emulator: KubeEmulator,
                                            namespace: str) -> None:
    created = kube.create(task(namespace))
    kube_emulator[kmock.action.UPDATE, MPUTASKS][:1] << 503  # one 503, then normal service
    with pytest.raises(ApiError) as injected:
        kube.patch("mpu", namespace, "t1", {"spec": {"size": 2}})
    assert injected.value.status == 503
    assert kube.get("mpu", namespace, "t1") == created
    assert kube.patch("mpu", namespace, "t1", {"spec": {"size": 2}})["spec"] == {"size": 2}


def test_change_log_records_what_watchers_saw(kube: Cluster, kube_emulator: KubeEmulator,
                                              namespace: str) -> None:
    kube.create(task(namespace))
    kube.patch("mpu", namespace, "t1", {"status": {"phase": "Running"}}, status=True)
    kube.delete("mpu", namespace, "t1")
    log = kube_emulator.changes("mputasks", namespace, "t1")
    assert [c.type for c in log] == ["ADDED", "MODIFIED", "DELETED"]
    assert log[1].object["status"] == {"phase": "Running"}


def test_unsupported_patch_types_and_unconditional_put(kube: Cluster, namespace: str) -> None:
    kube.create(task(namespace))
    path = "/apis/mpu-operator.io/v1alpha1/namespaces/" + namespace + "/mputasks/t1"
    with pytest.raises(ApiError) as strategic:
        kube.request("PATCH", path, body={"spec": {}},
                     content_type="application/strategic-merge-patch+json")
    body = kube.get("mpu", namespace, "t1")
    del body["metadata"]["resourceVersion"]
    with pytest.raises(ApiError) as unconditional:
        kube.replace(body)
    assert strategic.value.status == 415
    assert unconditional.value.status == 422


def test_watch_accepts_go_style_booleans(kube: Cluster, namespace: str) -> None:
    url = kube.url + "/apis/mpu-operator.io/v1alpha1/namespaces/" + namespace + "/mputasks"
    kube.create(task(namespace))
    with requests.get(url, params={"watch": "1", "timeoutSeconds": "1"}, stream=True,
                      timeout=10) as rsp:
        lines = [line for line in rsp.iter_lines() if line]
    assert len(lines) == 1 and b'"ADDED"' in lines[0]
