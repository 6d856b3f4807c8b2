"""The custom-layout actions: CreateMPULayout, ModifyMPULayout, DeleteMPULayout and
DescribeMPULayoutInfoList, typed, wire-encoded as the old official SDK encodes them
(``Panes.N.X``, ``AudioMixCount``; a test compares the two encodings).

Kept apart from :mod:`.client` (the task actions) on purpose: the layout calls reuse its
signing, sending, error and rate-limit machinery (the package-private ``_call`` of both
clients), and add nothing to the task client's surface. Like the task calls they never
retry: the operator decides, knowing the write-ahead name (see :mod:`mpu_operator.core.layouts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mpu_operator.rtc import errors
from mpu_operator.rtc.client import AsyncRTCClient, RTCClient, _Call
from mpu_operator.rtc.credentials import Credentials
from mpu_operator.rtc.errors import RTCError
from mpu_operator.rtc.layout_params import LayoutPane, MPULayoutParams
from mpu_operator.rtc.ratelimit import URGENT

CREATE = "CreateMPULayout"
MODIFY = "ModifyMPULayout"
DELETE = "DeleteMPULayout"
DESCRIBE = "DescribeMPULayoutInfoList"
#: Ours (undocumented by the service): the layout does not exist in the app.
LAYOUT_NOT_FOUND = "Request.NoLayout"
#: The service's page size limit is not documented; its default is 10. We ask for more.
PAGE_SIZE = 50
__all__ = ["AsyncLayoutClient", "LayoutInfo", "LayoutPane", "MPULayoutParams"]

#: Pages read by a lookup by name before giving up (a name filter answers in one).
MAX_PAGES = 20


@dataclass(frozen=True)
class LayoutInfo:
    """One layout of a DescribeMPULayoutInfoList answer."""

    layout_id: int
    name: str
    audio_mix_count: int | None
    pane_count: int


# ------------------------------------------------------------------------ sync calls


def create_mpu_layout(client: RTCClient, creds: Credentials, params: MPULayoutParams,
                      name: str) -> int:
    """Create the layout; returns its LayoutId."""
    call = _Call(CREATE, params.app_id, name)
    body = client._call(call, creds, {**params.to_query(), "Name": name})
    return _integer(call, body, "LayoutId")


def modify_mpu_layout(client: RTCClient, creds: Credentials, params: MPULayoutParams,
                      layout_id: int, name: str) -> str:
    """Send the whole layout again (ModifyMPULayout replaces what it is given)."""
    call = _Call(MODIFY, params.app_id, str(layout_id))
    query = {**params.to_query(), "LayoutId": str(layout_id), "Name": name}
    return _request_id(client._call(call, creds, query))


def delete_mpu_layout(client: RTCClient, creds: Credentials, app_id: str,
                      layout_id: int) -> str:
    call = _Call(DELETE, app_id, str(layout_id))
    query = {"AppId": app_id, "LayoutId": str(layout_id)}
    return _request_id(client._call(call, creds, query))


def describe_mpu_layout_info_list(
    client: RTCClient, creds: Credentials, app_id: str, *, name: str | None = None,
    layout_id: int | None = None, page: int = 1, page_size: int = PAGE_SIZE,
) -> tuple[list[LayoutInfo], int]:
    """One page of the app's layouts (filtered by name or id): (layouts, total pages)."""
    call = _Call(DESCRIBE, app_id, name or str(layout_id or ""))
    query = {"AppId": app_id, "PageNum": str(page), "PageSize": str(page_size)}
    if name is not None:
        query["Name"] = name
    if layout_id is not None:
        query["LayoutId"] = str(layout_id)
    body = client._call(call, creds, query)
    pages = body.get("TotalPage")
    total_pages = pages if isinstance(pages, int) and not isinstance(pages, bool) else 1
    return _layouts(call, body), total_pages


def find_mpu_layout(client: RTCClient, creds: Credentials, app_id: str,
                    name: str) -> int | None:
    """The LayoutId of the app's layout named exactly ``name``, or None.

    The name filter's matching (exact or partial) is not documented, so every page is
    read and the name compared here.
    """
    page, pages = 1, 1
    while page <= min(pages, MAX_PAGES):
        layouts, pages = describe_mpu_layout_info_list(client, creds, app_id, name=name,
                                                       page=page)
        for layout in layouts:
            if layout.name == name:
                return layout.layout_id
        page += 1
    return None


# ----------------------------------------------------------------------- async calls


class AsyncLayoutClient:
    """The layout calls for asyncio, through the task client's limiter and worker threads."""

    def __init__(self, rtc: AsyncRTCClient) -> None:
        self.rtc = rtc

    async def create(self, creds: Credentials, params: MPULayoutParams, name: str) -> int:
        return await self.rtc._call(URGENT, create_mpu_layout, self.rtc.client, creds, params,
                                    name)

    async def modify(self, creds: Credentials, params: MPULayoutParams, layout_id: int,
                     name: str) -> str:
        return await self.rtc._call(URGENT, modify_mpu_layout, self.rtc.client, creds, params,
                                    layout_id, name)

    async def delete(self, creds: Credentials, app_id: str, layout_id: int) -> str:
        return await self.rtc._call(URGENT, delete_mpu_layout, self.rtc.client, creds, app_id,
                                    layout_id)

    async def find(self, creds: Credentials, app_id: str, name: str) -> int | None:
        return await self.rtc._call(URGENT, find_mpu_layout, self.rtc.client, creds, app_id,
                                    name)


# --------------------------------------------------------------------------- parsing


def _request_id(body: Mapping[str, Any]) -> str:
    return str(body.get("RequestId") or "")


def _integer(call: _Call, body: Mapping[str, Any], key: str) -> int:
    value = body.get(key)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise RTCError(action=call.action, code=errors.INVALID_RESPONSE, http_status=200,
                   message=f"the answer has no positive integer {key}",
                   request_id=_request_id(body))


def _layouts(call: _Call, body: Mapping[str, Any]) -> list[LayoutInfo]:
    """``Layouts.Layout[]`` (the JSON form both SDKs read), each with ``Panes.Panes[]``."""
    outer = body.get("Layouts")
    items = outer.get("Layout") if isinstance(outer, Mapping) else outer
    if items is None:
        return []
    if not isinstance(items, list):
        raise RTCError(action=call.action, code=errors.INVALID_RESPONSE, http_status=200,
                       message="the answer's Layouts is not a list",
                       request_id=_request_id(body))
    found = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        layout_id = _integer(call, item, "LayoutId")
        panes = item.get("Panes")
        pane_list = panes.get("Panes") if isinstance(panes, Mapping) else panes
        mix = item.get("AudioMixCount")
        found.append(LayoutInfo(
            layout_id=layout_id, name=str(item.get("Name") or ""),
            audio_mix_count=mix if isinstance(mix, int) and not isinstance(mix, bool) else None,
            pane_count=len(pane_list) if isinstance(pane_list, list) else 0))
    return found
