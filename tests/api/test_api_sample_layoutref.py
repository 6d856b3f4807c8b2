"""deploy/samples/features/mputask-layoutref.yaml does what its comments say: the task
refers to the MPULayout beside it, waits until it has an id, then sends [1, that id] with
Auto at 4IN_720P (the layout's 3 panes)."""

from __future__ import annotations

from pathlib import Path

import yaml

from mpu_operator.api.spec import parse_spec
from mpu_operator.controller.desired import layout_refs
from mpu_operator.core import layouts as cl
from mpu_operator.core.reasons import LAYOUT_NOT_READY


def test_the_layoutref_sample_resolves_as_its_comments_say() -> None:
    path = Path(__file__).resolve().parents[2] / "deploy/samples/features/mputask-layoutref.yaml"
    docs = {d["kind"]: d for d in yaml.safe_load_all(path.read_text())}
    layout, task = docs["MPULayout"], docs["MPUTask"]
    assert task["spec"]["layout"]["layoutRefs"] == [{"name": layout["metadata"]["name"]}]
    parsed = parse_spec(task["spec"])
    assert parsed.spec is not None and parsed.warnings == []
    created = {**layout, "status": {"layoutId": 10001}}
    known = {("demo", layout["metadata"]["name"]): cl.known_layout(created)}
    got = layout_refs(parsed.spec, "demo", known)
    assert (got.layout.layout_ids, got.task_profile, got.waiting) == ((1, 10001), "4IN_720P",
                                                                      None)
    waiting = layout_refs(parsed.spec, "demo", {("demo", layout["metadata"]["name"]):
                                                cl.known_layout(layout)})
    assert waiting.waiting is not None and waiting.waiting[0] == LAYOUT_NOT_READY
