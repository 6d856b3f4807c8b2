"""layoutRefs, the pure parts: MPULayouts resolved in the task's own namespace
(core/layouts.py) and the pane-count rules with their panes (api/rules.py, catalogue.py),
as tables. No servers, no clock."""

from __future__ import annotations

from typing import Any

import pytest

from mpu_operator import catalogue
from mpu_operator.api import rules
from mpu_operator.core import layouts as cl

K = cl.KnownLayout
STAGE = K(10001, 3, True, "app", (0, 1, 2))
KNOWN = {
    ("a", "stage"): STAGE,
    ("a", "wip"): K(None, 2, False, "app", (0, 1)),  # being created
    ("a", "edited"): K(10002, 4, False, "app", (0, 1, 2, 3)),  # Modifying: id usable
    ("a", "other-app"): K(10004, 2, True, "app-2", (0, 1)),
    ("a", "no-app"): K(10005, 1, True, None, (0,)),
    ("b", "secret"): K(10003, 9, True, "app", tuple(range(9))),
}


def ref(index: int, name: str, layout: cl.KnownLayout) -> cl.RefLayout:
    assert layout.layout_id is not None
    return cl.RefLayout(index, name, layout.layout_id, layout.pane_ids)


# -- resolution ----------------------------------------------------------------------------


@pytest.mark.parametrize(("namespace", "names", "expected"), [
    ("a", [], cl.TaskRefs()),
    ("a", ["stage"], cl.TaskRefs((ref(0, "stage", STAGE),))),
    # in spec order, each with its index in layoutRefs
    ("a", ["edited", "stage"], cl.TaskRefs((ref(0, "edited", KNOWN[("a", "edited")]),
                                            ref(1, "stage", STAGE)))),
    ("a", ["wip", "stage"], cl.TaskRefs((ref(1, "stage", STAGE),), ("wip",))),
    ("a", ["nope"], cl.TaskRefs((), ("nope",))),
    # another namespace's layout of that name is as absent as none
    ("a", ["secret"], cl.TaskRefs((), ("secret",))),
    ("b", ["secret", "stage"], cl.TaskRefs((ref(0, "secret", KNOWN[("b", "secret")]),),
                                           ("stage",))),
    # an app not recorded yet counts as the task's (the service judges it)
    ("a", ["no-app"], cl.TaskRefs((ref(0, "no-app", KNOWN[("a", "no-app")]),))),
])
def test_refs_resolve_in_the_tasks_namespace(namespace: str, names: list[str],
                                             expected: cl.TaskRefs) -> None:
    assert cl.resolve_refs(namespace, "app", names, KNOWN) == expected


def test_a_layout_of_another_app_is_a_problem_of_the_field() -> None:
    got = cl.resolve_refs("a", "app", ["stage", "other-app"], KNOWN)
    assert got.layouts == (ref(0, "stage", STAGE),) and got.not_ready == ()
    assert got.problems == (("layout.layoutRefs[1].name",
                             "MPULayout other-app is a layout of app app-2, not of this "
                             "task's appId app: a task can use only its own app's layouts"),)
    assert not got.usable


@pytest.mark.parametrize(("refs", "ids", "usable"), [
    (cl.TaskRefs(), (), True),
    (cl.TaskRefs((ref(0, "stage", STAGE), cl.RefLayout(1, "x", 7, ()))), (10001, 7), True),
    (cl.TaskRefs((), ("wip",)), (), False),
    (cl.TaskRefs((), (), (("f", "m"),)), (), False),
])
def test_task_refs_ids_and_usable(refs: cl.TaskRefs, ids: tuple[int, ...],
                                  usable: bool) -> None:
    assert refs.layout_ids == ids and refs.usable is usable


def test_not_ready_message_names_the_refs_and_the_namespace() -> None:
    assert cl.not_ready_message("a", ["wip"]) == (
        "waiting for MPULayout wip of namespace a: not created yet (no status.layoutId); "
        "the task starts as soon as it has one")
    assert cl.not_ready_message("a", ["x", "y"]).startswith(
        "waiting for MPULayouts x, y of namespace a: ")


@pytest.mark.parametrize(("body", "expected"), [
    ({"spec": {"appId": "app", "panes": [{"paneId": 0}, {"paneId": 3}]},
      "status": {"layoutId": 7, "appId": "made-in"}}, K(7, 2, False, "made-in", (0, 3))),
    ({"spec": {"appId": "app", "panes": [{"paneId": 1}]}}, K(None, 1, False, "app", (1,))),
    # junk pane ids are left out (booleans, negatives, text); the count is the list's
    ({"spec": {"appId": "", "panes": [{"paneId": True}, {"paneId": -1}, {"paneId": "2"},
                                      "x", {"paneId": 0}]}}, K(None, 5, False, None, (0,))),
    ({"spec": "junk"}, K(None, 0, False, None, ())),
])
def test_known_layout_offers_its_app_and_pane_ids(body: dict[str, Any],
                                                  expected: cl.KnownLayout) -> None:
    assert cl.known_layout(body) == expected


# -- the pane-count rules with the MPULayouts' panes -----------------------------------------


def custom(index: int, name: str, *pane_ids: int) -> rules.CustomLayout:
    return rules.CustomLayout(f"layout.layoutRefs[{index}].name", name, pane_ids)


TWO = custom(0, "two", 0, 1)
FIVE = custom(1, "five", 0, 1, 2, 3, 4)
SPARSE = custom(0, "sparse", 2, 7)


@pytest.mark.parametrize(("ids", "customs", "needed"), [
    ([], [], 1),
    ([6], [], 4),
    ([6], [TWO], 4),
    ([1], [FIVE, TWO], 5),
    ([11], [FIVE], 9),
    ([99], [TWO], None),  # a custom id: unknown
    ([], [custom(0, "empty")], 0),
])
def test_panes_needed(ids: list[int], customs: list[rules.CustomLayout],
                      needed: int | None) -> None:
    assert rules.panes_needed(ids, customs) == needed


@pytest.mark.parametrize(("profile", "ids", "customs", "encode", "expected"), [
    ("Auto", [], [TWO], 20, "2IN_720P"),
    ("Auto", [1], [FIVE], 20, "9IN_720P"),
    ("Auto", [1], [TWO], 1, "2IN_360P"),
    ("Auto", [6], [TWO], 30, "4IN_1080P"),
    ("Auto", [99], [TWO], 20, "16IN_720P"),  # an unknown custom id: the largest
    ("Auto", [], [TWO], 0, "Mixed_Audio"),
    ("Auto", [], [TWO], 777, "2IN_1080P"),  # unknown encoding: 1080P
    ("4IN_360P", [], [FIVE], 20, "4IN_360P"),  # named: sent as named (the rule judges it)
])
def test_auto_picks_from_the_largest_pane_count(profile: str, ids: list[int],
                                                customs: list[rules.CustomLayout],
                                                encode: int, expected: str) -> None:
    assert rules.profile_with_customs(profile, ids, customs, encode) == expected


@pytest.mark.parametrize(("inputs", "encode", "expected"), [
    (1, 1, "1IN_360P"), (2, 20, "2IN_720P"), (3, 20, "4IN_720P"), (9, 30, "9IN_1080P"),
    (10, 10, "12IN_720P"), (16, 1, "16IN_360P"), (4, 0, "Mixed_Audio"), (4, 12345, "4IN_1080P"),
])
def test_profile_for(inputs: int, encode: int, expected: str) -> None:
    assert catalogue.profile_for(inputs, encode) == expected


def problems(ids: list[int], customs: list[rules.CustomLayout], panes: list[int],
             profile: str = "Auto") -> list[str]:
    return [str(p) for p in rules.custom_layout_problems(ids, customs, panes, profile)]


@pytest.mark.parametrize(("ids", "customs", "panes", "profile", "expected"), [
    ([1, 6], [FIVE], [0, 4], "Auto", []),
    ([], [SPARSE], [2, 7], "Auto", []),
    ([6], [TWO], [3], "4IN_720P", []),
    ([99], [TWO], [15], "1IN_360P", []),  # a custom id: pane ids and profile left to the service
    # pane counts: an MPULayout against the system layouts, then against an earlier one
    ([1, 2], [TWO], [], "Auto",
     ["layout.layoutRefs[0].name: MPULayout two has 2 panes, like layout 2; the service picks "
      "a layout by the number of people present, so give at most one layout per pane count"]),
    ([3, 4], [custom(0, "pip", 0, 1)], [], "Auto",
     ["layout.layoutRefs[0].name: MPULayout pip has 2 panes, like layout 3; the service picks "
      "a layout by the number of people present, so give at most one layout per pane count"]),
    ([], [TWO, custom(1, "again", 5, 6)], [], "Auto",
     ["layout.layoutRefs[1].name: MPULayout again has 2 panes, like MPULayout two; the service "
      "picks a layout by the number of people present, so give at most one layout per pane "
      "count"]),
    # pane ids: each must be a pane of some layout
    ([], [SPARSE], [0, 7, 3], "Auto",
     ["layout.userPanes[0].paneId: pane 0 is in none of the layouts (MPULayout sparse has "
      "panes 2 and 7)",
      "layout.userPanes[2].paneId: pane 3 is in none of the layouts (MPULayout sparse has "
      "panes 2 and 7)"]),
    ([6], [FIVE], [5], "Auto",
     ["layout.userPanes[0].paneId: pane 5 is in none of the layouts (layout 6 has panes 0 to "
      "3; MPULayout five has panes 0, 1, 2, 3 and 4)"]),
    ([], [custom(0, "empty")], [0], "Auto",
     ["layout.userPanes[0].paneId: pane 0 is in none of the layouts (MPULayout empty has no "
      "panes)"]),
    # a named profile must mix the largest layout's panes
    ([1], [FIVE], [], "4IN_720P",
     ["encoding.taskProfile: the largest layout has 5 panes (with the MPULayouts' panes) but "
      "4IN_720P mixes at most 4 inputs"]),
    ([1], [FIVE], [], "9IN_720P", []),
    ([1], [custom(0, "four", 0, 1, 2, 3)], [], "4IN_720P", []),  # exactly enough
    ([1], [FIVE], [], "Mixed_Audio", []),
    ([1], [FIVE], [], "NoSuchProfile", []),  # the parser reports it
    ([11], [], [], "4IN_720P", []),  # no MPULayout: the parser's rule, not repeated here
])
def test_custom_layout_problems(ids: list[int], customs: list[rules.CustomLayout],
                                panes: list[int], profile: str, expected: list[str]) -> None:
    assert problems(ids, customs, panes, profile) == expected
