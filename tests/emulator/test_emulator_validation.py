"""Parameter rules of the four actions, per the reference, one case per rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mpu_operator.emulator import validation
from mpu_operator.emulator.errors import ApiError
from mpu_operator.emulator.model import Pane

BASE = {"AppId": "app", "ChannelId": "ch", "TaskId": "t1",
        "StreamURL": "rtmp://cdn.example.com/live/s?auth_key=x", "LayoutIds.1": "1",
        "MediaEncode": "20"}


def start(**changes: str | None) -> object:
    params = {**BASE, **changes}
    return validation.start({k: v for k, v in params.items() if v is not None})


def refused(code: str, **changes: str | None) -> str:
    with pytest.raises(ApiError) as caught:
        start(**changes)
    assert caught.value.code == code, caught.value
    assert caught.value.http == 400
    return caught.value.message


@pytest.mark.parametrize(("name", "code"), [
    ("AppId", "Request.NoAppID"), ("ChannelId", "Request.NoChannelID"),
    ("TaskId", "MissingParameter"), ("StreamURL", "MissingParameter"),
    ("LayoutIds.1", "MissingParameter"), ("MediaEncode", "MissingParameter"),
])
def test_required_parameters(name: str, code: str) -> None:
    message = refused(code, **{name: None})
    assert name.split(".")[0] in message or code.startswith("Request.No")


@pytest.mark.parametrize("task_id", ["a" * 55, "A-b_0", "x"])
def test_task_id_accepted(task_id: str) -> None:
    start(TaskId=task_id)


@pytest.mark.parametrize("task_id", ["a" * 56, "has space", "dot.ted", "slash/", "é"])
def test_task_id_refused(task_id: str) -> None:
    refused("Request.InvalidTaskId", TaskId=task_id)


@pytest.mark.parametrize("url", ["http://cdn.example.com/live/s", "rtmp:///nohost", "not a url"])
def test_stream_url_must_be_rtmp_with_a_host(url: str) -> None:
    refused("Request.InvalidStreamURL", StreamURL=url)


def test_layout_ids_consecutive_from_one() -> None:
    refused("Request.InvalidLayoutIds", **{"LayoutIds.1": None, "LayoutIds.2": "1"})
    refused("Request.InvalidLayoutIds", **{"LayoutIds.3": "6"})
    refused("Request.InvalidLayoutIds", **{"LayoutIds.x": "6"})


def test_at_most_sixteen_layouts() -> None:
    sixteen = {f"LayoutIds.{n}": str(100 + n) for n in range(1, 17)}
    start(**sixteen)  # custom ids: pane counts unknown, so no clash
    refused("Request.InvalidLayoutIds", **sixteen, **{"LayoutIds.17": "200"})


@pytest.mark.parametrize("pair", [("2", "3"), ("2", "13"), ("3", "4")])
def test_known_layouts_with_the_same_pane_count_clash(pair: tuple[str, str]) -> None:
    message = refused("Request.InvalidLayoutIds",
                      **{"LayoutIds.1": pair[0], "LayoutIds.2": pair[1]})
    assert "2 panes" in message


def test_layouts_that_differ_in_panes_and_custom_ids_pass() -> None:
    spec = validation.start({**BASE, "LayoutIds.1": "1", "LayoutIds.2": "2",
                             "LayoutIds.3": "6", "LayoutIds.4": "9001"})
    assert spec.layout.layout_ids == (1, 2, 6, 9001)


@pytest.mark.parametrize("prefix", ["UserPanes", "UserPanels"])
@pytest.mark.parametrize("pane_field", ["PaneId", "PanelId"])
def test_pane_spellings(prefix: str, pane_field: str) -> None:
    spec = validation.start({**BASE, f"{prefix}.1.{pane_field}": "0",
                             f"{prefix}.1.UserId": "alice",
                             f"{prefix}.2.{pane_field}": "1", f"{prefix}.2.UserId": "bob",
                             f"{prefix}.2.SourceType": "shareScreen"})
    assert spec.layout.user_panes == (Pane(0, "alice"), Pane(1, "bob", "shareScreen"))


def test_old_sdk_run_together_pane_overlays_are_read_back() -> None:
    """aliyun-python-sdk-rtc spells pane 1's image 1 ``UserPanes.11.*`` (tests/emulator/
    test_emulator_overlays.py has the rest)."""
    spec = validation.start({**BASE, "UserPanes.1.PaneId": "0", "UserPanes.1.UserId": "a",
                             "UserPanes.11.Url": "https://i.example.com/a.png",
                             "UserPanes.11.X": "0", "UserPanes.11.Y": "0",
                             "UserPanes.11.Width": "0.5", "UserPanes.11.Height": "0.5"})
    (pane,) = spec.layout.user_panes
    assert pane.images == ({"url": "https://i.example.com/a.png", "x": 0.0, "y": 0.0,
                            "width": 0.5, "height": 0.5},)


@pytest.mark.parametrize("changes", [
    {"UserPanes.1.PaneId": "16", "UserPanes.1.UserId": "a"},
    {"UserPanes.1.PaneId": "-1", "UserPanes.1.UserId": "a"},
    {"UserPanes.1.UserId": "a"},
    {"UserPanes.1.PaneId": "0"},
    {"UserPanes.1.PaneId": "0", "UserPanes.1.UserId": "a", "UserPanes.1.SourceType": "tv"},
    {"UserPanes.17.PaneId": "0", "UserPanes.17.UserId": "a"},
    {"UserPanes.1.PaneId": "0", "UserPanes.1.UserId": "a",
     "UserPanes.2.PaneId": "0", "UserPanes.2.UserId": "b"},
])
def test_bad_panes(changes: dict[str, str]) -> None:
    refused("Request.InvalidUserPanes", **changes)


@pytest.mark.parametrize(("crop", "ok"), [("0", True), ("1", True), ("2", True), ("3", False),
                                          ("-1", False), ("x", False)])
def test_crop_mode(crop: str, ok: bool) -> None:
    if ok:
        start(CropMode=crop)
    else:
        refused("Request.InvalidCropMode", CropMode=crop)


@given(st.integers(min_value=0, max_value=0xFFFFFF))
def test_every_rgb_colour_is_accepted(colour: int) -> None:
    spec = validation.start({**BASE, "BackgroundColor": str(colour)})
    assert spec.layout.background_color == colour


@given(st.one_of(st.integers(max_value=-1), st.integers(min_value=0x1000000)))
def test_colours_outside_rgb_are_refused(colour: int) -> None:
    with pytest.raises(ApiError) as caught:
        validation.start({**BASE, "BackgroundColor": str(colour)})
    assert caught.value.code == "Request.InvalidBackgroundColor"


def test_media_encode_unknown_ids_pass_but_not_negatives() -> None:
    start(MediaEncode="2")  # the reference's own example id, not in its table
    refused("Request.InvalidMediaEncode", MediaEncode="-1")
    refused("Request.InvalidMediaEncode", MediaEncode="hd")


def test_missing_task_profile_is_billed_at_the_top_profile() -> None:
    spec = validation.start(BASE)
    assert (spec.task_profile, spec.task_profile_sent) == ("16IN_1080P", False)


@pytest.mark.parametrize(("profile", "layouts", "encode", "ok"), [
    ("4IN_720P", ("6",), "20", True),
    ("2IN_720P", ("6",), "20", False),  # 4 panes > 2 inputs
    ("4IN_360P", ("6",), "20", False),  # 720p output > 360p profile
    ("Mixed_Audio", ("1",), "0", True),
    ("Mixed_Audio", ("1",), "20", False),
    ("1IN_1080P", ("1",), "0", False),
    ("1IN_1080P", ("9001",), "999", True),  # unknown layout and encoding: service judges
    ("Auto", ("1",), "20", False),
    ("16IN_4K", ("1",), "20", False),
])
def test_task_profile_rules(profile: str, layouts: tuple[str, ...], encode: str,
                            ok: bool) -> None:
    changes = {f"LayoutIds.{n}": v for n, v in enumerate(layouts, 1)}
    if ok:
        start(TaskProfile=profile, MediaEncode=encode, **changes)
    else:
        refused("Request.InvalidTaskProfile", TaskProfile=profile, MediaEncode=encode,
                **changes)


def test_sub_spec_users_consecutive() -> None:
    spec = validation.start({**BASE, "SubSpecUsers.1": "a", "SubSpecUsers.2": "b"})
    assert spec.sub_spec_users == ("a", "b")
    refused("Request.InvalidSubSpecUsers", **{"SubSpecUsers.2": "b"})


@pytest.mark.parametrize(("name", "value", "code"), [
    ("AppId", "bad app", "Request.InvalidAppID"),
    ("ChannelId", "c" * 65, "Request.InvalidChannelID"),
])
def test_app_and_channel_ids(name: str, value: str, code: str) -> None:
    refused(code, **{name: value})
