"""The service's tables and the profile choice."""

from __future__ import annotations

import pytest

from mpu_operator import catalogue as c


@pytest.mark.parametrize(("layouts", "encode", "profile"), [
    ([1], 1, "1IN_360P"),
    ([1, 2, 6], 20, "4IN_720P"),
    ([1, 2, 5, 6, 7, 8, 9, 10, 11], 30, "9IN_1080P"),
    ([1], 10, "1IN_720P"),  # 960x540 is above 360P by pixels
    ([1], 0, "Mixed_Audio"),
    ([1, 99], 20, "16IN_720P"),  # a custom layout: pane count unknown, assume 16
    ([1], 2, "1IN_1080P"),  # an encoding unknown to us: assume the largest class
])
def test_auto_picks_the_cheapest_covering_profile(layouts, encode, profile) -> None:
    assert c.choose_profile(layouts, encode) == profile
    assert c.profile_problems(profile, layouts, encode) == []


def test_layouts_2_3_4_13_share_a_pane_count() -> None:
    assert c.duplicate_pane_counts([1, 2, 3, 13]) == {2: [2, 3, 13]}
    assert c.duplicate_pane_counts([1, 2, 5, 99]) == {}


@pytest.mark.parametrize(("profile", "layouts", "encode", "fragment"), [
    ("2IN_720P", [6], 20, "need 4 panes"),
    ("4IN_360P", [6], 20, "above 4IN_360P"),
    ("4IN_720P", [6], 0, "audio only"),
    ("Mixed_Audio", [1], 20, "carries audio only"),
    ("8IN_720P", [1], 20, "unknown profile"),
])
def test_profile_rules_fail_with_a_reason(profile, layouts, encode, fragment) -> None:
    problems = c.profile_problems(profile, layouts, encode)
    assert problems and fragment in problems[0]


def test_colour_round_trip_in_the_services_byte_order() -> None:
    assert c.color_to_int("#FF0000") == 255
    assert c.color_to_int("#0000FF") == 255 * 65536
    assert c.int_to_color(c.color_to_int("#12AB34")) == "#12AB34"


def test_every_status_code_has_a_meaning() -> None:
    assert [s.active for s in c.RemoteStatus] == [True, True] + [False] * 5
    assert c.RemoteStatus(5).failed and not c.RemoteStatus(4).failed
