"""Our encoding of StartMPUTask and UpdateMPUTask equals the official SDKs' for the same values.

The reference is ``aliyun-python-sdk-rtc`` (what the client follows), field by field, with
one exception the SDK gets wrong: pane images and texts, where it runs the two indexes
together (``UserPanes.11.Url``) and lets a text's X/Y/ZOrder overwrite an image's. For those
the reference is ``alibabacloud-rtc20180111``'s flattening, ``UserPanes.1.Images.1.Url``.
No HTTP here: both SDKs are asked what they would send.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from alibabacloud_rtc20180111 import models as acs3
from alibabacloud_tea_openapi.utils import Utils
from aliyunsdkrtc.request.v20180111.StartMPUTaskRequest import StartMPUTaskRequest
from aliyunsdkrtc.request.v20180111.UpdateMPUTaskRequest import UpdateMPUTaskRequest

from mpu_operator.rtc.params import (
    ClockWidget,
    LayoutParams,
    MediaUsers,
    PaneText,
    Picture,
    SingleSource,
    UpdateTaskParams,
    UserPane,
    Watermark,
)

from .fakertc import START

BACKGROUND = Picture("https://img.example.com/bg.png", 0.0, 0.0, 1.0, 1.0, z_order=0, display=1)
LOGO = Watermark("https://img.example.com/logo.png", 0.85, 0.05, 0.1, 0.1, z_order=5,
                 display=1, alpha=0.8)
CLOCK = ClockWidget(0.02, 0.9, alpha=1.0, z_order=6, font_type=1, font_size=24,
                    font_color=16777215, border_width=1, border_color=0, box=True,
                    box_color=0, box_border_width=2)
PLACEHOLDER = Picture("https://img.example.com/away.png", 0.0, 0.0, 1.0, 1.0, z_order=1,
                      display=2)
CAPTION = PaneText(0.05, 0.85, font_size=18, font_color=65535, z_order=2, text="Alice")
PANES = (UserPane(0, "alice", images=(PLACEHOLDER,), texts=(CAPTION,)),
         UserPane(1, "bob", "shareScreen"))
FULL = replace(
    START, layout=replace(START.layout, user_panes=PANES), backgrounds=(BACKGROUND,),
    watermarks=(LOGO, replace(LOGO, x=0.05)), clock_widgets=(CLOCK,),
    subscribe=MediaUsers(("alice", "bob"), ("alice",), ("bob",)),
    unsubscribe=MediaUsers(audio_users=("carol",), camera_users=("carol", "dave")),
    mix_mode="Single", single=SingleSource("shareScreen", "VideoOnly"))

_PICTURE = {"url": "Url", "x": "X", "y": "Y", "width": "Width", "height": "Height",
            "z_order": "ZOrder", "display": "Display", "alpha": "Alpha"}
_STYLE = {"x": "X", "y": "Y", "alpha": "Alpha", "z_order": "ZOrder", "font_type": "FontType",
          "font_size": "FontSize", "font_color": "FontColor", "border_width": "BorderWidth",
          "border_color": "BorderColor", "box": "Box", "box_color": "BoxColor",
          "box_border_width": "BoxBorderWidth", "text": "Text"}


def sdk_dict(obj: Any, names: dict[str, str]) -> dict[str, Any]:
    """A value as the old SDK's setters take it: a dict with its wire names."""
    return {wire: getattr(obj, attr) for attr, wire in names.items()
            if getattr(obj, attr, None) is not None}


def old_sdk_query(request: Any, params: UpdateTaskParams) -> dict[str, str]:
    """Fill an old-SDK request with ``params`` (pane overlays left out) and read its query."""
    layout = params.layout
    request.set_LayoutIdss(list(layout.layout_ids))
    request.set_CropMode(layout.crop_mode)
    request.set_BackgroundColor(layout.background_color)
    request.set_UserPaness([{"PaneId": p.pane_id, "UserId": p.user_id,
                             "SourceType": p.source_type} for p in layout.user_panes])
    request.set_SubSpecUserss(list(params.subscribe_users))
    request.set_Backgroundss([sdk_dict(b, _PICTURE) for b in params.backgrounds])
    request.set_Watermarkss([sdk_dict(w, _PICTURE) for w in params.watermarks])
    request.set_ClockWidgetss([sdk_dict(c, _STYLE) for c in params.clock_widgets])
    for kind, users in (("Audio", "audio_users"), ("Camera", "camera_users"),
                        ("ShareScreen", "share_screen_users")):
        getattr(request, f"set_SubSpec{kind}Userss")(list(getattr(params.subscribe, users)))
        getattr(request, f"set_UnsubSpec{kind}Userss")(list(getattr(params.unsubscribe, users)))
    request.set_MixMode({"Mix": 0, "Single": 1}[params.mix_mode])
    if params.single is not None:
        request.set_SourceType(params.single.source_type)
        request.set_StreamType({"AudioVideo": 0, "AudioOnly": 1,
                                "VideoOnly": 2}[params.single.stream_type])
    return {k: str(v) for k, v in request.get_query_params().items()}


def new_sdk_pane_overlays(panes: tuple[UserPane, ...]) -> dict[str, str]:
    """The new SDK's flattening of pane images and texts (its UserPanes models)."""
    models = [acs3.UpdateMPUTaskRequestUserPanes(
        pane_id=p.pane_id, user_id=p.user_id, source_type=p.source_type,
        images=[acs3.UpdateMPUTaskRequestUserPanesImages(
            url=i.url, x=i.x, y=i.y, width=i.width, height=i.height, zorder=i.z_order,
            display=i.display) for i in p.images] or None,
        texts=[acs3.UpdateMPUTaskRequestUserPanesTexts(
            text=t.text, x=t.x, y=t.y, alpha=t.alpha, zorder=t.z_order, font_type=t.font_type,
            font_size=t.font_size, font_color=t.font_color, border_width=t.border_width,
            border_color=t.border_color, box=t.box, box_color=t.box_color,
            box_border_width=t.box_border_width) for t in p.texts] or None)
        for p in panes]
    flat = Utils.query({"UserPanes": models})
    return {k: v for k, v in flat.items() if ".Images." in k or ".Texts." in k}


def without_pane_overlays(query: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in query.items() if ".Images." not in k and ".Texts." not in k}


def test_start_encoding_equals_the_old_sdk() -> None:
    request = StartMPUTaskRequest()
    request.set_AppId(FULL.app_id)
    request.set_ChannelId(FULL.channel_id)
    request.set_TaskId(FULL.task_id)
    request.set_StreamURL(FULL.stream_url)
    request.set_MediaEncode(FULL.media_encode)
    request.add_query_param("TaskProfile", FULL.task_profile)  # neither SDK has a setter
    expected = old_sdk_query(request, FULL.update_params())
    ours = FULL.to_query()
    assert without_pane_overlays(ours) == expected
    assert {k: v for k, v in ours.items() if k not in expected} == new_sdk_pane_overlays(PANES)


def test_update_task_encoding_equals_the_old_sdk() -> None:
    params = FULL.update_params()
    request = UpdateMPUTaskRequest()
    request.set_AppId("app1")
    request.set_TaskId("task-1")
    expected = old_sdk_query(request, params)
    expected.pop("AppId"), expected.pop("TaskId")
    ours = params.to_query()
    assert without_pane_overlays(ours) == expected
    assert {k: v for k, v in ours.items() if k not in expected} == new_sdk_pane_overlays(PANES)


def test_the_old_sdk_loses_pane_overlays_which_is_why_we_do_not_copy_it() -> None:
    """Pins the SDK bug the exception above is about: one pane, one image, one text."""
    request = UpdateMPUTaskRequest()
    request.set_UserPaness([{"PaneId": 0, "UserId": "alice",
                             "Images": [{"Url": PLACEHOLDER.url, "X": 0.0}],
                             "Texts": [{"Text": "Alice", "X": 0.05}]}])
    query = request.get_query_params()
    assert query["UserPanes.11.Url"] == PLACEHOLDER.url  # no ".Images.1."
    assert query["UserPanes.11.X"] == 0.05  # the image's X was overwritten by the text's


def test_defaults_send_nothing_new() -> None:
    """Without overlays or subscriptions a start is what it was before they existed."""
    assert set(START.to_query()) == {
        "AppId", "ChannelId", "TaskId", "StreamURL", "MediaEncode", "TaskProfile",
        "LayoutIds.1", "LayoutIds.2", "LayoutIds.3", "CropMode", "BackgroundColor",
        "UserPanes.1.PaneId", "UserPanes.1.UserId", "UserPanes.1.SourceType",
        "UserPanes.2.PaneId", "UserPanes.2.UserId", "UserPanes.2.SourceType",
        "SubSpecUsers.1", "SubSpecUsers.2"}


def test_update_always_says_the_mix_mode() -> None:
    back_to_mix = UpdateTaskParams(LayoutParams((1,)))
    assert back_to_mix.to_query()["MixMode"] == "0"
    assert "SourceType" not in back_to_mix.to_query()


def test_update_params_carry_every_updatable_start_field() -> None:
    params = FULL.update_params()
    assert params.layout is FULL.layout and params.watermarks == FULL.watermarks
    assert params.single == FULL.single and params.unsubscribe == FULL.unsubscribe


def test_layout_update_never_carries_pane_overlays() -> None:
    query = FULL.layout.to_query()
    assert not [k for k in query if ".Images." in k or ".Texts." in k]
    assert FULL.layout.has_overlays and not START.layout.has_overlays


@pytest.mark.parametrize("params", [FULL.update_params()])
def test_values_are_sent_as_the_sdk_spells_them(params: UpdateTaskParams) -> None:
    query = params.to_query()
    assert query["ClockWidgets.1.Box"] == "True"  # str(True), as both SDKs send it
    assert query["Watermarks.1.Alpha"] == "0.8"
    assert query["StreamType"] == "2" and query["SourceType"] == "shareScreen"
