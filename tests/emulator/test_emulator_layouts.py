"""Custom layouts at the emulator: both official SDKs' own request classes, our client
(rtc/layouts.py), the documented ranges, and custom ids in StartMPUTask/UpdateMPULayout."""

from __future__ import annotations

import json
from typing import Any

import pytest
from alibabacloud_rtc20180111 import models as acs3_models
from aliyunsdkrtc.request.v20180111.CreateMPULayoutRequest import CreateMPULayoutRequest
from aliyunsdkrtc.request.v20180111.DeleteMPULayoutRequest import DeleteMPULayoutRequest
from aliyunsdkrtc.request.v20180111.DescribeMPULayoutInfoListRequest import (
    DescribeMPULayoutInfoListRequest,
)
from aliyunsdkrtc.request.v20180111.ModifyMPULayoutRequest import ModifyMPULayoutRequest

from mpu_operator.emulator import EmulatorThread
from mpu_operator.emulator.layouts import FIRST_LAYOUT_ID
from mpu_operator.rtc import layouts as rl
from mpu_operator.rtc.client import RTCClient
from mpu_operator.rtc.credentials import Credentials
from mpu_operator.rtc.errors import RTCError

from .sdk import KEY_ID, SECRET, Refused, _acs3, _v1_send, acs3_client, v1_client, v1_start

pytestmark = pytest.mark.integration

PANES = [{"PaneId": 0, "MajorPane": 1, "X": 0.0, "Y": 0.0, "Width": 0.75, "Height": 1.0,
          "ZOrder": 0},
         {"PaneId": 1, "MajorPane": 0, "X": 0.75, "Y": 0.0, "Width": 0.25, "Height": 0.5,
          "ZOrder": 1}]
URL = "rtmp://push.example.com/live/{}?auth_key=1-0-0-x"


# -- the two SDKs, each with its own request classes ---------------------------------------


class V1:
    def __init__(self, endpoint: str) -> None:
        self.client = v1_client(endpoint)

    def _send(self, request: Any) -> dict[str, Any]:
        result = _v1_send(self.client, request, "JSON")
        assert isinstance(result, dict)
        return result

    def create(self, app: str, mix: int, panes: list[dict[str, Any]], name: str) -> int:
        request = CreateMPULayoutRequest()
        request.set_AppId(app)
        request.set_AudioMixCount(mix)
        request.set_Paness(panes)
        request.set_Name(name)
        return int(self._send(request)["LayoutId"])

    def modify(self, app: str, layout_id: int, **kw: Any) -> None:
        request = ModifyMPULayoutRequest()
        request.set_AppId(app)
        request.set_LayoutId(layout_id)
        if "panes" in kw:
            request.set_Paness(kw["panes"])
        if "mix" in kw:
            request.set_AudioMixCount(kw["mix"])
        self._send(request)

    def describe(self, app: str, **kw: Any) -> dict[str, Any]:
        request = DescribeMPULayoutInfoListRequest()
        request.set_AppId(app)
        if "name" in kw:
            request.set_Name(kw["name"])
        if "page_size" in kw:
            request.set_PageSize(kw["page_size"])
        if "page" in kw:
            request.set_PageNum(kw["page"])
        return self._send(request)

    def delete(self, app: str, layout_id: int) -> None:
        request = DeleteMPULayoutRequest()
        request.set_AppId(app)
        request.set_LayoutId(layout_id)
        self._send(request)


def _acs3_panes(cls: Any, panes: list[dict[str, Any]]) -> list[Any]:
    return [cls(pane_id=p["PaneId"], major_pane=p["MajorPane"], x=p["X"], y=p["Y"],
                width=p["Width"], height=p["Height"], zorder=p["ZOrder"]) for p in panes]


class Acs3:
    def __init__(self, endpoint: str) -> None:
        self.client = acs3_client(endpoint)

    def create(self, app: str, mix: int, panes: list[dict[str, Any]], name: str) -> int:
        request = acs3_models.CreateMPULayoutRequest(
            app_id=app, audio_mix_count=mix, name=name,
            panes=_acs3_panes(acs3_models.CreateMPULayoutRequestPanes, panes))
        return int(_acs3(lambda: self.client.create_mpulayout(request))["LayoutId"])

    def modify(self, app: str, layout_id: int, **kw: Any) -> None:
        panes = _acs3_panes(acs3_models.ModifyMPULayoutRequestPanes, kw["panes"]) \
            if "panes" in kw else None
        request = acs3_models.ModifyMPULayoutRequest(
            app_id=app, layout_id=layout_id, audio_mix_count=kw.get("mix"), panes=panes)
        _acs3(lambda: self.client.modify_mpulayout(request))

    def describe(self, app: str, **kw: Any) -> dict[str, Any]:
        request = acs3_models.DescribeMPULayoutInfoListRequest(
            app_id=app, name=kw.get("name"), page_size=kw.get("page_size"),
            page_num=kw.get("page"))
        return _acs3(lambda: self.client.describe_mpulayout_info_list(request))

    def delete(self, app: str, layout_id: int) -> None:
        request = acs3_models.DeleteMPULayoutRequest(app_id=app, layout_id=layout_id)
        _acs3(lambda: self.client.delete_mpulayout(request))


@pytest.fixture(params=["v1", "acs3"])
def sdk(request: pytest.FixtureRequest, emu: EmulatorThread) -> V1 | Acs3:
    return V1(emu.endpoint) if request.param == "v1" else Acs3(emu.endpoint)


def test_create_describe_modify_delete(sdk: V1 | Acs3, emu: EmulatorThread) -> None:
    layout_id = sdk.create("app", 3, PANES, "ns.stage.1234")
    assert layout_id >= FIRST_LAYOUT_ID  # never a system layout id
    (shown,) = emu.layouts()
    assert shown == {"appId": "app", "layoutId": layout_id, "name": "ns.stage.1234",
                     "audioMixCount": 3, "modified": 0,
                     "panes": [{"paneId": 0, "majorPane": True, "x": 0.0, "y": 0.0,
                                "width": 0.75, "height": 1.0, "zOrder": 0},
                               {"paneId": 1, "majorPane": False, "x": 0.75, "y": 0.0,
                                "width": 0.25, "height": 0.5, "zOrder": 1}]}
    answer = sdk.describe("app", name="ns.stage.1234")
    assert answer["TotalNum"] == 1
    (layout,) = answer["Layouts"]["Layout"]
    assert (layout["LayoutId"], layout["Name"], layout["AudioMixCount"]) == (
        layout_id, "ns.stage.1234", 3)
    assert [p["PaneId"] for p in layout["Panes"]["Panes"]] == [0, 1]
    sdk.modify("app", layout_id, panes=PANES[:1], mix=1)
    (shown,) = emu.layouts()
    assert (len(shown["panes"]), shown["audioMixCount"], shown["modified"]) == (1, 1, 1)
    sdk.delete("app", layout_id)
    assert emu.layouts() == []
    with pytest.raises(Refused) as caught:
        sdk.delete("app", layout_id)
    assert (caught.value.code, caught.value.http) == (rl.LAYOUT_NOT_FOUND, 404)


def test_layouts_belong_to_their_app(sdk: V1 | Acs3, emu: EmulatorThread) -> None:
    layout_id = sdk.create("app", 0, PANES, "x")
    assert sdk.describe("other")["TotalNum"] == 0
    for call in (lambda: sdk.delete("other", layout_id),
                 lambda: sdk.modify("other", layout_id, mix=2)):
        with pytest.raises(Refused) as caught:
            call()
        assert caught.value.code == rl.LAYOUT_NOT_FOUND
    assert [(x["appId"], x["audioMixCount"]) for x in emu.layouts()] == [("app", 0)]


def test_pages(sdk: V1 | Acs3) -> None:
    ids = [sdk.create("app", 0, PANES, f"l{i}") for i in range(5)]
    first = sdk.describe("app", page_size=2)
    last = sdk.describe("app", page_size=2, page=3)
    assert (first["TotalNum"], first["TotalPage"]) == (5, 3)
    assert [x["LayoutId"] for x in first["Layouts"]["Layout"]] == ids[:2]
    assert [x["LayoutId"] for x in last["Layouts"]["Layout"]] == ids[4:]


def _pane(**changes: Any) -> list[dict[str, Any]]:
    return [{**PANES[0], **changes}]


@pytest.mark.parametrize(("mix", "panes", "says"), [
    (7, PANES, "AudioMixCount must be in 0..6"),
    (3, _pane(Width=0), "Panes.1.Width must be a number in (0.0, 1.0]"),
    (3, _pane(Height=1.5), "Panes.1.Height must be a number in (0.0, 1.0]"),
    (3, _pane(X=-0.5), "Panes.1.X must be a number in [0.0, 1.0]"),
    (3, _pane(PaneId=16), "Panes.1.PaneId must be in 0..15"),
    (3, [PANES[0], PANES[0]], "PaneId must not repeat"),
    (3, [PANES[0], {**PANES[1], "MajorPane": 1}], "Only one pane may have MajorPane=1"),
])
def test_documented_ranges_are_enforced(sdk: V1 | Acs3, emu: EmulatorThread, mix: int,
                                        panes: list[dict[str, Any]], says: str) -> None:
    with pytest.raises(Refused) as caught:
        sdk.create("app", mix, panes, "bad")
    assert caught.value.http == 400 and says in caught.value.message, caught.value
    assert emu.layouts() == []


def test_tasks_accept_the_apps_own_custom_layouts_only(emu: EmulatorThread) -> None:
    v1 = V1(emu.endpoint)
    mine = v1.create("app", 2, PANES, "mine")
    theirs = v1.create("other", 2, PANES, "theirs")
    v1_start(v1.client, "app", "room", "t1", URL.format("a"), layouts=(1, mine))
    for ids in ((1, theirs), (1, mine + 100)):
        with pytest.raises(Refused) as caught:
            v1_start(v1.client, "app", "room", "t2", URL.format("b"), layouts=ids)
        assert caught.value.code == "Request.InvalidLayoutIds"
    assert emu.task("t1")["layoutIds"] == [1, mine]


# -- our client ----------------------------------------------------------------------------


def test_our_client_drives_the_layout_calls(emu: EmulatorThread) -> None:
    client = RTCClient(emu.url)
    creds = Credentials(KEY_ID, SECRET)
    params = rl.MPULayoutParams("app", 2, (rl.LayoutPane(0, True, 0, 0, 1, 1, 0),))
    layout_id = rl.create_mpu_layout(client, creds, params, "ns.a.x")
    assert rl.find_mpu_layout(client, creds, "app", "ns.a.x") == layout_id
    assert rl.find_mpu_layout(client, creds, "app", "ns.a") is None
    assert rl.find_mpu_layout(client, creds, "other", "ns.a.x") is None
    wider = rl.MPULayoutParams("app", 4, (rl.LayoutPane(0, False, 0.1, 0.1, 0.5, 0.5, 2),))
    rl.modify_mpu_layout(client, creds, wider, layout_id, "ns.a.x")
    (shown,) = emu.layouts()
    assert shown["panes"] == [{"paneId": 0, "majorPane": False, "x": 0.1, "y": 0.1,
                               "width": 0.5, "height": 0.5, "zOrder": 2}]
    layouts, pages = rl.describe_mpu_layout_info_list(client, creds, "app")
    assert (layouts, pages) == ([rl.LayoutInfo(layout_id, "ns.a.x", 4, 1)], 1)
    rl.delete_mpu_layout(client, creds, "app", layout_id)
    with pytest.raises(RTCError) as caught:
        rl.delete_mpu_layout(client, creds, "app", layout_id)
    assert caught.value.code == rl.LAYOUT_NOT_FOUND


def test_find_reads_every_page(emu: EmulatorThread) -> None:
    client = RTCClient(emu.url)
    creds = Credentials(KEY_ID, SECRET)
    params = rl.MPULayoutParams("app", 2, (rl.LayoutPane(0, True, 0, 0, 1, 1, 0),))
    for _ in range(rl.PAGE_SIZE + 3):
        last = rl.create_mpu_layout(client, creds, params, "same")
    assert json.dumps(emu.layouts()).count('"same"') == rl.PAGE_SIZE + 3
    # the emulator filters names exactly; a service that did not would still be read through
    assert rl.find_mpu_layout(client, creds, "app", "same") is not None
    assert last >= FIRST_LAYOUT_ID
