"""The stand-in's object semantics, pinned: what a real apiserver does and we rely on.

Tests marked ``portable`` use only the HTTP helpers, so ``make e2e`` runs them against
kind too: there they check that the stand-in's claims are the real server's behaviour.
"""
from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from tests.support.cluster import ApiError, Cluster

pytestmark = [pytest.mark.integration]
portable = pytest.mark.portable


def task(namespace: str, name: str = "t1", **spec: Any) -> dict[str, Any]:
    """A valid MPUTask (a real apiserver with the CRD refuses anything else); the tests vary
    its ``channelId``. No operator runs here, so nothing is ever started."""
    return {"apiVersion": "mpu-operator.io/v1alpha1", "kind": "MPUTask",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec or valid_spec("c1")}


def valid_spec(channel: str) -> dict[str, Any]:
    return {"appId": "app", "channelId": channel, "streamURL": "rtmp://h.example/live/s",
            "layout": {"layoutIds": [1]}, "encoding": {"mediaEncode": 20}}


def channel(value: str) -> dict[str, Any]:
    return {"spec": {"channelId": value}}


def rv(obj: dict[str, Any]) -> int:
    return int(obj["metadata"]["resourceVersion"])


@portable
def test_create_fills_server_metadata_and_namespace_from_url(kube: Cluster, namespace: str) -> None:
    body = task(namespace)
    del body["metadata"]["namespace"]
    created = kube.create(body, namespace=namespace)
    meta = created["metadata"]
    assert meta["namespace"] == namespace
    assert re.fullmatch(r"[0-9a-f-]{36}", meta["uid"])
    assert meta["generation"] == 1
    assert rv(created) > 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["creationTimestamp"])
    assert kube.get("mputasks", namespace, "t1") == created


@portable
def test_resource_versions_grow_across_resources(kube: Cluster, namespace: str) -> None:
    first = kube.create(task(namespace, "a"))
    secret = kube.create({"apiVersion": "v1", "kind": "Secret",
                          "metadata": {"name": "s", "namespace": namespace}})
    second = kube.patch("mpu", namespace, "a", channel("c2"))
    assert rv(first) < rv(secret) < rv(second)
    assert rv(second) <= int(kube.list_raw("mpu", namespace)["metadata"]["resourceVersion"])


@portable
def test_generation_grows_on_spec_changes_only(kube: Cluster, namespace: str) -> None:
    kube.create(task(namespace))
    after_spec = kube.patch("mpu", namespace, "t1", channel("c2"))
    after_meta = kube.patch("mpu", namespace, "t1", {"metadata": {"labels": {"a": "b"},
                                                                  "annotations": {"c": "d"}}})
    after_status = kube.patch("mpu", namespace, "t1", {"status": {"phase": "Running"}},
                              status=True)
    generations = [o["metadata"]["generation"] for o in (after_spec, after_meta, after_status)]
    assert generations == [2, 2, 2]
    assert rv(after_spec) < rv(after_meta) < rv(after_status)


@portable
def test_status_is_a_subresource(kube: Cluster, namespace: str) -> None:
    body = task(namespace)
    body["status"] = {"phase": "Forged"}
    assert "status" not in kube.create(body)  # dropped on create
    kube.patch("mpu", namespace, "t1", {"status": {"phase": "Running"}}, status=True)
    main = kube.patch("mpu", namespace, "t1", {"status": {"phase": "Ignored"},
                                               "spec": {"channelId": "c3"}})
    assert main["status"] == {"phase": "Running"} and main["spec"]["channelId"] == "c3"
    sub = kube.patch("mpu", namespace, "t1", {"status": {"x": 1}, "spec": {"channelId": "c9"}},
                     status=True)
    assert sub["spec"]["channelId"] == "c3"
    assert sub["status"] == {"phase": "Running", "x": 1}


@portable
def test_noop_patch_keeps_the_resource_version(kube: Cluster, namespace: str) -> None:
    created = kube.create(task(namespace))
    same = kube.patch("mpu", namespace, "t1", channel("c1"))
    assert rv(same) == rv(created)


@portable
def test_stale_resource_version_is_a_conflict(kube: Cluster, namespace: str) -> None:
    created = kube.create(task(namespace))
    kube.patch("mpu", namespace, "t1", channel("c2"))
    stale = created["metadata"]["resourceVersion"]
    with pytest.raises(ApiError) as merge:
        kube.patch("mpu", namespace, "t1", {"metadata": {"resourceVersion": stale},
                                            "spec": {"channelId": "c3"}})
    with pytest.raises(ApiError) as put:
        kube.replace(created)
    with pytest.raises(ApiError) as json_patch:  # what kopf sends for finalizers
        kube.patch("mpu", namespace, "t1", [
            {"op": "test", "path": "/metadata/resourceVersion", "value": stale},
            {"op": "add", "path": "/metadata/finalizers", "value": ["x"]}])
    assert (merge.value.status, merge.value.reason) == (409, "Conflict")
    assert (put.value.status, put.value.reason) == (409, "Conflict")
    assert json_patch.value.status == 422
    assert kube.get("mpu", namespace, "t1")["spec"]["channelId"] == "c2"


@portable
def test_fresh_json_patch_test_passes(kube: Cluster, namespace: str) -> None:
    created = kube.create(task(namespace))
    patched = kube.patch("mpu", namespace, "t1", [
        {"op": "test", "path": "/metadata/resourceVersion",
         "value": created["metadata"]["resourceVersion"]},
        {"op": "add", "path": "/metadata/labels", "value": {"a": "b"}}])
    assert patched["metadata"]["labels"] == {"a": "b"}


@portable
def test_generate_name(kube: Cluster, namespace: str) -> None:
    body = task(namespace)
    body["metadata"] = {"generateName": "gen-"}
    names = {kube.create(body, namespace=namespace)["metadata"]["name"] for _ in range(3)}
    assert len(names) == 3 and all(re.fullmatch(r"gen-[a-z0-9]{5}", n) for n in names)


@portable
def test_events_are_created_with_generate_name(kube: Cluster, namespace: str) -> None:
    event = {"apiVersion": "v1", "kind": "Event",
             "metadata": {"generateName": "kopf-event-"}, "type": "Normal", "reason": "Started",
             "message": "m", "involvedObject": {"kind": "MPUTask", "name": "t1",
                                                "namespace": namespace}}
    kube.create(event, namespace=namespace)
    kube.create(event, namespace=namespace)
    found = kube.events(namespace, involved_name="t1", reason="Started")
    assert len(found) == 2 and found[0]["metadata"]["name"] != found[1]["metadata"]["name"]


@portable
def test_name_clash_and_missing_objects(kube: Cluster, namespace: str) -> None:
    kube.create(task(namespace))
    with pytest.raises(ApiError) as clash:
        kube.create(task(namespace))
    with pytest.raises(ApiError) as missing:
        kube.get("mpu", namespace, "absent")
    with pytest.raises(ApiError) as no_namespace:
        kube.create(task("no-such-namespace-here"))
    assert (clash.value.status, clash.value.reason) == (409, "AlreadyExists")
    assert (missing.value.status, missing.value.reason) == (404, "NotFound")
    assert no_namespace.value.status == 404
    assert kube.find("mpu", namespace, "absent") is None


@portable
def test_delete_without_finalizers_is_immediate(kube: Cluster, namespace: str) -> None:
    kube.create(task(namespace))
    kube.delete("mpu", namespace, "t1")
    assert kube.find("mpu", namespace, "t1") is None
    assert kube.delete("mpu", namespace, "t1", missing_ok=True) is None


@portable
def test_delete_with_finalizers_waits_for_them(kube: Cluster, namespace: str) -> None:
    body = task(namespace)
    body["metadata"]["finalizers"] = ["mpu-operator.io/stop"]
    kube.create(body)
    marked = kube.delete("mpu", namespace, "t1")
    assert marked is not None
    assert marked["metadata"]["deletionTimestamp"]
    assert marked["metadata"]["generation"] == 2  # markAsDeleting bumps it
    again = kube.delete("mpu", namespace, "t1")
    assert again is not None and rv(again) == rv(marked)  # a second DELETE changes nothing
    with pytest.raises(ApiError) as adding:
        kube.patch("mpu", namespace, "t1", {"metadata": {"finalizers": ["a", "b"]}})
    assert adding.value.status == 422
    assert kube.get("mpu", namespace, "t1")["metadata"]["deletionTimestamp"]
    kube.patch("mpu", namespace, "t1", {"metadata": {"finalizers": None}})
    assert kube.find("mpu", namespace, "t1") is None


@portable
def test_secret_string_data_becomes_data(kube: Cluster, namespace: str) -> None:
    kube.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s",
                 "namespace": namespace}, "stringData": {"url": "rtmp://x/y"}})
    secret = kube.get("secrets", namespace, "s")
    assert "stringData" not in secret
    assert base64.b64decode(secret["data"]["url"]) == b"rtmp://x/y"


@portable
def test_list_with_label_selector(kube: Cluster, namespace: str) -> None:
    for name, app in (("a", "x"), ("b", "y")):
        body = task(namespace, name)
        body["metadata"]["labels"] = {"app": app}
        kube.create(body)
    assert [o["metadata"]["name"] for o in kube.list("mpu", namespace)] == ["a", "b"]
    assert [o["metadata"]["name"] for o in kube.list("mpu", namespace,
                                                     label_selector="app=y")] == ["b"]
    assert [o["metadata"]["name"] for o in kube.list("mpu", namespace,
                                                     label_selector="app!=y")] == ["a"]


@portable
def test_discovery_serves_what_kopf_waits_for(kube: Cluster) -> None:
    core = {r["name"]: r for r in kube.request("GET", "/api/v1")["resources"]}
    assert {"namespaces", "events", "secrets"} <= set(core)
    assert core["namespaces"]["namespaced"] is False and core["secrets"]["namespaced"] is True
    listing = kube.request("GET", "/apis/mpu-operator.io/v1alpha1")
    ours = {r["name"]: r for r in listing["resources"]}
    assert ours["mputasks"]["namespaced"] is True and ours["mputasks"]["kind"] == "MPUTask"
    assert "mputasks/status" in ours
    groups = {g["name"] for g in kube.request("GET", "/apis")["groups"]}
    assert {"mpu-operator.io", "apiextensions.k8s.io"} <= groups
