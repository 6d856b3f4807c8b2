"""Both official SDKs, and our client, start tasks with overlays, per-media subscriptions and
mix mode, and change them live with UpdateMPUTask, against the emulator over HTTP.

The values are written once with the service's names; each SDK gets them its own way
(``aliyun-python-sdk-rtc``: dicts through ``set_Watermarkss``; ``alibabacloud-rtc20180111``:
its request models). What ``/_emulator/tasks`` shows must be the same for both.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from alibabacloud_rtc20180111 import models as acs3

from mpu_operator.emulator import EmulatorThread
from mpu_operator.rtc.client import RTCClient
from mpu_operator.rtc.credentials import Credentials
from mpu_operator.rtc.errors import RTCError
from mpu_operator.rtc.params import (
    ClockWidget,
    LayoutParams,
    MediaUsers,
    PaneText,
    Picture,
    SingleSource,
    StartParams,
    UserPane,
    Watermark,
)

from .conftest import fresh
from .sdk import (
    KEY_ID,
    SECRET,
    Refused,
    acs3_client,
    acs3_start_with,
    acs3_update_task,
    v1_client,
    v1_start_with,
    v1_update_task,
)

pytestmark = pytest.mark.integration

IMG = "https://img.example.com/logo.png"
BACKGROUND = {"Url": IMG, "X": 0.0, "Y": 0.0, "Width": 1.0, "Height": 1.0, "ZOrder": 0,
              "Display": 1}
WATERMARK = {"Url": IMG, "X": 0.85, "Y": 0.05, "Width": 0.1, "Height": 0.1, "ZOrder": 5,
             "Display": 1, "Alpha": 0.8}
CLOCK = {"X": 0.02, "Y": 0.9, "Alpha": 1.0, "ZOrder": 6, "FontType": 1, "FontSize": 24,
         "FontColor": 16777215, "BorderWidth": 1, "BorderColor": 0, "Box": True, "BoxColor": 0,
         "BoxBorderWidth": 2}
IMAGE = {"Url": IMG, "X": 0.0, "Y": 0.0, "Width": 1.0, "Height": 1.0, "ZOrder": 1,
         "Display": 2}
TEXT = {"Text": "Bob", "X": 0.05, "Y": 0.85, "FontSize": 18, "FontColor": 65535, "ZOrder": 2}
# Pane 1 has an image, pane 2 a text: the old SDK cannot send both in one pane intact.
PANES = [{"PaneId": 0, "UserId": "alice", "SourceType": "camera", "Images": [IMAGE]},
         {"PaneId": 1, "UserId": "bob", "SourceType": "camera", "Texts": [TEXT]}]
SUBSCRIPTIONS = {"SubSpecAudioUsers": ["alice", "bob"], "SubSpecCameraUsers": ["alice"],
                 "UnsubSpecShareScreenUsers": ["carol"]}


def camel(name: str) -> str:
    return {"ZOrder": "zOrder"}.get(name, name[0].lower() + name[1:])


def shown(entry: dict[str, Any]) -> dict[str, Any]:
    """How /_emulator/tasks shows an entry given with the service's names."""
    return {camel(k): v for k, v in entry.items()}


def snake(name: str) -> str:
    return {"ZOrder": "zorder"}.get(name, re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower())


def model(cls: type, entry: dict[str, Any]) -> Any:
    return cls(**{snake(k): v for k, v in entry.items()})


class Sdk:
    """start(...) and update(...) with the values above, through one SDK."""

    def __init__(self, kind: str, endpoint: str) -> None:
        self.kind = kind
        self.v1 = v1_client(endpoint) if kind == "v1" else None
        self.acs3 = acs3_client(endpoint) if kind == "acs3" else None

    def start(self, app: str, channel: str, task: str, url: str, **values: Any) -> None:
        if self.v1 is not None:
            setters = {f"{k}s" if isinstance(v, list) else k: v for k, v in values.items()}
            v1_start_with(self.v1, app, channel, task, url, **setters)
        else:
            assert self.acs3 is not None
            acs3_start_with(self.acs3, app, channel, task, url,
                            **self._acs3_fields("StartMPUTaskRequest", values))

    def update(self, app: str, task: str, **values: Any) -> None:
        if self.v1 is not None:
            v1_update_task(self.v1, app, task, **{
                f"{k}s" if isinstance(v, list) else k: v for k, v in values.items()})
        else:
            assert self.acs3 is not None
            fields = self._acs3_fields("UpdateMPUTaskRequest", values)
            acs3_update_task(self.acs3, app, task, fields.pop("layout_ids", None), **fields)

    @staticmethod
    def _acs3_fields(request: str, values: dict[str, Any]) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for name, value in values.items():
            if name in ("Backgrounds", "Watermarks", "ClockWidgets"):
                cls = getattr(acs3, f"{request}{name}")
                value = [model(cls, entry) for entry in value]
            elif name == "UserPanes":
                value = [Sdk._acs3_pane(request, pane) for pane in value]
            fields[snake(name)] = value
        return fields

    @staticmethod
    def _acs3_pane(request: str, pane: dict[str, Any]) -> Any:
        images = [model(getattr(acs3, f"{request}UserPanesImages"), i)
                  for i in pane.get("Images", [])]
        texts = [model(getattr(acs3, f"{request}UserPanesTexts"), t)
                 for t in pane.get("Texts", [])]
        return getattr(acs3, f"{request}UserPanes")(
            pane_id=pane["PaneId"], user_id=pane["UserId"], source_type=pane["SourceType"],
            images=images or None, texts=texts or None)


@pytest.fixture(params=["v1", "acs3"])
def sdk(request: pytest.FixtureRequest, emu: EmulatorThread) -> Sdk:
    return Sdk(request.param, emu.endpoint)


def url() -> str:
    return f"rtmp://push.example.com/live/{fresh('s')}?auth_key=1700000000-0-0-deadbeef"


def test_start_with_every_new_field(sdk: Sdk, emu: EmulatorThread) -> None:
    app, task = fresh("app"), fresh("task")
    sdk.start(app, fresh("ch"), task, url(), LayoutIds=[1, 2], UserPanes=PANES,
              Backgrounds=[BACKGROUND], Watermarks=[WATERMARK], ClockWidgets=[CLOCK],
              **SUBSCRIPTIONS, SubSpecUsers=["alice", "bob"], StreamType=1)
    record = emu.task(task, app)
    assert record["backgrounds"] == [shown(BACKGROUND)]
    assert record["watermarks"] == [shown(WATERMARK)]
    assert record["clockWidgets"] == [shown(CLOCK)]
    assert record["userPanes"][0]["images"] == [shown(IMAGE)]
    assert record["userPanes"][0]["texts"] == []
    assert record["userPanes"][1]["texts"] == [shown(TEXT)]
    assert record["subSpecAudioUsers"] == ["alice", "bob"]
    assert record["subSpecCameraUsers"] == ["alice"] and record["subSpecShareScreenUsers"] == []
    assert record["unsubSpecShareScreenUsers"] == ["carol"]
    assert record["subSpecUsers"] == ["alice", "bob"]
    assert (record["mixMode"], record["streamType"]) == (0, 1)


def test_start_single_without_layouts(sdk: Sdk, emu: EmulatorThread) -> None:
    app, task = fresh("app"), fresh("task")
    sdk.start(app, fresh("ch"), task, url(), LayoutIds=[], MixMode=1,
              SourceType="shareScreen", StreamType=2)
    record = emu.task(task, app)
    assert (record["mixMode"], record["sourceType"], record["streamType"]) == (1, "shareScreen", 2)
    assert record["layoutIds"] == []


def test_update_task_changes_a_running_task_live(sdk: Sdk, emu: EmulatorThread) -> None:
    app, channel, task = fresh("app"), fresh("ch"), fresh("task")
    sdk.start(app, channel, task, url(), Watermarks=[WATERMARK])
    emu.join(app, channel, "alice")
    moved = {**WATERMARK, "X": 0.05, "Alpha": 0.5}
    sdk.update(app, task, LayoutIds=[6], UserPanes=PANES[:1], Watermarks=[moved],
               ClockWidgets=[CLOCK], SubSpecCameraUsers=["alice"], MixMode=0)
    record = emu.task(task, app)
    assert record["status"] == 1  # not interrupted
    assert record["layoutIds"] == [6] and record["watermarks"] == [shown(moved)]
    assert record["clockWidgets"] == [shown(CLOCK)]
    assert record["userPanes"][0]["images"] == [shown(IMAGE)]
    assert record["subSpecCameraUsers"] == ["alice"]
    assert [t["taskId"] for t in emu.tasks()].count(task) == 1  # the same task, not a new one
    history = [(h["action"], h["outcome"]) for h in record["history"]]
    assert ("UpdateMPUTask", "OK") in history
    assert emu.stats()["calls"]["UpdateMPUTask"] == 1


def test_update_task_clears_what_it_no_longer_carries(sdk: Sdk, emu: EmulatorThread) -> None:
    app, task = fresh("app"), fresh("task")
    sdk.start(app, fresh("ch"), task, url(), Watermarks=[WATERMARK], ClockWidgets=[CLOCK])
    sdk.update(app, task, LayoutIds=[1])
    record = emu.task(task, app)
    assert record["watermarks"] == [] and record["clockWidgets"] == []


def test_update_task_refusals(sdk: Sdk, emu: EmulatorThread) -> None:
    app, task = fresh("app"), fresh("task")
    sdk.start(app, fresh("ch"), task, url())
    for target_app, target_task in ((app, fresh("task")), (fresh("app"), task)):
        with pytest.raises(Refused) as caught:
            sdk.update(target_app, target_task, LayoutIds=[1])
        assert (caught.value.code, caught.value.http) == ("Service.NoTask", 404)
    with pytest.raises(Refused) as caught:
        sdk.update(app, task, LayoutIds=[1], Watermarks=[{**WATERMARK, "Alpha": 1.5}])
    assert caught.value.code == "Request.InvalidWatermarks"
    assert emu.task(task, app)["watermarks"] == []  # a refused update changed nothing
    emu.fail(app, task, 5)
    with pytest.raises(Refused) as caught:
        sdk.update(app, task, LayoutIds=[1])
    assert (caught.value.code, caught.value.http) == ("Service.NoTask", 404)


# -- our client --------------------------------------------------------------------------


def test_our_client_starts_and_updates_with_every_new_field(emu: EmulatorThread) -> None:
    client = RTCClient(emu.url)
    creds = Credentials(KEY_ID, SECRET)
    app, channel, task = fresh("app"), fresh("ch"), fresh("task")
    caption = PaneText(0.05, 0.85, font_size=18, box=True, text="Alice")
    panes = (UserPane(0, "alice", images=(Picture(IMG, 0, 0, 1, 1, display=2),),
                      texts=(caption,)),)
    params = StartParams(
        app, channel, task, url(), LayoutParams((1,), user_panes=panes), 20, "4IN_720P",
        backgrounds=(Picture(IMG, 0, 0, 1, 1),),
        watermarks=(Watermark(IMG, 0.85, 0.05, 0.1, 0.1, alpha=0.8),),
        clock_widgets=(ClockWidget(0.02, 0.9, font_size=24, box=False),),
        subscribe=MediaUsers(audio_users=("alice",)),
        unsubscribe=MediaUsers(camera_users=("bob",)))
    client.start_mpu_task(creds, params)
    record = emu.task(task, app)
    assert record["userPanes"][0]["images"][0]["display"] == 2
    assert record["userPanes"][0]["texts"] == [{"text": "Alice", "x": 0.05, "y": 0.85,
                                                "fontSize": 18, "box": True}]
    assert record["watermarks"][0]["alpha"] == 0.8 and record["clockWidgets"][0]["box"] is False
    assert (record["subSpecAudioUsers"], record["unsubSpecCameraUsers"]) == (["alice"], ["bob"])
    single = StartParams(app, channel, task, params.stream_url, LayoutParams(()), 20, "4IN_720P",
                         mix_mode="Single", single=SingleSource("shareScreen", "AudioOnly"))
    client.update_mpu_task(creds, app, task, single.update_params())
    record = emu.task(task, app)
    assert (record["mixMode"], record["sourceType"], record["streamType"]) == (1, "shareScreen", 1)
    assert record["watermarks"] == [] and record["layoutIds"] == []
    with pytest.raises(RTCError) as caught:
        client.update_mpu_task(creds, app, fresh("task"), single.update_params())
    assert caught.value.code == "Service.NoTask" and caught.value.action == "UpdateMPUTask"
