"""The service's wire format: where parameters come from and what answers look like.

RPC style: parameters in the query string or an ``application/x-www-form-urlencoded``
body, by GET or POST. Answers are JSON or XML as ``Format`` asks (default XML, as the
reference says; an ACS3 request without ``Format`` gets JSON, which is what the ACS3 SDK
parses). Errors carry ``RequestId``, ``HostId``, ``Code`` and ``Message``. The XML content
type is exactly ``text/xml;charset=utf-8`` because that is the string the ACS3 SDK compares
against before parsing an error as XML.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from aiohttp import web

from .auth import SignedRequest
from .errors import ApiError

HOST_ID = "rtc.aliyuncs.com"
API_VERSION = "2018-01-11"
JSON_TYPE = "application/json;charset=utf-8"
XML_TYPE = "text/xml;charset=utf-8"
FORM_TYPE = "application/x-www-form-urlencoded"


def new_request_id() -> str:
    """Upper-case UUID, the shape of the service's request ids."""
    return str(uuid.uuid4()).upper()


@dataclass(frozen=True)
class ApiCall:
    """One API request, read off the wire: signature material plus the merged parameters."""

    signed: SignedRequest

    @property
    def params(self) -> dict[str, str]:
        """Query and form together; a name in both takes the body's value (as signers do)."""
        return {**self.signed.query, **self.signed.form}

    @property
    def action(self) -> str:
        if self.signed.is_acs3:
            return self.signed.header("x-acs-action") or ""
        return self.params.get("Action", "")

    @property
    def version(self) -> str:
        if self.signed.is_acs3:
            return self.signed.header("x-acs-version") or ""
        return self.params.get("Version", "")

    @property
    def fmt(self) -> str:
        """``JSON`` or ``XML``: ``Format`` if given, else JSON for ACS3 and XML for v1."""
        asked = self.params.get("Format", "").upper()
        if asked in ("JSON", "XML"):
            return asked
        return "JSON" if self.signed.is_acs3 else "XML"


async def read_call(request: web.Request) -> ApiCall:
    body = await request.read()
    form: dict[str, str] = {}
    if request.content_type == FORM_TYPE and body:
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        headers.setdefault(name.lower(), []).append(value)
    signed = SignedRequest(method=request.method, path=request.path,
                           query=dict(request.query), form=form, headers=headers, body=body)
    return ApiCall(signed)


def _xml(root: str, fields: Mapping[str, Any]) -> str:
    inner = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in fields.items())
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>{inner}</{root}>'


def success(action: str, fields: Mapping[str, Any], fmt: str) -> web.Response:
    if fmt == "XML":
        return _response(200, _xml(f"{action}Response", fields), XML_TYPE)
    return _response(200, json.dumps(dict(fields)), JSON_TYPE)


def failure(error: ApiError, request_id: str, fmt: str) -> web.Response:
    fields = {"RequestId": request_id, "HostId": HOST_ID, "Code": error.code,
              "Message": error.message}
    if fmt == "XML":
        response = _response(error.http, _xml("Error", fields), XML_TYPE)
    else:
        response = _response(error.http, json.dumps(fields), JSON_TYPE)
    response.headers.update(error.headers)
    return response


def _response(status: int, text: str, content_type: str) -> web.Response:
    # Set the header by hand: aiohttp's content_type= would add a space before charset.
    return web.Response(status=status, body=text.encode("utf-8"),
                        headers={"Content-Type": content_type})
