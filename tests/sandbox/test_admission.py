"""The sandbox's admission: prune, default and validate like the apiserver (Kubernetes 1.34).

Expected lines are the apiserver's own wording (kube-openapi messages wrapped in
``field.Error``), so ``kubectl apply`` against the sandbox reads like a real cluster.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mpu_operator.sandbox.admission import admit, invalid_status, review

ROOT = Path(__file__).resolve().parents[2]
CRD: dict[str, Any] = yaml.safe_load((ROOT / "crds" / "mputask.yaml").read_text())
UNCHECKED = ("<nil>: Invalid value: null: some validation rules were not checked because the "
             "object was invalid; correct the existing errors to complete validation")


def task(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "appId": "app", "channelId": "room", "streamURL": "rtmp://cdn/live/s",
        "layout": {"layoutIds": [1, 5]}, "encoding": {"mediaEncode": 20},
    }
    base.update(spec)
    return {"apiVersion": "mpu-operator.io/v1alpha1", "kind": "MPUTask",
            "metadata": {"name": "t", "namespace": "default"}, "spec": base}


def with_spec(path: str, value: Any, obj: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of a valid task with ``spec.<path>`` set (``...`` deletes it)."""
    obj = copy.deepcopy(obj or task())
    *parents, leaf = path.split(".")
    node = obj["spec"]
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if value is ...:
        del node[leaf]
    else:
        node[leaf] = value
    return obj


def crd_for(schema: dict[str, Any]) -> dict[str, Any]:
    """A small synthetic CRD whose ``spec`` has ``schema``."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "things.example.com"},
        "spec": {"group": "example.com", "names": {"kind": "Thing", "plural": "things"},
                 "scope": "Namespaced", "versions": [{
                     "name": "v1", "served": True, "storage": True,
                     "schema": {"openAPIV3Schema": {
                         "type": "object", "properties": {"spec": schema}}}}]},
    }


def thing(spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "x"},
            "spec": spec}


# ----------------------------------------------------------------- the real MPUTask CRD


def test_a_valid_task_is_admitted_with_every_default_applied() -> None:
    obj = task(layout={"layoutIds": [1, 5], "userPanes": [{"paneId": 0, "userId": "u"}]})
    stored, errors = admit(CRD, obj)
    assert errors == []
    spec = stored["spec"]
    assert spec["layout"]["cropMode"] == 2
    assert spec["layout"]["backgroundColor"] == "#000000"
    assert spec["layout"]["userPanes"][0]["sourceType"] == "camera"  # inside array items
    assert spec["encoding"]["taskProfile"] == "Auto"
    assert (spec["suspend"], spec["restartPolicy"], spec["deletionPolicy"]) == (
        False, "OnFailure", "Delete")
    assert obj["spec"]["layout"].get("cropMode") is None, "the input is not modified"


def test_given_values_are_not_overwritten_by_defaults() -> None:
    stored, errors = admit(CRD, with_spec("layout.cropMode", 0))
    assert errors == [] and stored["spec"]["layout"]["cropMode"] == 0


def test_unknown_fields_are_pruned_but_metadata_and_status_extras_are_kept() -> None:
    obj = task(junk=1, layout={"layoutIds": [1], "extra": "x"})
    obj["metadata"]["labels"] = {"a": "b"}
    obj["metadata"]["whatever"] = {"kept": True}
    obj["topLevel"] = "dropped"
    obj["status"] = {"phase": "Running", "somethingNew": 1}  # preserve-unknown-fields
    result = review(CRD, obj)
    assert result.errors == []
    assert "junk" not in result.object["spec"]
    assert "extra" not in result.object["spec"]["layout"]
    assert "topLevel" not in result.object
    assert result.object["metadata"] == obj["metadata"]
    assert result.object["status"]["somethingNew"] == 1
    assert result.unknown_fields == ["spec.junk", "spec.layout.extra", "topLevel"]


def test_a_null_without_default_is_dropped_and_a_null_with_default_is_defaulted() -> None:
    stored, errors = admit(CRD, task(taskId=None, suspend=None))
    assert errors == []
    assert "taskId" not in stored["spec"] and stored["spec"]["suspend"] is False


def test_the_shipped_sample_is_admitted() -> None:
    for doc in yaml.safe_load_all((ROOT / "deploy" / "samples" / "mputask.yaml").read_text()):
        if doc and doc.get("kind") == "MPUTask":
            assert admit(CRD, doc)[1] == [], doc["metadata"]["name"]


TASK_PROFILES = ", ".join(f'"{p}"' for p in CRD["spec"]["versions"][0]["schema"][
    "openAPIV3Schema"]["properties"]["spec"]["properties"]["encoding"]["properties"][
    "taskProfile"]["enum"])

# (path under spec, bad value, the apiserver's line, a good value for the same field)
SCHEMA_RULES = [
    ("channelId", ..., "spec.channelId: Required value", "room"),
    ("appId", "", 'spec.appId: Invalid value: "": spec.appId in body should be at least 1 '
     "chars long", "a"),
    ("streamURL", "r" * 2049, "spec.streamURL: Too long: may not be more than 2048 bytes",
     "é" * 2048),  # counted in characters, not bytes
    ("layout.layoutIds", [0], "spec.layout.layoutIds[0]: Invalid value: 0: "
     "spec.layout.layoutIds[0] in body should be greater than or equal to 1", [1]),
    ("layout.layoutIds", [], "spec.layout.layoutIds: Invalid value: 0: spec.layout.layoutIds "
     "in body should have at least 1 items", [16]),
    ("layout.layoutIds", list(range(1, 18)), "spec.layout.layoutIds: Too many: 17: must have "
     "at most 16 items", list(range(1, 17))),
    ("layout.layoutIds", [1, 3, 3], "spec.layout.layoutIds[2]: Duplicate value: 3", [1, 3]),
    ("layout.cropMode", "string", 'spec.layout.cropMode: Invalid value: "string": '
     'spec.layout.cropMode in body must be of type integer: "string"', 1),
    ("layout.cropMode", 3, "spec.layout.cropMode: Invalid value: 3: spec.layout.cropMode in "
     "body should be less than or equal to 2", 2.0),  # an integral float is an integer
    ("layout.backgroundColor", "red", 'spec.layout.backgroundColor: Invalid value: "red": '
     "spec.layout.backgroundColor in body should match '^#[0-9A-Fa-f]{6}$'", "#A0b1C2"),
    ("encoding.taskProfile", "X", 'spec.encoding.taskProfile: Unsupported value: "X": '
     f"supported values: {TASK_PROFILES}", "9IN_720P"),
    ("suspend", "yes", 'spec.suspend: Invalid value: "string": spec.suspend in body must be '
     'of type boolean: "string"', True),
    ("encoding.mediaEncode", -1, "spec.encoding.mediaEncode: Invalid value: -1: "
     "spec.encoding.mediaEncode in body should be greater than or equal to 0", 0),
    ("subscribeUsers", "u", 'spec.subscribeUsers: Invalid value: "string": '
     'spec.subscribeUsers in body must be of type array: "string"', ["u"]),
    ("layout", None, "spec.layout: Required value", {"layoutIds": [2]}),  # null = absent
    ("streamURLFrom", {"secretKeyRef": {"name": "Bad_Name", "key": "k"}},
     'spec.streamURLFrom.secretKeyRef.name: Invalid value: "Bad_Name": '
     "spec.streamURLFrom.secretKeyRef.name in body should match "
     "'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'", None),
    ("credentialsRef", {}, "spec.credentialsRef.name: Required value", {"name": "creds"}),
]


@pytest.mark.parametrize(("path", "bad", "line", "good"), SCHEMA_RULES,
                         ids=[f"{r[0]}-{i}" for i, r in enumerate(SCHEMA_RULES)])
def test_each_schema_rule_refuses_the_bad_and_admits_the_good(
        path: str, bad: Any, line: str, good: Any) -> None:
    base = task()
    if path.startswith("streamURLFrom"):  # exactly one of the two: swap them
        base = with_spec("streamURL", ..., base)
    errors = admit(CRD, with_spec(path, bad, base))[1]
    assert line in errors
    if good is not None:
        assert admit(CRD, with_spec(path, good, base))[1] == []


def test_blocking_errors_skip_cel_with_the_apiservers_notice() -> None:
    obj = with_spec("layout.layoutIds", list(range(1, 18)), task(streamURLFrom={
        "secretKeyRef": {"name": "s", "key": "k"}}))
    errors = admit(CRD, obj)[1]
    assert errors[-1] == UNCHECKED
    assert not any("exactly one" in e for e in errors)


def test_a_duplicate_in_a_set_does_not_block_cel() -> None:
    obj = with_spec("layout.layoutIds", [1, 1], task(streamURLFrom={
        "secretKeyRef": {"name": "s", "key": "k"}}))
    assert admit(CRD, obj)[1] == [
        "spec.layout.layoutIds[1]: Duplicate value: 1",
        'spec: Invalid value: "object": exactly one of streamURL and streamURLFrom must be set']


# ----------------------------------------------------------------- the CRD's CEL rules


@pytest.mark.parametrize(("url", "url_from", "ok"), [
    (True, False, True), (False, True, True), (True, True, False), (False, False, False)])
def test_exactly_one_of_stream_url_and_stream_url_from(url: bool, url_from: bool,
                                                       ok: bool) -> None:
    obj = task()
    if not url:
        del obj["spec"]["streamURL"]
    if url_from:
        obj["spec"]["streamURLFrom"] = {"secretKeyRef": {"name": "s", "key": "k"}}
    expected = [] if ok else [
        'spec: Invalid value: "object": exactly one of streamURL and streamURLFrom must be set']
    assert admit(CRD, obj)[1] == expected


def test_pane_ids_must_be_distinct() -> None:
    panes = [{"paneId": 0, "userId": "a"}, {"paneId": 1, "userId": "b"}]
    assert admit(CRD, with_spec("layout.userPanes", panes))[1] == []
    panes[1]["paneId"] = 0
    assert admit(CRD, with_spec("layout.userPanes", panes))[1] == [
        'spec.layout.userPanes: Invalid value: "array": paneId must be distinct across '
        "userPanes"]


def test_invalid_status_is_the_apiservers_422() -> None:
    obj = with_spec("channelId", ...)
    result = review(CRD, obj)
    status = invalid_status(CRD, obj, result.errors)
    assert status["code"] == 422 and status["reason"] == "Invalid"
    assert status["message"] == ('MPUTask.mpu-operator.io "t" is invalid: '
                                 "[spec.channelId: Required value, " + UNCHECKED + "]")
    assert status["details"]["causes"][0] == {
        "reason": "FieldValueRequired", "message": "Required value", "field": "spec.channelId"}


def test_an_unknown_api_version_is_refused() -> None:
    obj = task()
    obj["apiVersion"] = "mpu-operator.io/v9"
    assert admit(CRD, obj)[1] == [
        'apiVersion: Unsupported value: "mpu-operator.io/v9": supported values: '
        '"mpu-operator.io/v1alpha1"']


# ----------------------------------------------------------------- synthetic schemas


@pytest.mark.parametrize(("schema", "bad", "line", "good"), [
    ({"type": "number", "exclusiveMinimum": True, "minimum": 0.5}, 0.5,
     "spec: Invalid value: 0.5: spec in body should be greater than 0.5", 0.75),
    ({"type": "integer", "exclusiveMaximum": True, "maximum": 10}, 10,
     "spec: Invalid value: 10: spec in body should be less than 10", 9),
    ({"type": "number", "maximum": 1e6}, 2e6,
     "spec: Invalid value: 2e+06: spec in body should be less than or equal to 1e+06", 7),
    ({"type": "integer", "multipleOf": 5}, 7,
     "spec: Invalid value: 7: spec in body should be a multiple of 5", 10),
    ({"type": "integer", "format": "int32"}, 2**31, "<nil>: Invalid value: \"\": Checked value "
     "must be of type integer with format int32 in spec", 2**31 - 1),
    ({"type": "number"}, "1", 'spec: Invalid value: "string": spec in body must be of type '
     'number: "string"', 1),
    ({"type": "integer"}, True, 'spec: Invalid value: "boolean": spec in body must be of type '
     'integer: "boolean"', 1),
    ({"x-kubernetes-int-or-string": True}, 1.5, 'spec: Invalid value: "number": spec in body '
     'must be of type integer,string: "number"', "50%"),
    ({"type": "string", "nullable": True, "minLength": 2}, "a",
     'spec: Invalid value: "a": spec in body should be at least 2 chars long', None),
    ({"type": "string", "format": "date-time"}, "yesterday",
     'spec: Invalid value: "yesterday": spec in body must be of type date-time: "yesterday"',
     "2024-05-01T10:00:00Z"),
    ({"type": "string", "pattern": "^(a+)+$"}, "a" * 5000 + "!",
     'spec: Invalid value: "' + "a" * 5000 + "!\": spec in body should match '^(a+)+$'", "aaa"),
    ({"type": "array", "uniqueItems": True,
      "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
     [{"a": 1}, {"a": 1}], 'spec: Invalid value: "": spec in body shouldn\'t contain duplicates',
     [{"a": 1}, {"a": 2}]),
    ({"type": "object", "minProperties": 1, "additionalProperties": {"type": "string"}}, {},
     "spec: Invalid value: 0: spec in body should have at least 1 properties", {"k": "v"}),
    ({"type": "object", "maxProperties": 1, "additionalProperties": {"type": "string"}},
     {"a": "1", "b": "2"}, "spec: Too many: 2: must have at most 1 item", {"a": "1"}),
    ({"type": "object", "additionalProperties": {"type": "integer"}}, {"a": "x"},
     'spec.a: Invalid value: "string": spec.a in body must be of type integer: "string"',
     {"a": 1}),
    ({"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
      "items": {"type": "object", "properties": {"name": {"type": "string"},
                                                 "v": {"type": "integer"}}}},
     [{"name": "a", "v": 1}, {"name": "a", "v": 2}],
     'spec[1]: Duplicate value: {"name":"a"}', [{"name": "a"}, {"name": "b"}]),
])
def test_synthetic_schema_rules(schema: dict[str, Any], bad: Any, line: str, good: Any) -> None:
    crd = crd_for(schema)
    assert line in admit(crd, thing(bad))[1]
    assert admit(crd, thing(good))[1] == []


def test_nullable_keeps_null_and_preserve_unknown_fields_keeps_extras() -> None:
    crd = crd_for({"type": "object", "properties": {
        "n": {"type": "string", "nullable": True, "default": "d"},
        "bag": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                "properties": {"inner": {"type": "object", "properties": {}}}}}})
    stored, errors = admit(crd, thing({"n": None, "bag": {"free": 1, "inner": {"gone": 1}}}))
    assert errors == []
    assert stored["spec"] == {"n": None, "bag": {"free": 1, "inner": {}}}


def test_defaults_fill_array_items_and_nested_objects() -> None:
    crd = crd_for({"type": "object", "properties": {"items": {"type": "array", "items": {
        "type": "object", "properties": {
            "mode": {"type": "string", "default": "auto"},
            "limits": {"type": "object", "default": {},
                       "properties": {"cpu": {"type": "integer", "default": 1}}}}}}}})
    stored, errors = admit(crd, thing({"items": [{}, {"mode": "manual"}]}))
    assert errors == []
    assert stored["spec"]["items"] == [{"mode": "auto", "limits": {"cpu": 1}},
                                       {"mode": "manual", "limits": {"cpu": 1}}]


# ----------------------------------------------------------------- CEL, synthetic


def cel_crd(*rules: dict[str, Any], **props: Any) -> dict[str, Any]:
    properties = props or {"size": {"type": "integer"}, "name": {"type": "string"},
                           "items": {"type": "array", "items": {"type": "integer"}}}
    return crd_for({"type": "object", "properties": properties,
                    "x-kubernetes-validations": list(rules)})


def test_cel_message_expression_field_path_and_reason() -> None:
    crd = cel_crd({"rule": "self.size <= 3", "messageExpression":
                   "'size ' + string(self.size) + ' is above 3'", "fieldPath": ".size",
                   "reason": "FieldValueForbidden"})
    assert admit(crd, thing({"size": 5}))[1] == ["spec.size: Forbidden: size 5 is above 3"]
    assert admit(crd, thing({"size": 3}))[1] == []


def test_cel_without_a_message_says_failed_rule() -> None:
    crd = cel_crd({"rule": "self.name.startsWith('a')"})
    assert admit(crd, thing({"name": "bob"}))[1] == [
        "spec: Invalid value: \"object\": failed rule: self.name.startsWith('a')"]


def test_cel_kubernetes_string_library_and_integer_typing() -> None:
    crd = cel_crd({"rule": "self.name.lowerAscii() == self.name && self.size / 2 == 1",
                   "message": "m"})
    assert admit(crd, thing({"name": "abc", "size": 2.0}))[1] == []
    assert admit(crd, thing({"name": "ABC", "size": 2}))[1] == ['spec: Invalid value: "object": m']


def test_cel_transition_rule_runs_only_on_update() -> None:
    crd = cel_crd({"rule": "self.name == oldSelf.name", "message": "name is immutable"})
    assert admit(crd, thing({"name": "a"}))[1] == []
    assert admit(crd, thing({"name": "b"}), old=thing({"name": "a"}))[1] == [
        'spec: Invalid value: "object": name is immutable']
    assert admit(crd, thing({"name": "a"}), old=thing({"name": "a"}))[1] == []


def test_cel_optional_old_self_runs_on_create_too() -> None:
    crd = cel_crd({"rule": "!oldSelf.hasValue() || self.size >= oldSelf.value().size",
                   "optionalOldSelf": True, "message": "size may only grow"})
    assert admit(crd, thing({"size": 1}))[1] == []
    assert admit(crd, thing({"size": 1}), old=thing({"size": 2}))[1] == [
        'spec: Invalid value: "object": size may only grow']


def test_cel_evaluation_and_compile_errors_are_reported_not_raised() -> None:
    crd = cel_crd({"rule": "self.missing == 1"}, {"rule": "self.size ==="})
    errors = admit(crd, thing({"size": 1}))[1]
    assert errors[0] == ('spec: Invalid value: "object": no such key: missing evaluating rule: '
                         "self.missing == 1")
    assert errors[1].startswith('spec: Invalid value: "object": rule compile error: ')


def test_ratcheting_lets_an_unchanged_invalid_value_through_an_update() -> None:
    crd = cel_crd(size={"type": "integer", "maximum": 5, "x-kubernetes-validations": [
        {"rule": "self < 10", "message": "too big"}]}, name={"type": "string"})
    old = thing({"size": 20, "name": "a"})
    assert len(admit(crd, old)[1]) == 2
    assert admit(crd, thing({"size": 20, "name": "b"}), old=old)[1] == []
    assert admit(crd, thing({"size": 21, "name": "a"}), old=old)[1] == [
        "spec.size: Invalid value: 21: spec.size in body should be less than or equal to 5",
        'spec.size: Invalid value: "integer": too big']


def test_cel_cost_is_bounded_before_evaluating() -> None:
    crd = cel_crd({"rule": "self.items.all(a, self.items.all(b, self.items.all(c, a + b + c "
                   "> -1)))"})
    start = time.monotonic()
    errors = admit(crd, thing({"items": list(range(2000))}))[1]
    assert time.monotonic() - start < 1.0
    assert errors == [
        "spec: Invalid value: \"object\": 'operation cancelled: actual cost limit exceeded': "
        "no further validation rules will be run due to call cost exceeds limit for rule: "
        "self.items.all(a, self.items.all(b, self.items.all(c, a + b + c > -1)))"]
    assert admit(crd, thing({"items": list(range(20))}))[1] == []


# ----------------------------------------------------------------- junk never breaks it

def _names(schema: Any) -> set[str]:
    """Every property name in the CRD, so junk lands on real fields at every depth."""
    if not isinstance(schema, dict):
        return set()
    found = set(schema.get("properties") or {})
    for sub in [*(schema.get("properties") or {}).values(), schema.get("items")]:
        found |= _names(sub)
    return found


NAMES = sorted(_names(CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"]))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True)
    | st.text(max_size=30) | st.sampled_from(["Auto", "camera", "#000000", "", "a b"]),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(
        st.sampled_from(NAMES) | st.text(max_size=8), inner, max_size=6),
    max_leaves=40)


def _paths(schema: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every property path under spec (array items reached through index 0)."""
    found: list[tuple[str, ...]] = []
    for name, sub in ((schema or {}).get("properties") or {}).items():
        found.append((*prefix, name))
        found += _paths(sub, (*prefix, name))
        if isinstance(sub.get("items"), dict):
            found += _paths(sub["items"], (*prefix, name, "0"))
    return found


SPEC_PATHS = _paths(CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"])


def _plant(obj: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node: Any = obj["spec"]
    for part in path[:-1]:
        if isinstance(node, list):
            node = node[0] if node else None
        elif isinstance(node, dict):
            node = node.setdefault(part, [{}] if part in ("userPanes",) else {})
        if not isinstance(node, dict | list):
            return
    if isinstance(node, dict):
        node[path[-1]] = value


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.sampled_from(SPEC_PATHS), JSON), max_size=6),
       old_edits=st.none() | st.lists(st.tuples(st.sampled_from(SPEC_PATHS), JSON), max_size=3))
def test_admit_never_raises_on_junk_in_real_fields(
        edits: list[tuple[tuple[str, ...], Any]],
        old_edits: list[tuple[tuple[str, ...], Any]] | None) -> None:
    obj = task(layout={"layoutIds": [1], "userPanes": [{"paneId": 0, "userId": "u"}]})
    for path, value in edits:
        _plant(obj, path, value)
    before = None
    if old_edits is not None:
        before = task()
        for path, value in old_edits:
            _plant(before, path, value)
    start = time.monotonic()
    stored, errors = admit(CRD, obj, before)
    assert time.monotonic() - start < 2.0
    assert isinstance(stored, dict) and all(isinstance(e, str) for e in errors)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=JSON, old=st.none() | JSON)
def test_admit_never_raises_and_is_quick_on_junk(spec: Any, old: Any) -> None:
    obj = task()
    obj["spec"] = spec if not isinstance(spec, dict) else {**obj["spec"], **spec}
    before = None if old is None else {**task(), "spec": old}
    start = time.monotonic()
    stored, errors = admit(CRD, obj, before)
    assert time.monotonic() - start < 2.0
    assert isinstance(stored, dict) and all(isinstance(e, str) for e in errors)


@pytest.mark.parametrize("junk", [
    [], "x", None, {"spec": []}, {"apiVersion": 5}, {"apiVersion": "mpu-operator.io/v1alpha1"},
])
def test_admit_refuses_non_objects_without_raising(junk: Any) -> None:
    stored, errors = admit(CRD, junk)
    assert isinstance(stored, dict) and errors


def test_deep_and_huge_objects_are_refused_quickly() -> None:
    deep: Any = "leaf"
    for _ in range(5000):
        deep = [deep]
    start = time.monotonic()
    assert admit(CRD, task(layout=deep))[1] == [
        '<nil>: Invalid value: "object": object is nested deeper than 64 levels']
    wide = task(subscribeUsers=["u"] * 300_000)
    assert admit(CRD, wide)[1] == ["<nil>: Too many: 200001: must have at most 200000 items"]
    assert time.monotonic() - start < 2.0
