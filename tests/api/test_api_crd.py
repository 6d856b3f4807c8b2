"""The CRD: checked in as generated, structural, CEL rules present, and never stricter
than the model (what ``validate`` passes, the API server must accept)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mpu_operator.api import crd, parse_spec
from mpu_operator.api.spec import TASK_PROFILES

CHECKED_IN = Path(__file__).resolve().parents[2] / "crds" / "mputask.yaml"
TYPES = {"object", "array", "string", "integer", "number", "boolean"}
NOT_STRUCTURAL = {"$ref", "$defs", "anyOf", "oneOf", "allOf", "not", "title", "const",
                  "additionalProperties", "definitions", "nullable"}


def schema() -> dict[str, Any]:
    return crd.build_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def spec_schema() -> dict[str, Any]:
    return schema()["properties"]["spec"]


def nodes(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node with its path."""
    yield path, node
    for name, sub in node.get("properties", {}).items():
        yield from nodes(sub, f"{path}.{name}")
    if "items" in node:
        yield from nodes(node["items"], f"{path}[]")


def test_checked_in_crd_is_the_generated_one() -> None:
    assert CHECKED_IN.read_text() == crd.render_yaml(), (
        "crds/mputask.yaml is out of date with the spec model: run `make crd` and commit it")


def test_rendering_is_stable_and_round_trips() -> None:
    assert crd.render_yaml() == crd.render_yaml()
    assert yaml.safe_load(crd.render_yaml()) == crd.build_crd()
    assert "&id" not in crd.render_yaml()  # no YAML anchors


def test_names() -> None:
    body = crd.build_crd()
    assert body["metadata"]["name"] == "mputasks.mpu-operator.io"
    spec = body["spec"]
    assert (spec["group"], spec["scope"]) == ("mpu-operator.io", "Namespaced")
    assert spec["names"] == {"kind": "MPUTask", "listKind": "MPUTaskList", "plural": "mputasks",
                             "singular": "mputask", "shortNames": ["mpu"]}
    (version,) = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {"status": {}}
    assert (crd.GROUP, crd.VERSION, crd.KIND, crd.PLURAL) == (
        "mpu-operator.io", "v1alpha1", "MPUTask", "mputasks")


def test_printer_columns() -> None:
    columns = crd.build_crd()["spec"]["versions"][0]["additionalPrinterColumns"]
    assert [(c["name"], c["type"], c["jsonPath"]) for c in columns] == [
        ("Phase", "string", ".status.phase"),
        ("Channel", "string", ".spec.channelId"),
        ("URL", "string", ".status.streamURL"),
        ("Ready", "string", '.status.conditions[?(@.type=="Ready")].status'),
        ("Restarts", "integer", ".status.restartCount"),
        ("Age", "date", ".metadata.creationTimestamp"),
    ]


def test_schema_is_structural() -> None:
    for path, node in nodes(schema()):
        assert node.get("type") in TYPES or node.get("x-kubernetes-preserve-unknown-fields"), path
        assert not NOT_STRUCTURAL & node.keys(), (path, NOT_STRUCTURAL & node.keys())
        assert node.get("default", "") is not None, path
        if "default" in node:
            assert value_errors(node, node["default"]) == [], path
        if node.get("type") == "object":
            assert set(node.get("required", [])) <= set(node.get("properties", {})), path
        if node.get("type") == "array":
            assert "items" in node, path
            assert node.get("uniqueItems") is not True, path


def test_every_spec_and_status_field_is_described_for_kubectl_explain() -> None:
    for part in ("spec", "status"):
        for path, node in nodes(schema()["properties"][part], part):
            if not path.endswith("[]") or node["type"] == "object":  # scalar items: no need
                assert node.get("description"), f"{path} has no description"


def test_cel_rules() -> None:
    assert spec_schema()["x-kubernetes-validations"] == [{
        "rule": "has(self.streamURL) != has(self.streamURLFrom)",
        "message": "exactly one of streamURL and streamURLFrom must be set"}]
    panes = spec_schema()["properties"]["layout"]["properties"]["userPanes"]
    assert panes["x-kubernetes-validations"] == [{
        "rule": "self.all(p, self.exists_one(q, q.paneId == p.paneId))",
        "message": "paneId must be distinct across userPanes"}]
    assert panes["maxItems"] == 16  # bounds the CEL cost estimate


def test_schema_says_what_a_schema_can() -> None:
    props = spec_schema()["properties"]
    layout = props["layout"]["properties"]
    assert layout["layoutIds"]["maxItems"] == 16 and layout["layoutIds"]["minItems"] == 1
    assert layout["layoutIds"]["x-kubernetes-list-type"] == "set"
    assert layout["cropMode"] == {**layout["cropMode"], "minimum": 0, "maximum": 2, "default": 2}
    assert layout["backgroundColor"]["pattern"] == "^#[0-9A-Fa-f]{6}$"
    pane = layout["userPanes"]["items"]["properties"]
    assert (pane["paneId"]["minimum"], pane["paneId"]["maximum"]) == (0, 15)
    assert pane["sourceType"]["enum"] == ["camera", "shareScreen"]
    assert props["encoding"]["properties"]["taskProfile"]["enum"] == list(TASK_PROFILES)
    assert props["taskId"]["maxLength"] == 55
    assert props["subscribeUsers"]["maxItems"] == 16
    assert props["restartPolicy"]["default"] == "OnFailure"
    assert props["deletionPolicy"]["enum"] == ["Delete", "Orphan"]
    assert set(spec_schema()["required"]) == {"appId", "channelId", "layout", "encoding"}


def test_status_schema() -> None:
    status = schema()["properties"]["status"]
    assert status["x-kubernetes-preserve-unknown-fields"] is True
    props = status["properties"]
    assert props["phase"]["enum"] == ["Pending", "Starting", "Waiting", "Running", "Restarting",
                                      "Stopping", "Suspended", "Stopped", "Failed"]
    for name in ("observedGeneration", "incarnation", "remoteStatus", "restartCount"):
        assert props[name]["type"] == "integer", name
    for name in ("startedAt", "stoppedAt", "lastPolledAt", "nextAttemptAt"):
        assert props[name]["format"] == "date-time", name
    conditions = props["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    condition = conditions["items"]
    assert "type" in condition["required"]
    assert condition["properties"]["status"]["enum"] == ["True", "False", "Unknown"]
    assert set(condition["properties"]) == {"type", "status", "reason", "message",
                                            "lastTransitionTime", "observedGeneration"}


# --- The schema is never stricter than the model --------------------------------------
# A small apiserver-style checker for the keywords this schema uses, plus the two CEL rules
# written out in Python. If a spec passes the model (and so `validate`) but this checker
# refuses it, `kubectl apply` would refuse what CI passed.

_SCALARS: dict[str, Any] = {"string": str, "boolean": bool, "object": dict, "array": list}


def value_errors(node: dict[str, Any], value: Any, path: str = "spec") -> list[str]:
    kind = node["type"]
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, _SCALARS[kind])
    if not ok:
        return [f"{path}: not {kind}"]
    errors = [f"{path}: {rule}" for rule in _keyword_errors(node, value)]
    if kind == "object":
        errors += [f"{path}.{k}: required" for k in node.get("required", []) if k not in value]
        errors += [e for k, sub in node.get("properties", {}).items() if k in value
                   for e in value_errors(sub, value[k], f"{path}.{k}")]
    if kind == "array":
        errors += [e for i, item in enumerate(value)
                   for e in value_errors(node["items"], item, f"{path}[{i}]")]
    return errors


def _keyword_errors(node: dict[str, Any], value: Any) -> Iterator[str]:
    if "enum" in node and value not in node["enum"]:
        yield "enum"
    if "pattern" in node and not re.search(node["pattern"], value):
        yield "pattern"
    size = len(value) if isinstance(value, str | list) else None
    if size is not None and size < node.get("minLength", node.get("minItems", 0)):
        yield "too short"
    if size is not None and size > node.get("maxLength", node.get("maxItems", size)):
        yield "too long"
    if isinstance(value, int) and not node.get("minimum", value) <= value \
            <= node.get("maximum", value):
        yield "out of range"
    if node.get("x-kubernetes-list-type") == "set" \
            and len({repr(v) for v in value}) != len(value):
        yield "duplicate"


def cel_errors(spec: dict[str, Any]) -> list[str]:
    errors = []
    if ("streamURL" in spec) == ("streamURLFrom" in spec):
        errors.append("exactly one of streamURL and streamURLFrom must be set")
    panes = spec.get("layout", {}).get("userPanes", [])
    ids = [p["paneId"] for p in panes]
    if len(set(ids)) != len(ids):
        errors.append("paneId must be distinct across userPanes")
    return errors


def test_schema_checker_sees_the_cel_and_set_rules(valid: dict[str, Any]) -> None:
    assert value_errors(spec_schema(), valid) == [] and cel_errors(valid) == []
    valid["layout"] = {"layoutIds": [1, 1],
                       "userPanes": [{"paneId": 1, "userId": "a"}, {"paneId": 1, "userId": "b"}]}
    del valid["streamURL"]
    assert value_errors(spec_schema(), valid) == ["spec.layout.layoutIds: duplicate"]
    assert len(cel_errors(valid)) == 2


names = st.text(alphabet="abc019_-", min_size=1, max_size=8)
junk = st.one_of(st.integers(-2, 120), st.text(alphabet="abcAB09_-. #/:?=", max_size=8),
                 st.booleans(), st.none(), st.lists(st.integers(-1, 17), max_size=3))
good_panes = st.lists(st.integers(0, 3), unique=True, max_size=4).map(
    lambda ids: [{"paneId": i, "userId": f"u{i}"} for i in ids])
valid_specs = st.fixed_dictionaries(
    {"appId": names, "channelId": names,
     "streamURL": st.sampled_from(["rtmp://push.example.com/live/s?auth_key=x", "rtmps://h/a"]),
     "layout": st.fixed_dictionaries(
         {"layoutIds": st.sampled_from([[1], [1, 2, 6], [6, 1], [1, 5, 6, 7, 8, 9, 10, 11],
                                        [100], [2, 100, 101], [13, 6]])},
         optional={"cropMode": st.integers(0, 2), "userPanes": good_panes,
                   "backgroundColor": st.sampled_from(["#000000", "#abcDEF"])}),
     "encoding": st.fixed_dictionaries(
         {"mediaEncode": st.sampled_from([0, 1, 2, 10, 20, 30, 99])},
         optional={"taskProfile": st.sampled_from(TASK_PROFILES)})},
    optional={"subscribeUsers": st.lists(names, max_size=16),
              "taskId": st.text(alphabet="aZ9_-", min_size=1, max_size=55),
              "credentialsRef": st.just({"name": "rtc"}), "suspend": st.booleans(),
              "restartPolicy": st.sampled_from(["Always", "OnFailure", "Never"]),
              "deletionPolicy": st.sampled_from(["Delete", "Orphan"])})
#: Where one bad value is put: every field, at every depth the schema constrains.
PATHS = ["appId", "channelId", "streamURL", "streamURLFrom", "layout", "layout.layoutIds",
         "layout.cropMode", "layout.backgroundColor", "layout.userPanes", "encoding",
         "encoding.mediaEncode", "encoding.taskProfile", "subscribeUsers", "taskId",
         "credentialsRef", "suspend", "restartPolicy", "deletionPolicy"]
bad_values = st.one_of(junk, st.sampled_from([
    [], [1] * 17, list(range(100, 117)), "rtmp://h", "http://h/a", "#12345", "8IN_720P", "Keep",
    "a" * 56, [""], [{"paneId": 16, "userId": "u"}], [{"paneId": 1}],
    [{"paneId": 1, "userId": "a"}, {"paneId": 1, "userId": "b"}],
    {"secretKeyRef": {"name": "s", "key": "k"}}, {"secretKeyRef": {"name": "S", "key": "k"}},
    {"name": "C_"}, {"layoutIds": [2, 3]}, {"mediaEncode": 0, "taskProfile": "1IN_360P"}]))


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid spec, or one with a single field set to something doubtful."""
    spec: dict[str, Any] = draw(valid_specs)
    if draw(st.booleans()):
        *parents, last = draw(st.sampled_from(PATHS)).split(".")
        node = spec
        for key in parents:
            node = node[key]
        node[last] = draw(bad_values)
    return spec


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_what_the_model_accepts_the_schema_accepts(spec: dict[str, Any]) -> None:
    result = parse_spec(spec)
    refused = value_errors(spec_schema(), spec) or cel_errors(spec)  # CEL runs on valid shapes
    if result.ok:
        assert refused == [], refused
    if refused:
        assert not result.ok, refused
    event(f"model {'accepts' if result.ok else 'refuses'}")
