"""The v1 signer equals the official one (aliyunsdkcore) on anything we could send."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpu_operator.rtc import signing

composer = importlib.import_module("aliyunsdkcore.auth.composer.rpc_signature_composer")
# Module-level functions with a leading double underscore are not name-mangled.
sdk_string_to_sign = getattr(composer, "__compose_string_to_sign")
sdk_signature = getattr(composer, "__get_signature")

RESERVED = "!*'();:@&=+$,/?#[]% ~"
text = st.text(
    alphabet=st.one_of(st.sampled_from(RESERVED), st.characters(codec="utf-8")), max_size=24
)
names = st.text(
    alphabet=st.one_of(st.sampled_from(RESERVED + "._-"), st.characters(codec="utf-8")),
    min_size=1, max_size=16,
)
# "Signature" itself is never signed; the SDK removes it before composing, we skip it.
param_sets = st.dictionaries(names.filter(lambda n: n != "Signature"), text, max_size=40)
secrets = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40)


def official_signature(method: str, params: dict[str, str], secret: str) -> str:
    return sdk_signature(sdk_string_to_sign(method, params), secret)


@settings(max_examples=400, deadline=None)
@given(params=param_sets, secret=secrets, method=st.sampled_from(["GET", "POST"]))
def test_signature_matches_the_official_sdk(params: dict[str, str], secret: str,
                                            method: str) -> None:
    assert signing.string_to_sign(method, params) == sdk_string_to_sign(method, params)
    assert signing.sign(method, params, secret) == official_signature(method, params, secret)


@settings(max_examples=200, deadline=None)
@given(action=param_sets, secret=secrets, token=st.none() | text,
       method=st.sampled_from(["GET", "POST"]))
def test_signed_params_verify_with_the_official_sdk(
    action: dict[str, str], secret: str, token: str | None, method: str
) -> None:
    """The whole request as sent (common parameters included) checks out with the SDK."""
    sent = signing.signed_params(action, access_key_id="LTAIkey", access_key_secret=secret,
                                 security_token=token, method=method)
    unsigned = {k: v for k, v in sent.items() if k != "Signature"}
    assert sent["Signature"] == official_signature(method, unsigned, secret)


def test_agrees_with_the_sdks_own_signed_url() -> None:
    """The SDK's complete URL builder (its own nonce, timestamp, SignatureType) as oracle."""
    body = {"StreamURL": "rtmp://h.example/live/s?auth_key=1-0-0-abc&x=y z*~", "TaskId": "t"}
    url, _ = composer.get_signed_url({"Action": "StartMPUTask", "AppId": "app 1"}, "LTAIkey",
                                     "s3cret", "JSON", "POST", body)
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    expected = query.pop("Signature")
    assert signing.sign("POST", {**query, **body}, "s3cret") == expected


@pytest.mark.parametrize(("raw", "encoded"), [
    ("a b", "a%20b"), ("*", "%2A"), ("~", "~"), ("-_.", "-_."), ("/", "%2F"), ("+", "%2B"),
    ("=&", "%3D%26"), ("%", "%25"), ("中", "%E4%B8%AD"), ("", ""), (12, "12"),
])
def test_percent_encode(raw: object, encoded: str) -> None:
    assert signing.percent_encode(raw) == encoded


def test_canonical_query_sorts_by_name_and_leaves_out_signature() -> None:
    params = {"b": "2", "a": "1", "B": "3", "Signature": "x"}
    assert signing.canonical_query(params) == "B=3&a=1&b=2"


def test_string_to_sign_shape() -> None:
    assert signing.string_to_sign("get", {"A": "x y"}) == "GET&%2F&A%3Dx%2520y"


def test_known_signature() -> None:
    """A fixed vector, so a change in the recipe shows even if the SDK changed with it."""
    params = {"Action": "GetMPUTaskStatus", "AppId": "a", "TaskId": "t",
              "SignatureNonce": "n", "Timestamp": "2020-01-01T00:00:00Z"}
    assert signing.sign("POST", params, "secret") == official_signature("POST", params, "secret")
    assert signing.sign("POST", params, "secret") == (  # computed by hand with openssl
        "UbhTdMhUkouviRulm4RGpxvL4O8=")


def test_timestamp_is_utc_and_round_trips() -> None:
    local = datetime(2024, 5, 6, 10, 0, 0, tzinfo=timezone(timedelta(hours=8)))
    assert signing.timestamp(local) == "2024-05-06T02:00:00Z"
    assert signing.parse_timestamp("2024-05-06T02:00:00Z") == datetime(2024, 5, 6, 2,
                                                                       tzinfo=UTC)
    with pytest.raises(ValueError):
        signing.parse_timestamp("2024-05-06 02:00:00")


def test_common_parameters() -> None:
    sent = signing.signed_params({"Action": "X"}, access_key_id="id", access_key_secret="s")
    assert sent["Format"] == "JSON"
    assert sent["Version"] == "2018-01-11"
    assert sent["SignatureMethod"] == "HMAC-SHA1"
    assert sent["SignatureVersion"] == "1.0"
    assert sent["AccessKeyId"] == "id"
    assert "SecurityToken" not in sent
    signing.parse_timestamp(sent["Timestamp"])
    with_token = signing.signed_params({}, access_key_id="id", access_key_secret="s",
                                       security_token="tok")
    assert with_token["SecurityToken"] == "tok"


def test_every_request_has_a_fresh_nonce() -> None:
    nonces = {signing.signed_params({}, access_key_id="i", access_key_secret="s")
              ["SignatureNonce"] for _ in range(2000)}
    assert len(nonces) == 2000
