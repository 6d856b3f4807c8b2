"""The sandbox's pure pieces (no kubectl needed): printer-column JSONPath, ages, field
selectors, 422 causes, protobuf bodies, and the admission hook over HTTP."""
from __future__ import annotations

import types
from typing import Any

import pytest

from mpu_operator.api.crd import build_crd
from mpu_operator.sandbox import kube as kube_module
from mpu_operator.sandbox import protobuf, rules
from mpu_operator.sandbox.jsonpath import find
from mpu_operator.sandbox.resources import MPUTASKS
from mpu_operator.sandbox.tables import human_duration
from tests.support.cluster import ApiError, Cluster

READY = '.status.conditions[?(@.type=="Ready")].status'


def test_printer_column_paths() -> None:
    obj = {"status": {"conditions": [{"type": "Stalled", "status": "False"},
                                     {"type": "Ready", "status": "True"}]}}
    assert find(obj, READY) == ["True"]
    assert find(obj, "{.status.conditions[*].type}") == ["Stalled", "Ready"]
    assert find(obj, ".status.conditions[1].status") == ["True"]
    assert find(obj, ".status.missing") == []
    with pytest.raises(ValueError, match="unsupported JSONPath"):
        find(obj, ".status..type")


@pytest.mark.parametrize(("seconds", "shown"), [
    (-5, "<invalid>"), (5, "5s"), (119, "119s"), (150, "2m30s"), (600, "10m"),
    (5 * 3600 + 180, "5h3m"), (30 * 3600, "30h"), (3 * 86400, "3d"), (400 * 86400, "400d")])
def test_ages_as_kubectl_prints_them(seconds: float, shown: str) -> None:
    assert human_duration(seconds) == shown


def test_event_field_selectors_as_kubectl_describe_sends_them() -> None:
    event = {"metadata": {"name": "e1", "namespace": "ns"}, "reason": "Started",
             "involvedObject": {"kind": "MPUTask", "name": "demo", "uid": "u1"}}
    match = rules.field_matcher("involvedObject.name=demo,involvedObject.kind=MPUTask,"
                                "involvedObject.uid=u1,reason!=Failed", "Event")
    assert match(event)
    assert not rules.field_matcher("involvedObject.name==other", "Event")(event)
    with pytest.raises(rules.KubernetesError):  # custom resources: metadata.* only
        rules.field_matcher("spec.appId=x", "MPUTask")


def test_refusals_name_each_field_as_the_apiserver() -> None:
    one = rules.refused(MPUTASKS, "t", ["spec.appId: Required value"])
    assert one.status == 422 and one.reason == "Invalid"
    assert one.message == 'MPUTask.mpu-operator.io "t" is invalid: spec.appId: Required value'
    two = rules.refused(MPUTASKS, "t", ["spec.a: Required value",
                                        "spec.b: Invalid value: 3: must be at most 2"])
    assert two.message is not None and two.message.endswith(
        "is invalid: [spec.a: Required value, spec.b: Invalid value: 3: must be at most 2]")
    assert two.details["causes"] == [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.a"},
        {"reason": "FieldValueInvalid", "message": "Invalid value: 3: must be at most 2",
         "field": "spec.b"}]


def _field(number: int, payload: bytes) -> bytes:
    assert number < 16 and len(payload) < 128
    return bytes([number << 3 | 2, len(payload)]) + payload


def test_protobuf_secret_as_kubectl_create_secret_sends_it() -> None:
    meta = _field(1, b"url") + _field(11, _field(1, b"app") + _field(2, b"mpu"))
    secret = _field(1, meta) + _field(2, _field(1, b"url") + _field(2, b"rtmp://x")) + \
        _field(3, b"Opaque")
    envelope = protobuf.MAGIC + _field(1, _field(1, b"v1") + _field(2, b"Secret")) + \
        _field(2, secret)
    assert protobuf.decode(envelope) == {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "url", "labels": {"app": "mpu"}},
        "data": {"url": "cnRtcDovL3g="}}
    with pytest.raises(protobuf.DecodeError, match="apps/v1/Deployment"):
        protobuf.decode(protobuf.MAGIC + _field(1, _field(1, b"apps/v1") + _field(
            2, b"Deployment")) + _field(2, b""))


@pytest.mark.integration
def test_admission_refusal_reaches_the_client(kube: Cluster, namespace: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """With a CRD installed, create and patch go through ``admission.admit``; its errors
    become a 422 Status with causes, and its result (defaults) is what is stored."""
    seen: list[Any] = []

    def admit(crd: Any, obj: Any, old: Any) -> tuple[dict[str, Any], list[str]]:
        seen.append((crd["metadata"]["name"], old is None))
        if obj["spec"].get("appId") == "bad":
            return obj, ["spec.appId: Invalid value: \"bad\": not allowed"]
        return {**obj, "spec": {"defaulted": True, **obj["spec"]}}, []

    monkeypatch.setattr(kube_module, "_admission", types.SimpleNamespace(admit=admit))
    kube.create(build_crd())
    task = {"apiVersion": "mpu-operator.io/v1alpha1", "kind": "MPUTask",
            "metadata": {"name": "t", "namespace": namespace}, "spec": {"appId": "ok"}}
    assert kube.create(task)["spec"] == {"defaulted": True, "appId": "ok"}
    with pytest.raises(ApiError) as refused:
        kube.patch("mpu", namespace, "t", {"spec": {"appId": "bad"}})
    assert refused.value.status == 422
    assert refused.value.body["details"]["causes"][0]["field"] == "spec.appId"
    assert kube.get("mpu", namespace, "t")["spec"]["appId"] == "ok"
    assert seen == [("mputasks.mpu-operator.io", True), ("mputasks.mpu-operator.io", False)]
