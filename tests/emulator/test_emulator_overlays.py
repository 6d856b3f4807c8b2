"""The newer StartMPUTask / UpdateMPUTask parameters: rules, both wire forms, one case each."""

from __future__ import annotations

import json

import pytest

from mpu_operator.emulator import validation
from mpu_operator.emulator.errors import ApiError

BASE = {"AppId": "app", "ChannelId": "ch", "TaskId": "t1",
        "StreamURL": "rtmp://cdn.example.com/live/s?auth_key=x", "LayoutIds.1": "1",
        "MediaEncode": "20"}
IMG = "https://img.example.com/logo.png"
PICTURE = {"Url": IMG, "X": "0.8", "Y": "0.05", "Width": "0.1", "Height": "0.1"}
PANE = {"UserPanes.1.PaneId": "0", "UserPanes.1.UserId": "alice"}


def flat(prefix: str, fields: dict[str, str]) -> dict[str, str]:
    return {f"{prefix}.{k}": v for k, v in fields.items()}


def refused(code: str, params: dict[str, str], *, update: bool = False) -> str:
    with pytest.raises(ApiError) as caught:
        (validation.update_task if update else validation.start)(params)
    assert caught.value.code == code, caught.value
    assert caught.value.http == 400
    return caught.value.message


def test_every_new_start_parameter_is_kept_under_its_spec_name() -> None:
    params = {
        **BASE, **PANE, "UserPanes.1.SegmentType": "1",
        **flat("UserPanes.1.Images.1", {**PICTURE, "Display": "2", "ZOrder": "1"}),
        **flat("UserPanes.1.Texts.1", {"Text": "Alice", "X": "0.1", "Y": "0.9",
                                       "FontSize": "18", "Box": "true", "BoxColor": "0"}),
        **flat("Backgrounds.1", {**PICTURE, "ZOrder": "0", "Display": "1"}),
        **flat("Watermarks.1", {**PICTURE, "Alpha": "0.5"}),
        **flat("ClockWidgets.1", {"X": "0.02", "Y": "0.9", "FontType": "1", "FontColor": "255",
                                  "BorderWidth": "1", "BorderColor": "0", "Box": "False",
                                  "BoxBorderWidth": "2", "Alpha": "1", "ZOrder": "3"}),
        "SubSpecAudioUsers.1": "alice", "SubSpecCameraUsers.1": "bob",
        "UnsubSpecShareScreenUsers.1": "carol", "MixMode": "1", "SourceType": "shareScreen",
        "StreamType": "1", "TaskType": "0", "VadInterval": "100", "OwnerId": "7",
        "EnhancedParam.EnablePortraitSegmentation": "True",
    }
    spec = validation.start(params)
    shown = spec.live.to_json()
    assert shown["backgrounds"] == [{"url": IMG, "x": 0.8, "y": 0.05, "width": 0.1,
                                     "height": 0.1, "zOrder": 0, "display": 1}]
    assert shown["watermarks"][0]["alpha"] == 0.5
    assert shown["clockWidgets"] == [{"x": 0.02, "y": 0.9, "alpha": 1.0, "zOrder": 3,
                                      "fontType": 1, "fontColor": 255, "borderWidth": 1,
                                      "borderColor": 0, "box": False, "boxBorderWidth": 2}]
    assert shown["subSpecAudioUsers"] == ["alice"] and shown["subSpecCameraUsers"] == ["bob"]
    assert shown["unsubSpecShareScreenUsers"] == ["carol"] and shown["unsubSpecAudioUsers"] == []
    assert (shown["mixMode"], shown["sourceType"], shown["streamType"]) == (1, "shareScreen", 1)
    (pane,) = spec.layout.user_panes
    assert pane.images[0]["display"] == 2 and pane.segment_type == 1
    assert pane.texts == ({"text": "Alice", "x": 0.1, "y": 0.9, "fontSize": 18, "box": True,
                           "boxColor": 0},)
    assert spec.extras == {"taskType": 0, "vadInterval": 100,
                           "enhancedParam": {"enablePortraitSegmentation": True}}


def test_defaults_are_empty() -> None:
    shown = validation.start(BASE).live.to_json()
    assert shown["watermarks"] == shown["backgrounds"] == shown["clockWidgets"] == []
    assert (shown["mixMode"], shown["sourceType"], shown["streamType"]) == (0, "camera", 0)


@pytest.mark.parametrize(("prefix", "code"), [
    ("Backgrounds.1", "Request.InvalidBackgrounds"),
    ("Watermarks.1", "Request.InvalidWatermarks"),
    ("UserPanes.1.Images.1", "Request.InvalidUserPanes"),
])
@pytest.mark.parametrize(("field", "value", "rule"), [
    ("X", "1.5", "0..1"), ("Y", "-0.1", "0..1"), ("Width", "2", "0..1"),
    ("Height", "nan", "0..1"), ("X", "left", "number"), ("Url", "ftp://h/a.png", "http"),
    ("Url", "", "must be given"), ("Display", "3", "0..2"), ("ZOrder", "-1", "0..2147483647"),
    ("Colour", "1", "not a parameter"),
])
def test_picture_rules(prefix: str, code: str, field: str, value: str, rule: str) -> None:
    params = {**BASE, **PANE, **flat(prefix, {**PICTURE, field: value})}
    message = refused(code, params)
    assert f"{prefix}.{field}" in message and rule in message


@pytest.mark.parametrize(("field", "value", "rule"), [
    ("Alpha", "1.01", "0..1"), ("FontSize", "0", "1..2147483647"),
    ("FontColor", str(0x1000000), "0..16777215"), ("BoxColor", "-1", "0..16777215"),
    ("Box", "yes", "true or false"), ("BorderWidth", "-2", "0..2147483647"),
    ("X", "", "must be given"),
])
def test_clock_widget_rules(field: str, value: str, rule: str) -> None:
    params = {**BASE, **flat("ClockWidgets.1", {"X": "0", "Y": "0", field: value})}
    message = refused("Request.InvalidClockWidgets", params)
    assert f"ClockWidgets.1.{field}" in message and rule in message


def test_watermark_alpha_only_on_watermarks() -> None:
    refused("Request.InvalidBackgrounds", {**BASE, **flat("Backgrounds.1",
                                                          {**PICTURE, "Alpha": "0.5"})})


def test_pane_text_needs_its_text_within_limits() -> None:
    text = flat("UserPanes.1.Texts.1", {"X": "0", "Y": "0"})
    assert "Text must be given" in refused("Request.InvalidUserPanes", {**BASE, **PANE, **text})
    long = {**text, "UserPanes.1.Texts.1.Text": "x" * 129}
    assert "1..128" in refused("Request.InvalidUserPanes", {**BASE, **PANE, **long})


def test_lists_are_numbered_from_one_without_gaps_and_bounded() -> None:
    assert "consecutive" in refused("Request.InvalidWatermarks",
                                    {**BASE, **flat("Watermarks.2", PICTURE)})
    many = {k: v for n in range(1, 18) for k, v in flat(f"Watermarks.{n}", PICTURE).items()}
    assert "at most 16" in refused("Request.InvalidWatermarks", {**BASE, **many})


@pytest.mark.parametrize(("changes", "code"), [
    ({"MixMode": "2"}, "Request.InvalidMixMode"),
    ({"StreamType": "3"}, "Request.InvalidStreamType"),
    ({"SourceType": "tv"}, "Request.InvalidSourceType"),
    ({"SubSpecAudioUsers.2": "a"}, "Request.InvalidSubSpecUsers"),
    ({"UnsubSpecCameraUsers.1": ""}, "Request.InvalidSubSpecUsers"),
    ({"SubSpecCameraUsers.1": "a", "UnsubSpecCameraUsers.1": "a"},
     "Request.InvalidSubSpecUsers"),
    ({"TaskType": "x"}, "Request.InvalidParameter"),
    ({"EnhancedParam.EnableVoiceChanger": "maybe"}, "Request.InvalidParameter"),
    ({"UserPanes.1.Figures.1.Url": IMG}, "Request.InvalidUserPanes"),
])
def test_subscription_mix_and_knob_rules(changes: dict[str, str], code: str) -> None:
    refused(code, {**BASE, **PANE, **changes})


def test_a_user_may_be_unsubscribed_from_one_media_and_subscribed_to_another() -> None:
    spec = validation.start({**BASE, "SubSpecAudioUsers.1": "a", "UnsubSpecCameraUsers.1": "a"})
    assert spec.live.subscriptions["subSpecAudioUsers"] == ["a"]


def test_single_needs_no_layout_but_mix_does() -> None:
    without = {k: v for k, v in BASE.items() if k != "LayoutIds.1"}
    assert validation.start({**without, "MixMode": "1"}).layout.layout_ids == ()
    refused("MissingParameter", without)


# -- the other wire forms ----------------------------------------------------------------


def test_json_in_one_field_equals_the_flat_form() -> None:
    as_json = {**BASE, "LayoutIds": json.dumps([1, 6]),
               "UserPanes": json.dumps([{"PaneId": 0, "UserId": "alice", "Images": [
                   {"Url": IMG, "X": 0, "Y": 0, "Width": 1, "Height": 1}]}]),
               "Watermarks": json.dumps([{"Url": IMG, "X": 0.8, "Y": 0.05, "Width": 0.1,
                                          "Height": 0.1, "Alpha": 0.5}]),
               "SubSpecAudioUsers": json.dumps(["alice"])}
    del as_json["LayoutIds.1"]
    as_flat = {**BASE, "LayoutIds.2": "6", **PANE,
               **flat("UserPanes.1.Images.1", {"Url": IMG, "X": "0", "Y": "0", "Width": "1",
                                               "Height": "1"}),
               **flat("Watermarks.1", {**PICTURE, "Alpha": "0.5"}),
               "SubSpecAudioUsers.1": "alice"}
    assert validation.start(as_json) == validation.start(as_flat)


def test_a_json_field_that_is_not_a_list_is_refused() -> None:
    message = refused("Request.InvalidParameter", {**BASE, "Watermarks": "{"})
    assert "Watermarks must be a JSON array" in message


def test_old_sdk_run_together_form_image_and_text_in_one_pane() -> None:
    """What aliyun-python-sdk-rtc sends for pane 1 with one image and one text: shared
    X/Y/ZOrder keys, which the text overwrote in the SDK, go to both."""
    params = {**BASE, **PANE, "UserPanes.11.Url": IMG, "UserPanes.11.Width": "1",
              "UserPanes.11.Height": "1", "UserPanes.11.Text": "Alice",
              "UserPanes.11.FontSize": "18", "UserPanes.11.X": "0.1", "UserPanes.11.Y": "0.9"}
    (pane,) = validation.start(params).layout.user_panes
    assert pane.images == ({"url": IMG, "x": 0.1, "y": 0.9, "width": 1.0, "height": 1.0},)
    assert pane.texts == ({"text": "Alice", "x": 0.1, "y": 0.9, "fontSize": 18},)


def test_old_sdk_run_together_form_beyond_nine_is_ambiguous() -> None:
    message = refused("Request.InvalidUserPanes",
                      {**BASE, **PANE, "UserPanes.111.Url": IMG})
    assert "UserPanes.N.Images.M.Url" in message


# -- UpdateMPUTask and UpdateMPULayout --------------------------------------------------


def test_update_task_is_the_whole_new_value() -> None:
    update = validation.update_task({"AppId": "app", "TaskId": "t1", "LayoutIds.1": "6",
                                     "MediaEncode": "2", **flat("Watermarks.1", PICTURE)})
    assert update.layout.layout_ids == (6,) and update.media_encode == 2
    assert len(update.live.watermarks) == 1 and update.live.backgrounds == ()
    bare = validation.update_task({"AppId": "app", "TaskId": "t1", "LayoutIds.1": "1"})
    assert bare.media_encode is None and bare.sub_spec_users == ()


def test_update_task_rules_are_the_start_rules() -> None:
    base = {"AppId": "app", "TaskId": "t1", "LayoutIds.1": "1"}
    refused("Request.InvalidWatermarks", {**base, **flat("Watermarks.1", {**PICTURE,
                                                                          "Alpha": "2"})},
            update=True)
    refused("MissingParameter", {"AppId": "app", "TaskId": "t1"}, update=True)
    refused("MissingParameter", {"AppId": "app", "LayoutIds.1": "1"}, update=True)


def test_update_layout_refuses_pane_overlays() -> None:
    with pytest.raises(ApiError) as caught:
        validation.layout({"LayoutIds.1": "1", **PANE,
                           **flat("UserPanes.1.Images.1", PICTURE)})
    assert caught.value.code == "Request.InvalidUserPanes"
    assert "UpdateMPUTask" in caught.value.message
