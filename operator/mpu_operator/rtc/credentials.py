"""The AccessKey a call is signed with, and the two places the operator finds one.

Resolution order (the operator's, documented in ``docs/client.md``): the MPUTask's own
Secret when it names one, else the process environment. The secret and the STS token are
kept out of ``repr``/``str`` so that a credentials object can be logged, put in an
exception or shown by a debugger's variable view without leaking.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass

ENV_ACCESS_KEY_ID = "ALIBABA_CLOUD_ACCESS_KEY_ID"
ENV_ACCESS_KEY_SECRET = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
ENV_SECURITY_TOKEN = "ALIBABA_CLOUD_SECURITY_TOKEN"

SECRET_KEY_ID = "accessKeyId"
SECRET_KEY_SECRET = "accessKeySecret"
SECRET_KEY_TOKEN = "securityToken"


@dataclass(frozen=True, repr=False)
class Credentials:
    """An AccessKey pair, optionally with an STS ``SecurityToken``.

    Only the key id is ever shown: it identifies which key was used (useful when a
    signature fails) and is not secret on its own.
    """

    access_key_id: str
    access_key_secret: str
    security_token: str | None = None

    def __post_init__(self) -> None:
        if not self.access_key_id:
            raise ValueError("access_key_id is empty")
        if not self.access_key_secret:
            raise ValueError("access_key_secret is empty")

    def __repr__(self) -> str:
        token = ", security_token=<set>" if self.security_token else ""
        return (f"Credentials(access_key_id={self.access_key_id!r}, "
                f"access_key_secret=<hidden>{token})")

    __str__ = __repr__

    def sensitive_values(self) -> tuple[str, ...]:
        """What must never appear in a log line or an error text (for scrubbing)."""
        return tuple(v for v in (self.access_key_secret, self.security_token) if v)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Credentials | None:
        """The process-wide credentials, or None when none are configured.

        A half-configured environment (an id without a secret or the reverse) raises
        ``ValueError`` naming the missing variable: that is a deployment mistake which
        should stop the operator at start-up, not silently fall through to "no credentials".
        """
        key_id = environ.get(ENV_ACCESS_KEY_ID, "").strip()
        secret = environ.get(ENV_ACCESS_KEY_SECRET, "").strip()
        if not key_id and not secret:
            return None
        if not key_id:
            raise ValueError(f"{ENV_ACCESS_KEY_SECRET} is set but {ENV_ACCESS_KEY_ID} is not")
        if not secret:
            raise ValueError(f"{ENV_ACCESS_KEY_ID} is set but {ENV_ACCESS_KEY_SECRET} is not")
        token = environ.get(ENV_SECURITY_TOKEN, "").strip() or None
        return cls(key_id, secret, token)

    @classmethod
    def from_secret_data(cls, data: Mapping[str, str]) -> Credentials:
        """Credentials from a Kubernetes Secret's ``.data`` (values base64-encoded).

        Surrounding whitespace of the decoded values is dropped: AccessKeys never contain
        any, and ``echo secret | base64`` adds a newline that would otherwise break every
        signature with an error nobody can see the cause of.
        """
        key_id = _decode_required(data, SECRET_KEY_ID)
        secret = _decode_required(data, SECRET_KEY_SECRET)
        token = _decode(data, SECRET_KEY_TOKEN) if data.get(SECRET_KEY_TOKEN) else None
        return cls(key_id, secret, token or None)


def _decode_required(data: Mapping[str, str], key: str) -> str:
    if key not in data or data[key] is None:
        raise ValueError(f"Secret data has no key {key!r}")
    value = _decode(data, key)
    if not value:
        raise ValueError(f"Secret key {key!r} is empty")
    return value


def _decode(data: Mapping[str, str], key: str) -> str:
    """Decode one base64 value; the error names the key and never shows the value.

    The failure is raised outside the ``except`` block so that no ``__context__`` (a
    UnicodeDecodeError keeps the decoded bytes) travels with it into a log.
    """
    text: str | None
    try:
        text = base64.b64decode(data[key], validate=True).decode("utf-8").strip()
    except (binascii.Error, ValueError, TypeError):
        text = None
    if text is None:
        raise ValueError(f"Secret key {key!r} is not valid base64-encoded UTF-8")
    return text
