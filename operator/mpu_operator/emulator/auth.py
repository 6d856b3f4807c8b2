"""Who is calling: signature v1 (query parameters) and ACS3-HMAC-SHA256 (headers).

``aliyun-python-sdk-core`` signs RPC v1: every parameter, ``Signature`` included, travels
in the query string (POST, empty body). ``alibabacloud-tea-openapi`` signs ACS3 by default:
action, version, date and nonce in ``x-acs-*`` headers, an ``Authorization`` header naming
the signed headers. Both are verified by rebuilding what the client signed from what
arrived, so a proxy or client that changes a byte fails here as it would at the service.
A timestamp outside the window, or a nonce seen inside it, is refused: the nonce exists to
stop replays, so a nonce only needs remembering for as long as its timestamp is acceptable.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from mpu_operator.rtc import codes
from mpu_operator.rtc.signing import (
    SIGNATURE_METHOD,
    SIGNATURE_VERSION,
    parse_timestamp,
    percent_encode,
    sign,
)

from . import errors
from .errors import ApiError

ACS3_ALGORITHM = "ACS3-HMAC-SHA256"
#: Headers an ACS3 signature must cover, or the action or date could be swapped unseen.
ACS3_REQUIRED_SIGNED = ("host", "x-acs-action", "x-acs-version", "x-acs-date",
                        "x-acs-signature-nonce", "x-acs-content-sha256")


@dataclass(frozen=True)
class SignedRequest:
    """What the verifiers need from an HTTP request, decoupled from the server library."""

    method: str
    path: str
    query: Mapping[str, str]
    form: Mapping[str, str]
    headers: Mapping[str, list[str]]  # lower-case name -> every value received
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @property
    def is_acs3(self) -> bool:
        return (self.header("authorization") or "").startswith("ACS3-")


class NonceCache:
    """SignatureNonces seen within the window, per AccessKeyId: a replay is a second use."""

    def __init__(self, window_seconds: float) -> None:
        self.window = window_seconds
        self._seen: set[tuple[str, str]] = set()
        self._order: deque[tuple[float, tuple[str, str]]] = deque()
        self._lock = threading.Lock()

    def use(self, key_id: str, nonce: str, now_mono: float) -> bool:
        """Record the nonce; False if it was already used inside the window."""
        with self._lock:
            while self._order and self._order[0][0] + self.window < now_mono:
                self._seen.discard(self._order.popleft()[1])
            entry = (key_id, nonce)
            if entry in self._seen:
                return False
            self._seen.add(entry)
            self._order.append((now_mono, entry))
            return True

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()
            self._order.clear()

    def __len__(self) -> int:
        return len(self._seen)


@dataclass(frozen=True)
class Verified:
    access_key_id: str
    style: str  # "v1" or "ACS3"


class Authenticator:
    """Checks a request's credentials against the configured keys and the replay window."""

    def __init__(self, credentials: Mapping[str, str], window_seconds: float) -> None:
        self.credentials = dict(credentials)
        self.window = window_seconds
        self.nonces = NonceCache(window_seconds)

    def verify(self, request: SignedRequest, now: datetime, now_mono: float) -> Verified:
        if request.is_acs3:
            key_id, nonce = self._verify_acs3(request, now)
            style = "ACS3"
        else:
            key_id, nonce = self._verify_v1(request, now)
            style = "v1"
        if not self.nonces.use(key_id, nonce, now_mono):
            raise ApiError(codes.SIGNATURE_NONCE_USED, 400,
                           "The request signature nonce has been used.")
        return Verified(key_id, style)

    # -- shared checks -------------------------------------------------------------------

    def _secret(self, key_id: str | None) -> str:
        if not key_id:
            raise errors.missing("AccessKeyId")
        secret = self.credentials.get(key_id)
        if secret is None:
            raise ApiError(codes.INVALID_ACCESS_KEY_ID, 404,
                           "Specified access key is not found.")
        return secret

    def _check_time(self, value: str | None, name: str, now: datetime) -> None:
        if not value:
            raise ApiError(codes.NO_TIMESTAMP, 400, f"{name} is required.")
        try:
            sent = parse_timestamp(value)
        except ValueError:
            raise ApiError(codes.INVALID_TIMESTAMP, 400,
                           f"{name} must be UTC yyyy-MM-ddTHH:mm:ssZ.") from None
        skew = abs((now - sent).total_seconds())
        if skew > self.window:
            raise ApiError(codes.ILLEGAL_TIMESTAMP, 401,
                           f"{name} is {skew:.0f} s away from the server's time; "
                           f"at most {self.window:.0f} s is accepted.")

    @staticmethod
    def _nonce(value: str | None) -> str:
        if not value:
            raise ApiError(errors.NO_NONCE, 400, "SignatureNonce is required.")
        return value

    @staticmethod
    def _mismatch() -> ApiError:
        # The real service echoes its string-to-sign; that would echo the StreamURL's auth
        # key into client logs, so the emulator does not.
        return ApiError(codes.ILLEGAL_SIGNATURE, 401,
                        "The request signature does not conform to Aliyun standards.")

    # -- v1 ------------------------------------------------------------------------------

    def _verify_v1(self, request: SignedRequest, now: datetime) -> tuple[str, str]:
        params = {**request.query, **request.form}
        signature = params.get("Signature")
        if not signature:
            raise ApiError(codes.NO_SIGNATURE, 400, "Signature is required.")
        secret = self._secret(params.get("AccessKeyId"))
        if params.get("SignatureMethod", SIGNATURE_METHOD) != SIGNATURE_METHOD \
                or params.get("SignatureVersion", SIGNATURE_VERSION) != SIGNATURE_VERSION:
            raise ApiError(codes.ILLEGAL_AUTH, 401,
                           f"Only SignatureMethod {SIGNATURE_METHOD} with SignatureVersion "
                           f"{SIGNATURE_VERSION} (or ACS3-HMAC-SHA256) is supported.")
        self._check_time(params.get("Timestamp"), "Timestamp", now)
        nonce = self._nonce(params.get("SignatureNonce"))
        expected = sign(request.method, params, secret)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise self._mismatch()
        return params["AccessKeyId"], nonce

    # -- ACS3 ----------------------------------------------------------------------------

    def _verify_acs3(self, request: SignedRequest, now: datetime) -> tuple[str, str]:
        algorithm, credential, signed_headers, signature = parse_authorization(
            request.header("authorization") or "")
        if algorithm != ACS3_ALGORITHM:
            raise ApiError(codes.ILLEGAL_AUTH, 401,
                           f"Only {ACS3_ALGORITHM} (or signature v1) is supported.")
        secret = self._secret(credential)
        missing = [h for h in ACS3_REQUIRED_SIGNED if h not in signed_headers]
        if missing:
            raise ApiError(codes.ILLEGAL_AUTH, 401,
                           f"SignedHeaders must include {', '.join(missing)}.")
        self._check_time(request.header("x-acs-date"), "x-acs-date", now)
        nonce = self._nonce(request.header("x-acs-signature-nonce"))
        body_hash = hashlib.sha256(request.body).hexdigest()
        if request.header("x-acs-content-sha256") != body_hash:
            raise self._mismatch()
        canonical = canonical_request_acs3(request, signed_headers, body_hash)
        expected = signature_acs3(canonical, secret)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise self._mismatch()
        return credential, nonce


def parse_authorization(value: str) -> tuple[str, str, list[str], str]:
    """``ALG Credential=AK,SignedHeaders=a;b,Signature=hex`` -> its four parts."""
    algorithm, _, rest = value.strip().partition(" ")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, content = part.strip().partition("=")
        if sep:
            fields[name] = content
    try:
        return (algorithm, fields["Credential"],
                [h for h in fields["SignedHeaders"].split(";") if h], fields["Signature"])
    except KeyError:
        raise ApiError(codes.ILLEGAL_AUTH, 401,
                       "Authorization must carry Credential, SignedHeaders and "
                       "Signature.") from None


def canonical_request_acs3(request: SignedRequest, signed_headers: list[str],
                           body_hash: str) -> str:
    """METHOD, path, sorted encoded query, signed headers, their names, the body's hash."""
    query = "&".join(f"{percent_encode(k)}={percent_encode(v)}"
                     for k, v in sorted(request.query.items()))
    names = sorted(h.lower() for h in signed_headers)
    headers = "".join(
        f"{name}:{','.join(sorted(v.strip() for v in request.headers.get(name, [])))}\n"
        for name in names)
    return "\n".join([request.method.upper(), request.path or "/", query, headers,
                      ";".join(names), body_hash])


def signature_acs3(canonical_request: str, secret: str) -> str:
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    string_to_sign = f"{ACS3_ALGORITHM}\n{digest}"
    return hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"),
                    hashlib.sha256).hexdigest()


def authorization_acs3(request: SignedRequest, key_id: str, secret: str,
                       signed_headers: list[str]) -> str:
    """The header a client would send: for tests that hand-craft ACS3 requests."""
    body_hash = hashlib.sha256(request.body).hexdigest()
    names = sorted(h.lower() for h in signed_headers)
    signature = signature_acs3(canonical_request_acs3(request, names, body_hash), secret)
    return (f"{ACS3_ALGORITHM} Credential={key_id},SignedHeaders={';'.join(names)},"
            f"Signature={signature}")
