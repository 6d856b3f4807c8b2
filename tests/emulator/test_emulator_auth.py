"""Signature checks: v1 as aliyunsdkcore composes it, ACS3 as tea-openapi does, and replays."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlsplit

import pytest
from alibabacloud_tea_openapi.utils import Utils as TeaUtils
from aliyunsdkcore.auth.composer import rpc_signature_composer

from mpu_operator.emulator.auth import (
    Authenticator,
    NonceCache,
    SignedRequest,
    authorization_acs3,
)
from mpu_operator.emulator.errors import ApiError
from mpu_operator.rtc.signing import sign, signed_params, timestamp

KEY, SECRET = "testid", "testsecret"
NOW = datetime.now(UTC).replace(microsecond=0)
ACTION = {"Action": "StartMPUTask", "Version": "2018-01-11", "AppId": "app",
          "StreamURL": "rtmp://cdn.example.com/live/s?auth_key=1-0-0-abc&x=a b*~"}


@pytest.fixture
def auth() -> Authenticator:
    return Authenticator({KEY: SECRET, "other": "othersecret"}, window_seconds=900)


def v1_request(params: dict[str, str], method: str = "POST",
               form: dict[str, str] | None = None) -> SignedRequest:
    return SignedRequest(method, "/", params, form or {}, {}, b"")


def refused(auth: Authenticator, request: SignedRequest, code: str,
            now: datetime = NOW, mono: float = 0.0) -> ApiError:
    with pytest.raises(ApiError) as caught:
        auth.verify(request, now, mono)
    assert caught.value.code == code, caught.value
    return caught.value


# -- v1 ----------------------------------------------------------------------------------


def test_v1_as_the_old_sdk_composes_it(auth: Authenticator) -> None:
    url, _ = rpc_signature_composer.get_signed_url(dict(ACTION), KEY, SECRET, "JSON", "POST", {})
    params = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    verified = auth.verify(v1_request(params), datetime.now(UTC), 0.0)
    assert (verified.access_key_id, verified.style) == (KEY, "v1")


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_v1_from_the_shared_signer_in_query_or_form(auth: Authenticator, method: str) -> None:
    params = signed_params(ACTION, access_key_id=KEY, access_key_secret=SECRET, method=method,
                           now=NOW)
    auth.verify(v1_request(params, method), NOW, 0.0)
    params = signed_params(ACTION, access_key_id=KEY, access_key_secret=SECRET, method=method,
                           now=NOW)
    half = dict(list(params.items())[:3])
    rest = {k: v for k, v in params.items() if k not in half}
    auth.verify(v1_request(half, method, form=rest), NOW, 0.0)


def test_v1_signature_covers_method_and_every_parameter(auth: Authenticator) -> None:
    params = signed_params(ACTION, access_key_id=KEY, access_key_secret=SECRET, now=NOW)
    refused(auth, v1_request(params, "GET"), "Request.IllegalSignature")
    tampered = {**params, "StreamURL": "rtmp://evil.example.com/live/s"}
    error = refused(auth, v1_request(tampered), "Request.IllegalSignature")
    assert "auth_key" not in error.message


def test_v1_wrong_secret_and_unknown_key(auth: Authenticator) -> None:
    params = signed_params(ACTION, access_key_id=KEY, access_key_secret="wrong", now=NOW)
    assert refused(auth, v1_request(params), "Request.IllegalSignature").http == 401
    params = signed_params(ACTION, access_key_id="nobody", access_key_secret=SECRET, now=NOW)
    assert refused(auth, v1_request(params), "InvalidAccessKeyId.NotFound").http == 404


@pytest.mark.parametrize(("timestamp_value", "code", "http"), [
    (None, "Request.NoTimestamp", 400),
    ("2026-01-01 00:00:00", "Request.InvalidTimestamp", 400),
    (timestamp(NOW - timedelta(minutes=15, seconds=1)), "Request.IllegalTimestamp", 401),
    (timestamp(NOW + timedelta(minutes=15, seconds=1)), "Request.IllegalTimestamp", 401),
], ids=["missing", "malformed", "too-old", "too-new"])  # stable ids: xdist workers agree
def test_v1_timestamp(auth: Authenticator, timestamp_value: str | None, code: str,
                      http: int) -> None:
    params = signed_params(ACTION, access_key_id=KEY, access_key_secret=SECRET, now=NOW)
    params.pop("Signature")
    params.pop("Timestamp")
    if timestamp_value is not None:
        params["Timestamp"] = timestamp_value
    params["Signature"] = sign("POST", params, SECRET)
    assert refused(auth, v1_request(params), code).http == http


def test_v1_timestamp_at_the_edge_of_the_window(auth: Authenticator) -> None:
    for skew in (-900, 900):
        params = signed_params(ACTION, access_key_id=KEY, access_key_secret=SECRET,
                               now=NOW + timedelta(seconds=skew))
        auth.verify(v1_request(params), NOW, 0.0)


def test_v1_missing_pieces(auth: Authenticator) -> None:
    params = signed_params(ACTION, access_key_id=KEY, access_key_secret=SECRET, now=NOW)
    refused(auth, v1_request({k: v for k, v in params.items() if k != "Signature"}),
            "Request.NoSignature")
    refused(auth, v1_request({k: v for k, v in params.items() if k != "AccessKeyId"}),
            "MissingParameter")
    refused(auth, v1_request({**params, "SignatureMethod": "HMAC-SHA256"}), "Request.IllegalAuth")


def test_v1_replayed_nonce(auth: Authenticator) -> None:
    params = signed_params(ACTION, access_key_id=KEY, access_key_secret=SECRET, now=NOW)
    auth.verify(v1_request(params), NOW, 0.0)
    assert refused(auth, v1_request(params), "SignatureNonceUsed", mono=899.0).http == 400
    # The same nonce from another key is not a replay of the first key's request.
    other = signed_params(ACTION, access_key_id="other", access_key_secret="othersecret",
                          now=NOW)
    other["SignatureNonce"] = params["SignatureNonce"]
    other.pop("Signature")
    other["Signature"] = sign("POST", other, "othersecret")
    auth.verify(v1_request(other), NOW, 1.0)


def test_a_refused_signature_does_not_burn_the_nonce(auth: Authenticator) -> None:
    good = signed_params(ACTION, access_key_id=KEY, access_key_secret=SECRET, now=NOW)
    forged = {**good, "Signature": "AAAA"}
    refused(auth, v1_request(forged), "Request.IllegalSignature")
    auth.verify(v1_request(good), NOW, 0.0)


def test_nonce_cache_forgets_after_the_window() -> None:
    cache = NonceCache(window_seconds=10)
    assert cache.use("k", "n", 0.0)
    assert not cache.use("k", "n", 10.0)
    assert cache.use("k", "n", 10.001)
    assert len(cache) == 1


# -- ACS3 --------------------------------------------------------------------------------


def acs3_headers(body: bytes = b"", date: str | None = None, nonce: str = "n-1",
                 action: str = "StartMPUTask") -> dict[str, str]:
    return {"host": "127.0.0.1:8080", "x-acs-version": "2018-01-11", "x-acs-action": action,
            "user-agent": "AlibabaCloud (test)", "x-acs-date": date or timestamp(NOW),
            "x-acs-signature-nonce": nonce, "accept": "application/json",
            "content-type": "application/x-www-form-urlencoded",
            "x-acs-content-sha256": hashlib.sha256(body).hexdigest()}


def tea_signed(query: dict[str, str], headers: dict[str, str], body: bytes = b"",
               secret: str = SECRET, key: str = KEY) -> SignedRequest:
    """Signed by the ACS3 SDK's own function, received as the emulator sees it."""
    sdk_request = SimpleNamespace(pathname="/", method="POST", query=query, headers=headers)
    authorization = TeaUtils.get_authorization(sdk_request, "ACS3-HMAC-SHA256",
                                               hashlib.sha256(body).hexdigest(), key, secret)
    received = {k.lower(): [v] for k, v in headers.items()}
    received["authorization"] = [authorization]
    return SignedRequest("POST", "/", query, {}, received, body)


QUERY = {"AppId": "app", "LayoutIds.1": "1", "StreamURL": ACTION["StreamURL"]}


def test_acs3_as_the_new_sdk_signs_it(auth: Authenticator) -> None:
    verified = auth.verify(tea_signed(QUERY, acs3_headers()), NOW, 0.0)
    assert (verified.access_key_id, verified.style) == (KEY, "ACS3")


def test_acs3_helper_matches_the_sdk() -> None:
    request = tea_signed(QUERY, acs3_headers())
    names = [h for h in request.headers if h != "authorization"]
    assert authorization_acs3(request, KEY, SECRET, names) == request.header("authorization")


def test_acs3_tampering(auth: Authenticator) -> None:
    request = tea_signed(QUERY, acs3_headers())
    swapped = SignedRequest("POST", "/", {**QUERY, "AppId": "evil"}, {}, request.headers, b"")
    refused(auth, swapped, "Request.IllegalSignature")
    headers = dict(request.headers)
    headers["x-acs-action"] = ["StopMPUTask"]
    refused(auth, SignedRequest("POST", "/", QUERY, {}, headers, b""), "Request.IllegalSignature")
    with_body = SignedRequest("POST", "/", QUERY, {}, request.headers, b"AppId=evil")
    refused(auth, with_body, "Request.IllegalSignature")


def test_acs3_wrong_secret_unknown_key(auth: Authenticator) -> None:
    refused(auth, tea_signed(QUERY, acs3_headers(), secret="wrong"), "Request.IllegalSignature")
    refused(auth, tea_signed(QUERY, acs3_headers(), key="nobody"), "InvalidAccessKeyId.NotFound")


def test_acs3_date_and_nonce(auth: Authenticator) -> None:
    old = timestamp(NOW - timedelta(minutes=16))
    refused(auth, tea_signed(QUERY, acs3_headers(date=old)), "Request.IllegalTimestamp")
    refused(auth, tea_signed(QUERY, acs3_headers(date="yesterday")), "Request.InvalidTimestamp")
    auth.verify(tea_signed(QUERY, acs3_headers(nonce="once")), NOW, 0.0)
    refused(auth, tea_signed(QUERY, acs3_headers(nonce="once")), "SignatureNonceUsed")


def test_acs3_must_sign_the_action_and_date(auth: Authenticator) -> None:
    headers = acs3_headers()
    request = tea_signed(QUERY, headers)
    thin = {k: v for k, v in request.headers.items() if k != "x-acs-action"}
    sdk_request = SimpleNamespace(pathname="/", method="POST", query=QUERY,
                                  headers={k: v[0] for k, v in thin.items()
                                           if k != "authorization"})
    thin["authorization"] = [TeaUtils.get_authorization(
        sdk_request, "ACS3-HMAC-SHA256", hashlib.sha256(b"").hexdigest(), KEY, SECRET)]
    thin["x-acs-action"] = ["StartMPUTask"]  # sent, but outside the signature
    refused(auth, SignedRequest("POST", "/", QUERY, {}, thin, b""), "Request.IllegalAuth")


def test_acs3_malformed_authorization(auth: Authenticator) -> None:
    headers = {k.lower(): [v] for k, v in acs3_headers().items()}
    headers["authorization"] = ["ACS3-HMAC-SHA256 Credential=testid"]
    refused(auth, SignedRequest("POST", "/", QUERY, {}, headers, b""), "Request.IllegalAuth")
    headers["authorization"] = ["ACS3-RSA-SHA256 Credential=testid,SignedHeaders=host,"
                                "Signature=00"]
    refused(auth, SignedRequest("POST", "/", QUERY, {}, headers, b""), "Request.IllegalAuth")


def test_sts_tokens_are_accepted_unchecked(auth: Authenticator) -> None:
    """Fidelity: the emulator has no STS; a token is signed over like any parameter."""
    params = signed_params(ACTION, access_key_id=KEY, access_key_secret=SECRET,
                           security_token="sts-token", now=NOW)
    auth.verify(v1_request(params), NOW, 0.0)
    headers = {**acs3_headers(nonce="sts"), "x-acs-security-token": "sts-token",
               "x-acs-accesskey-id": KEY}
    auth.verify(tea_signed(QUERY, headers), NOW, 0.0)
