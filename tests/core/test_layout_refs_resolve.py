"""controller/desired.py ``layout_refs``: a spec's layoutRefs -> the layout ids sent, the
TaskProfile, and the wait or the problem, from the MPULayouts of its own namespace."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from mpu_operator import catalogue
from mpu_operator.api import rules
from mpu_operator.api.spec import MPUTaskSpec, parse_spec
from mpu_operator.controller.desired import layout_refs
from mpu_operator.core import fingerprint
from mpu_operator.core import layouts as cl
from mpu_operator.core.model import Record
from mpu_operator.core.reasons import INVALID_SPEC, LAYOUT_NOT_READY

K = cl.KnownLayout
KNOWN = {("ns", "stage"): K(10001, 3, True, "app", (0, 1, 2)),
         ("ns", "duo"): K(10002, 2, True, "app", (0, 1)),
         ("ns", "wip"): K(None, 2, False, "app", (0, 1)),
         ("ns", "foreign"): K(10009, 5, True, "other", tuple(range(5))),
         ("elsewhere", "big"): K(10003, 9, True, "app", tuple(range(9)))}


def spec(profile: str = "Auto", **layout: Any) -> MPUTaskSpec:
    raw = {"appId": "app", "channelId": "ch", "streamURL": "rtmp://h/live/s",
           "layout": layout, "encoding": {"mediaEncode": 20, "taskProfile": profile}}
    parsed = parse_spec(raw)
    assert parsed.spec is not None, parsed.errors
    return parsed.spec


def refs(*names: str) -> list[dict[str, str]]:
    return [{"name": n} for n in names]


def test_without_refs_the_spec_is_sent_as_it_is() -> None:
    got = layout_refs(spec(layoutIds=[1, 6]), "ns", KNOWN)
    assert (got.layout.layout_ids, got.task_profile, got.waiting) == ((1, 6), "4IN_720P", None)


def test_ids_are_layout_ids_then_the_refs_in_spec_order() -> None:
    got = layout_refs(spec(layoutIds=[1, 6], layoutRefs=refs("duo", "stage")), "ns", KNOWN)
    assert got.layout.layout_ids == (1, 6, 10002, 10001)
    assert got.waiting is None and got.usable
    assert got.task_profile == "4IN_720P"  # Auto: the largest is 4 panes (layout 6)


def test_auto_uses_the_mpulayouts_panes() -> None:
    assert layout_refs(spec(layoutRefs=refs("stage")), "ns", KNOWN).task_profile == "4IN_720P"
    assert layout_refs(spec(layoutRefs=refs("duo")), "ns", KNOWN).task_profile == "2IN_720P"


@pytest.mark.parametrize("names", [("wip",), ("nope",), ("big",), ("stage", "big")])
def test_a_missing_or_uncreated_layout_is_a_wait(names: tuple[str, ...]) -> None:
    got = layout_refs(spec(layoutRefs=refs(*names)), "ns", KNOWN)
    assert got.waiting is not None and not got.usable
    reason, message, stalled = got.waiting
    assert (reason, stalled) == (LAYOUT_NOT_READY, False)
    assert names[-1] in message and "elsewhere" not in message and "10003" not in message


def test_a_layout_of_another_app_is_stalled() -> None:
    got = layout_refs(spec(layoutRefs=refs("stage", "foreign")), "ns", KNOWN)
    assert got.waiting is not None
    assert got.waiting[0] == INVALID_SPEC and got.waiting[2] is True
    assert got.waiting[1].startswith("layout.layoutRefs[1].name: MPULayout foreign is a "
                                     "layout of app other")


def test_pane_rules_with_the_layouts_panes_are_stalled() -> None:
    got = layout_refs(spec(layoutRefs=refs("duo"), userPanes=[{"paneId": 2, "userId": "u"}]),
                      "ns", KNOWN)
    assert got.waiting == (INVALID_SPEC, "layout.userPanes[0].paneId: pane 2 is in none of "
                                         "the layouts (MPULayout duo has panes 0 and 1)", True)
    same = layout_refs(spec(layoutIds=[13], layoutRefs=refs("duo")), "ns", KNOWN)
    assert same.waiting is not None and "like layout 13" in same.waiting[1]


def test_a_start_carries_the_resolved_layout_and_profile() -> None:
    s = spec(layoutRefs=refs("duo"))
    got = layout_refs(s, "ns", KNOWN)
    start = got.start(s.start_params("", "rtmp://h/live/s"))
    assert start.layout.layout_ids == (10002,) and start.task_profile == "2IN_720P"


def test_a_live_task_keeps_its_layout_while_the_refs_cannot_be_used() -> None:
    running = Record(applied_layout="applied")
    waiting = layout_refs(spec(layoutIds=[1], layoutRefs=refs("duo", "wip")), "ns", KNOWN)
    assert waiting.fingerprint(running) == "applied"
    assert waiting.fingerprint(Record()) == fingerprint.layout_fingerprint(waiting.layout)
    usable = layout_refs(spec(layoutIds=[1], layoutRefs=refs("duo")), "ns", KNOWN)
    assert usable.fingerprint(running) == fingerprint.layout_fingerprint(usable.layout)
    assert usable.layout.layout_ids == (1, 10002)


URL = "rtmp://h/live/s"


def started_with(s: MPUTaskSpec, profile: str) -> Record:
    """The record of a task started from ``s`` with ``profile``."""
    start = replace(s.start_params("", URL), task_profile=profile)
    return Record(applied_immutable=fingerprint.immutable_fingerprint(start, "base"))


@pytest.mark.parametrize(("ref", "running_with", "expected"), [
    ("duo", None, "2IN_720P"),  # a start: the cheapest
    ("duo", "4IN_720P", "4IN_720P"),  # panes went 3 -> 2: the running profile still covers
    ("duo", "9IN_1080P", "9IN_1080P"),
    ("stage", "2IN_720P", "4IN_720P"),  # panes went 2 -> 3: 2 inputs no longer cover
    ("stage", "4IN_720P", "4IN_720P"),
])
def test_a_running_auto_task_keeps_a_profile_that_still_covers(ref: str, running_with: str | None,
                                                                expected: str) -> None:
    s = spec(layoutRefs=refs(ref))
    record = started_with(s, running_with) if running_with else Record()
    got = layout_refs(s, "ns", KNOWN).start(s.start_params("", URL), record, "base")
    assert got.task_profile == expected and got.layout.layout_ids == (KNOWN[("ns", ref)].layout_id,)


def test_a_named_profile_is_never_swapped() -> None:
    s = spec(layoutRefs=refs("duo"))
    named = spec("9IN_720P", layoutRefs=refs("duo"))
    got = layout_refs(named, "ns", KNOWN)
    assert (got.task_profile, got.also_covering) == ("9IN_720P", ())
    assert got.start(named.start_params("", URL), started_with(s, "4IN_720P"),
                     "base").task_profile == "9IN_720P"


def test_profile_choices_and_covering_profiles() -> None:
    duo = rules.CustomLayout("f", "duo", (0, 1))
    assert rules.profile_choices("Auto", [1], [duo], 20)[:3] == ["2IN_720P", "2IN_1080P",
                                                                 "4IN_720P"]
    assert rules.profile_choices("4IN_360P", [1], [duo], 20) == ["4IN_360P"]
    assert rules.profile_choices("Auto", [99], [duo], 20) == ["16IN_720P", "16IN_1080P"]
    assert catalogue.covering_profiles(3, 0) == ["Mixed_Audio"]
    assert catalogue.covering_profiles(12, 30) == ["12IN_1080P", "16IN_1080P"]

