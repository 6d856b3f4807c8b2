"""Signature v1 (HMAC-SHA1) of the RPC-style Alibaba Cloud OpenAPI.

Exactly the reference's recipe: sort parameters by name (byte order), RFC 3986
percent-encode names and values (unreserved ``A-Za-z0-9-_.~`` kept, space ``%20``),
join with ``&``, sign ``METHOD&%2F&percentEncode(query)`` with ``secret + "&"``.
The test suite proves it equal to ``aliyunsdkcore``'s signer; the emulator verifies with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

SIGNATURE_METHOD = "HMAC-SHA1"
SIGNATURE_VERSION = "1.0"
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def percent_encode(value: object) -> str:
    """RFC 3986 encoding as the service wants it: only ``A-Za-z0-9-_.~`` left as is."""
    return quote(str(value), safe="~", encoding="utf-8")


def canonical_query(params: Mapping[str, object]) -> str:
    """``k=v`` pairs sorted by name (byte order), encoded, ``Signature`` left out."""
    items = sorted((k, v) for k, v in params.items() if k != "Signature")
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in items)


def string_to_sign(method: str, params: Mapping[str, object]) -> str:
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def sign(method: str, params: Mapping[str, object], secret: str) -> str:
    """The v1 signature of a request's parameters (all of them, query and form alike)."""
    digest = hmac.new((secret + "&").encode("utf-8"),
                      string_to_sign(method, params).encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def timestamp(now: datetime | None = None) -> str:
    """UTC ``yyyy-MM-ddTHH:mm:ssZ``."""
    return (now or datetime.now(UTC)).astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(value: str) -> datetime:
    """The reverse of :func:`timestamp`; raises ValueError on anything else."""
    return datetime.strptime(value, TIMESTAMP_FORMAT).replace(tzinfo=UTC)


def nonce() -> str:
    """A fresh SignatureNonce: the service refuses a reused one as a replay."""
    return uuid.uuid4().hex


def signed_params(
    action_params: Mapping[str, object],
    *,
    access_key_id: str,
    access_key_secret: str,
    security_token: str | None = None,
    method: str = "POST",
    fmt: str = "JSON",
    version: str = "2018-01-11",
    now: datetime | None = None,
) -> dict[str, str]:
    """Action parameters plus the common ones and the Signature, ready to send."""
    params: dict[str, str] = {k: str(v) for k, v in action_params.items()}
    params.update({
        "Format": fmt,
        "Version": version,
        "AccessKeyId": access_key_id,
        "SignatureMethod": SIGNATURE_METHOD,
        "SignatureVersion": SIGNATURE_VERSION,
        "SignatureNonce": nonce(),
        "Timestamp": timestamp(now),
    })
    if security_token:
        params["SecurityToken"] = security_token
    params["Signature"] = sign(method, params, access_key_secret)
    return params
