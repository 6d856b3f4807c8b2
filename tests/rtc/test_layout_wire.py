"""Our CreateMPULayout/ModifyMPULayout parameters are what the old official SDK
(aliyun-python-sdk-rtc) puts on the wire for the same layout: compared, not assumed."""

from __future__ import annotations

from typing import Any

from aliyunsdkrtc.request.v20180111.CreateMPULayoutRequest import CreateMPULayoutRequest
from aliyunsdkrtc.request.v20180111.ModifyMPULayoutRequest import ModifyMPULayoutRequest

from mpu_operator.rtc.layout_params import LayoutPane, MPULayoutParams

PARAMS = MPULayoutParams("app", 3, (
    LayoutPane(0, True, 0.0, 0.0, 0.75, 1.0, 0),
    LayoutPane(1, False, 0.75, 0.25, 0.25, 0.5, 2),
))


def sdk_panes(params: MPULayoutParams) -> list[dict[str, Any]]:
    return [{"PaneId": p.pane_id, "MajorPane": int(p.major_pane), "X": p.x, "Y": p.y,
             "Width": p.width, "Height": p.height, "ZOrder": p.z_order}
            for p in params.panes]


def sdk_query(request: Any) -> dict[str, str]:
    """What the SDK sends: its query parameters, each written with ``str``."""
    return {k: str(v) for k, v in request.get_query_params().items()}


def test_create_is_encoded_as_the_old_sdk_does() -> None:
    request = CreateMPULayoutRequest()
    request.set_AppId("app")
    request.set_AudioMixCount(3)
    request.set_Name("ns.stage.1")
    request.set_Paness(sdk_panes(PARAMS))
    assert {**PARAMS.to_query(), "Name": "ns.stage.1"} == sdk_query(request)


def test_modify_is_encoded_as_the_old_sdk_does() -> None:
    request = ModifyMPULayoutRequest()
    request.set_AppId("app")
    request.set_LayoutId(10001)
    request.set_AudioMixCount(3)
    request.set_Name("ns.stage.1")
    request.set_Paness(sdk_panes(PARAMS))
    ours = {**PARAMS.to_query(), "LayoutId": "10001", "Name": "ns.stage.1"}
    assert ours == sdk_query(request)


def test_integral_coordinates_are_sent_as_floats() -> None:
    """A YAML ``width: 1`` arrives as an int; the SDK's Float fields carry ``1.0``."""
    params = MPULayoutParams("app", 0, (LayoutPane(0, False, 0, 0, 1, 1, 0),))
    query = params.to_query()
    assert (query["Panes.1.X"], query["Panes.1.Width"]) == ("0.0", "1.0")
