"""MPULayout: the model's ranges (the service's documented ones), its CRD (checked in as
generated, structural, admitted by the stand-in apiserver like the model judges), and
``validate``/``crd`` covering both kinds."""

from __future__ import annotations

import copy
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mpu_operator.api import crd, layout_crd
from mpu_operator.api.layout import parse_layout_spec
from mpu_operator.api.validate import main as validate_main
from mpu_operator.rtc.layout_params import LayoutPane
from mpu_operator.sandbox.admission import admit

ROOT = Path(__file__).resolve().parents[2]
CHECKED_IN = ROOT / "crds" / "mpulayout.yaml"
SAMPLE = ROOT / "deploy" / "samples" / "mpulayout.yaml"


def pane(**changes: Any) -> dict[str, Any]:
    return {"paneId": 0, "x": 0.0, "y": 0.0, "width": 0.5, "height": 0.5, **changes}


def spec(**changes: Any) -> dict[str, Any]:
    return {"appId": "app", "audioMixCount": 3,
            "panes": [pane(), pane(paneId=1, x=0.5, majorPane=True)], **changes}


def problems(raw: dict[str, Any]) -> list[str]:
    return [str(p) for p in parse_layout_spec(raw).errors]


def test_a_valid_spec_becomes_the_service_parameters() -> None:
    result = parse_layout_spec(spec())
    assert result.ok and result.spec is not None
    params = result.spec.params()
    assert params.app_id == "app" and params.audio_mix_count == 3
    assert params.panes[1] == LayoutPane(1, True, 0.5, 0.0, 0.5, 0.5, 0)


@pytest.mark.parametrize(("raw", "expected"), [
    (spec(audioMixCount=7), "audioMixCount: must be at most 6"),
    (spec(audioMixCount=-1), "audioMixCount: must be at least 0"),
    (spec(panes=[]), "panes: must not be empty"),
    (spec(panes=[pane(paneId=i) for i in range(17)]), "panes: must have at most 16 items"),
    (spec(panes=[pane(width=0)]), "panes[0].width: must be greater than 0"),
    (spec(panes=[pane(height=1.01)]), "panes[0].height: must be at most 1"),
    (spec(panes=[pane(x=-0.1)]), "panes[0].x: must be at least 0"),
    (spec(panes=[pane(y=1.5)]), "panes[0].y: must be at most 1"),
    (spec(panes=[pane(paneId=16)]), "panes[0].paneId: must be at most 15"),
    (spec(panes=[pane(zOrder=-1)]), "panes[0].zOrder: must be at least 0"),
    (spec(panes=[pane(), pane()]), "paneId must be distinct across panes (repeated: 0)"),
    (spec(panes=[pane(majorPane=True), pane(paneId=1, majorPane=True)]),
     "at most one pane may be the majorPane"),
    (spec(appId="a b"), "appId: must be an RTC id"),
    (spec(pane=1), "pane: unknown field (did you mean panes?)"),
    (spec(credentialsRef=None), "credentialsRef: must not be null"),
    ({"appId": "app"}, "audioMixCount: required"),
])
def test_rules(raw: dict[str, Any], expected: str) -> None:
    found = problems(raw)
    assert any(expected in p for p in found), found


def test_junk_is_a_problem_never_an_exception() -> None:
    deep: Any = 1
    for _ in range(100):
        deep = {"a": deep}
    for junk in (None, [], "x", {"panes": deep}, {"panes": list(range(10**5))}):
        assert not parse_layout_spec(junk).ok  # type: ignore[arg-type]


# -- the CRD ------------------------------------------------------------------------------


def test_checked_in_crd_is_the_generated_one() -> None:
    assert CHECKED_IN.read_text() == layout_crd.render_yaml(), (
        "crds/mpulayout.yaml is out of date with the model: run `make crd` and commit it")


def test_names_and_printer_columns() -> None:
    body = layout_crd.build_crd()
    assert body["metadata"]["name"] == "mpulayouts.mpu-operator.io"
    assert body["spec"]["names"] == {"kind": "MPULayout", "listKind": "MPULayoutList",
                                     "plural": "mpulayouts", "singular": "mpulayout",
                                     "shortNames": ["mpul"]}
    (version,) = body["spec"]["versions"]
    assert version["subresources"] == {"status": {}}
    assert [c["name"] for c in version["additionalPrinterColumns"]] == [
        "LayoutId", "Ready", "Age"]


def test_crd_command_prints_both_crds() -> None:
    out = subprocess.run([sys.executable, "-m", "mpu_operator", "crd"], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    docs = list(yaml.safe_load_all(out))
    assert [d["metadata"]["name"] for d in docs] == [
        "mputasks.mpu-operator.io", "mpulayouts.mpu-operator.io"]
    assert out == crd.render_all()


def _schema_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = [node]
    for sub in node.get("properties", {}).values():
        found += _schema_nodes(sub)
    if "items" in node:
        found += _schema_nodes(node["items"])
    return found


def test_schema_is_structural() -> None:
    schema = layout_crd.open_api_schema()
    for node in _schema_nodes(schema):
        assert node.get("type") or node.get("x-kubernetes-preserve-unknown-fields"), node
        assert not {"$ref", "anyOf", "title", "additionalProperties"} & node.keys()
        if "exclusiveMinimum" in node:  # OpenAPI v3 (Kubernetes): a flag, not a number
            assert node["exclusiveMinimum"] is True


CRD = layout_crd.build_crd()


def layout_object(spec_: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "mpu-operator.io/v1alpha1", "kind": "MPULayout",
            "metadata": {"name": "l", "namespace": "n"}, "spec": spec_}


@pytest.mark.parametrize("raw", [
    spec(), spec(audioMixCount=7), spec(panes=[pane(width=0)]), spec(panes=[pane(), pane()]),
    spec(panes=[pane(majorPane=True), pane(paneId=1, majorPane=True)]),
    spec(panes=[pane(x=1.5)]), spec(panes=[pane(width=1)]),
])
def test_the_apiserver_and_the_model_agree(raw: dict[str, Any]) -> None:
    _, errors = admit(CRD, layout_object(raw))
    assert (errors == []) == parse_layout_spec(raw).ok, errors


def test_app_id_is_immutable_at_the_apiserver() -> None:
    old, errors = admit(CRD, layout_object(spec()))
    assert errors == []
    new = copy.deepcopy(old)
    new["spec"]["appId"] = "other"
    _, errors = admit(CRD, new, old)
    assert any("appId is immutable" in str(e) for e in errors), errors


def test_the_sample_is_valid_and_admitted() -> None:
    (doc,) = [d for d in yaml.safe_load_all(SAMPLE.read_text()) if d]
    assert parse_layout_spec(doc["spec"]).ok
    assert admit(CRD, doc)[1] == []


def test_validate_judges_both_kinds(tmp_path: Path) -> None:
    bad = SAMPLE.read_text().replace("audioMixCount: 3", "audioMixCount: 9")
    (tmp_path / "l.yaml").write_text(bad)
    out = io.StringIO()
    assert validate_main([str(tmp_path / "l.yaml"), str(SAMPLE)], out) == 1
    assert out.getvalue().splitlines() == [
        f"{tmp_path / 'l.yaml'}: default/stage: spec.audioMixCount: must be at most 6"]


def test_validate_reads_a_bare_y_as_kubectl_does(tmp_path: Path) -> None:
    """kubectl (YAML 1.1) turns an unquoted ``y:`` key into ``true``; validate must not
    pass what the apiserver then refuses."""
    text = SAMPLE.read_text().replace('"y"', "y")
    (tmp_path / "l.yaml").write_text(text)
    out = io.StringIO()
    assert validate_main([str(tmp_path / "l.yaml")], out) == 1
    assert "spec.panes[0].y: required" in out.getvalue()
