"""Both official SDKs, pointed at an emulator, behind one small calling convention.

Each helper returns the parsed answer or raises :class:`Refused` with the service's code and
HTTP status, so a test can say "this call is refused with X" the same way for either SDK.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from alibabacloud_rtc20180111 import models as acs3_models
from alibabacloud_rtc20180111.client import Client as Acs3Client
from alibabacloud_tea_openapi import exceptions as acs3_errors
from alibabacloud_tea_openapi.models import Config
from alibabacloud_tea_openapi.utils_models import OpenApiRequest, Params
from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest
from aliyunsdkrtc.request.v20180111.GetMPUTaskStatusRequest import GetMPUTaskStatusRequest
from aliyunsdkrtc.request.v20180111.StartMPUTaskRequest import StartMPUTaskRequest
from aliyunsdkrtc.request.v20180111.StopMPUTaskRequest import StopMPUTaskRequest
from aliyunsdkrtc.request.v20180111.UpdateMPUTaskRequest import UpdateMPUTaskRequest
from darabonba.runtime import RuntimeOptions

REGION = "cn-hangzhou"
KEY_ID, SECRET = "testid", "testsecret"


@dataclass
class Refused(Exception):
    code: str
    http: int | None
    message: str


def wait_for(condition: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01) -> Any:
    """Poll until ``condition()`` is truthy; its value, or AssertionError at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


# -- aiyun-python-sdk-core (signature v1) ------------------------------------------------


def v1_client(endpoint: str, key_id: str = KEY_ID, secret: str = SECRET,
              **kwargs: Any) -> AcsClient:
    client = AcsClient(key_id, secret, REGION, **kwargs)
    client.add_endpoint(REGION, "rtc", endpoint)
    return client


def _v1_send(client: AcsClient, request: Any, fmt: str) -> dict[str, Any] | str:
    request.set_protocol_type("http")
    if fmt == "XML":  # do_action_with_exception forces JSON; do_action returns the raw body
        request.set_accept_format("XML")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            body: bytes = client.do_action(request)
        return body.decode()
    try:
        return dict(json.loads(client.do_action_with_exception(request)))
    except ServerException as error:
        raise Refused(error.get_error_code(), error.get_http_status(),
                      error.get_error_msg()) from None
    except ClientException as error:
        raise Refused(error.get_error_code(), None, error.get_error_msg()) from None


def v1_start(client: AcsClient, app: str, channel: str, task: str, url: str,
             layouts: Sequence[int] = (1,), encode: int = 20, fmt: str = "JSON",
             panes: Sequence[dict[str, Any]] = (), extra: dict[str, str] | None = None
             ) -> dict[str, Any] | str:
    request = StartMPUTaskRequest()
    request.set_AppId(app)
    request.set_ChannelId(channel)
    request.set_TaskId(task)
    request.set_StreamURL(url)
    request.set_LayoutIdss(list(layouts))
    request.set_MediaEncode(encode)
    if panes:
        request.set_UserPaness(list(panes))
    for name, value in (extra or {}).items():
        request.add_query_param(name, value)
    return _v1_send(client, request, fmt)


def v1_start_with(client: AcsClient, app: str, channel: str, task: str, url: str,
                  **setters: Any) -> dict[str, Any]:
    """StartMPUTask through the SDK's own setters: ``Watermarkss=[{...}]`` calls
    ``set_Watermarkss([{...}])`` (the SDK's names, doubled ``s`` and all)."""
    request = StartMPUTaskRequest()
    request.set_AppId(app)
    request.set_ChannelId(channel)
    request.set_TaskId(task)
    request.set_StreamURL(url)
    request.set_MediaEncode(20)
    setters.setdefault("LayoutIdss", [1])
    for name, value in setters.items():
        getattr(request, f"set_{name}")(value)
    return dict(_v1_send(client, request, "JSON"))  # type: ignore[arg-type]


def v1_update_task(client: AcsClient, app: str, task: str, **setters: Any) -> dict[str, Any]:
    """UpdateMPUTask through the SDK's UpdateMPUTaskRequest and its setters."""
    request = UpdateMPUTaskRequest()
    request.set_AppId(app)
    request.set_TaskId(task)
    for name, value in setters.items():
        getattr(request, f"set_{name}")(value)
    return dict(_v1_send(client, request, "JSON"))  # type: ignore[arg-type]


def v1_status(client: AcsClient, app: str, task: str, fmt: str = "JSON") -> dict[str, Any] | str:
    request = GetMPUTaskStatusRequest()
    request.set_AppId(app)
    request.set_TaskId(task)
    return _v1_send(client, request, fmt)


def v1_stop(client: AcsClient, app: str, task: str, fmt: str = "JSON") -> dict[str, Any] | str:
    request = StopMPUTaskRequest()
    request.set_AppId(app)
    request.set_TaskId(task)
    return _v1_send(client, request, fmt)


def v1_update_layout(client: AcsClient, endpoint: str, app: str, task: str,
                     layouts: Sequence[int], fmt: str = "JSON",
                     extra: dict[str, str] | None = None) -> dict[str, Any] | str:
    """The SDK has no UpdateMPULayoutRequest: its generic CommonRequest signs it the same."""
    request = CommonRequest(domain=endpoint, version="2018-01-11",
                            action_name="UpdateMPULayout", product="rtc")
    request.set_method("POST")
    request.add_query_param("AppId", app)
    request.add_query_param("TaskId", task)
    for n, layout in enumerate(layouts, 1):
        request.add_query_param(f"LayoutIds.{n}", str(layout))
    for name, value in (extra or {}).items():
        request.add_query_param(name, value)
    return _v1_send(client, request, fmt)


# -- alibabacloud-rtc20180111 (ACS3-HMAC-SHA256, the SDK's defaults) ----------------------


def acs3_client(endpoint: str, key_id: str = KEY_ID, secret: str = SECRET,
                **kwargs: Any) -> Acs3Client:
    return Acs3Client(Config(access_key_id=key_id, access_key_secret=secret,
                             endpoint=endpoint, protocol="http", **kwargs))


def _acs3(call: Callable[[], Any]) -> dict[str, Any]:
    try:
        response = call()
    except (acs3_errors.ClientException, acs3_errors.ServerException,
            acs3_errors.ThrottlingException) as error:
        raise Refused(error.code, error.status_code, error.message) from None
    return dict(response.body.to_map())


def acs3_start(client: Acs3Client, app: str, channel: str, task: str, url: str,
               layouts: Sequence[int] = (1,), encode: int = 20,
               panes: Sequence[tuple[int, str]] = ()) -> dict[str, Any]:
    request = acs3_models.StartMPUTaskRequest(
        app_id=app, channel_id=channel, task_id=task, stream_url=url,
        layout_ids=list(layouts), media_encode=encode,
        user_panes=[acs3_models.StartMPUTaskRequestUserPanes(pane_id=p, user_id=u,
                                                            source_type="camera")
                    for p, u in panes] or None)
    return _acs3(lambda: client.start_mputask(request))


def acs3_status(client: Acs3Client, app: str, task: str) -> dict[str, Any]:
    request = acs3_models.GetMPUTaskStatusRequest(app_id=app, task_id=task)
    return _acs3(lambda: client.get_mputask_status(request))


def acs3_stop(client: Acs3Client, app: str, task: str) -> dict[str, Any]:
    request = acs3_models.StopMPUTaskRequest(app_id=app, task_id=task)
    return _acs3(lambda: client.stop_mputask(request))


def acs3_update_task(client: Acs3Client, app: str, task: str,
                     layouts: Sequence[int] | None, **fields: Any) -> dict[str, Any]:
    """The SDK's own update method: UpdateMPUTask, with any of its request's fields."""
    request = acs3_models.UpdateMPUTaskRequest(
        app_id=app, task_id=task, layout_ids=list(layouts) if layouts is not None else None,
        **fields)
    return _acs3(lambda: client.update_mputask(request))


def acs3_start_with(client: Acs3Client, app: str, channel: str, task: str, url: str,
                    **fields: Any) -> dict[str, Any]:
    """StartMPUTask with any of the SDK request's fields (its models for nested lists)."""
    fields.setdefault("layout_ids", [1])
    request = acs3_models.StartMPUTaskRequest(app_id=app, channel_id=channel, task_id=task,
                                              stream_url=url, media_encode=20, **fields)
    return _acs3(lambda: client.start_mputask(request))


def acs3_call(client: Acs3Client, action: str, query: dict[str, Any]) -> dict[str, Any]:
    """Any action through the SDK's generic ``call_api``: the same ACS3 signing path."""
    params = Params(action=action, version="2018-01-11", protocol="HTTPS", pathname="/",
                    method="POST", auth_type="AK", style="RPC", req_body_type="formData",
                    body_type="json")
    request = OpenApiRequest(query={k: str(v) for k, v in query.items()})

    def call() -> Any:
        return client.call_api(params, request, RuntimeOptions())

    try:
        result = call()
    except (acs3_errors.ClientException, acs3_errors.ServerException,
            acs3_errors.ThrottlingException) as error:
        raise Refused(error.code, error.status_code, error.message) from None
    return dict(result["body"])


def acs3_update_layout(client: Acs3Client, app: str, task: str,
                       layouts: Sequence[int], **extra: Any) -> dict[str, Any]:
    query: dict[str, Any] = {"AppId": app, "TaskId": task}
    query.update({f"LayoutIds.{n}": layout for n, layout in enumerate(layouts, 1)})
    query.update(extra)
    return acs3_call(client, "UpdateMPULayout", query)


# -- one face for both -------------------------------------------------------------------


class Caller:
    """The four actions through one SDK; ``name`` says which (for test ids)."""

    name = ""

    def start(self, app: str, channel: str, task: str, url: str,
              layouts: Sequence[int] = (1,), encode: int = 20) -> dict[str, Any]:
        raise NotImplementedError

    def status(self, app: str, task: str) -> int:
        raise NotImplementedError

    def update(self, app: str, task: str, layouts: Sequence[int]) -> dict[str, Any]:
        raise NotImplementedError

    def stop(self, app: str, task: str) -> dict[str, Any]:
        raise NotImplementedError


class V1Caller(Caller):
    name = "aliyun-python-sdk-rtc"

    def __init__(self, endpoint: str, key_id: str = KEY_ID, secret: str = SECRET,
                 **kwargs: Any) -> None:
        self.endpoint = endpoint
        self.client = v1_client(endpoint, key_id, secret, **kwargs)

    def start(self, app: str, channel: str, task: str, url: str,
              layouts: Sequence[int] = (1,), encode: int = 20) -> dict[str, Any]:
        return dict(v1_start(self.client, app, channel, task, url, layouts, encode))  # type: ignore[arg-type]

    def status(self, app: str, task: str) -> int:
        return int(v1_status(self.client, app, task)["Status"])  # type: ignore[index]

    def update(self, app: str, task: str, layouts: Sequence[int]) -> dict[str, Any]:
        return dict(v1_update_layout(self.client, self.endpoint, app, task, layouts))  # type: ignore[arg-type]

    def stop(self, app: str, task: str) -> dict[str, Any]:
        return dict(v1_stop(self.client, app, task))  # type: ignore[arg-type]


class Acs3Caller(Caller):
    name = "alibabacloud-rtc20180111"

    def __init__(self, endpoint: str, key_id: str = KEY_ID, secret: str = SECRET,
                 **kwargs: Any) -> None:
        self.client = acs3_client(endpoint, key_id, secret, **kwargs)

    def start(self, app: str, channel: str, task: str, url: str,
              layouts: Sequence[int] = (1,), encode: int = 20) -> dict[str, Any]:
        return acs3_start(self.client, app, channel, task, url, layouts, encode)

    def status(self, app: str, task: str) -> int:
        return int(acs3_status(self.client, app, task)["Status"])

    def update(self, app: str, task: str, layouts: Sequence[int]) -> dict[str, Any]:
        return acs3_update_layout(self.client, app, task, layouts)

    def stop(self, app: str, task: str) -> dict[str, Any]:
        return acs3_stop(self.client, app, task)


CALLERS: dict[str, type[Caller]] = {"v1": V1Caller, "acs3": Acs3Caller}
