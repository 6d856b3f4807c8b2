"""Credentials: where they come from, and that they never show their secret parts."""

from __future__ import annotations

import base64
import logging

import pytest

from mpu_operator.rtc.credentials import Credentials


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


SECRET_DATA = {"accessKeyId": b64("LTAIid"), "accessKeySecret": b64("S3cr3t\n"),
               "securityToken": b64("T0ken")}


def test_repr_and_str_show_the_key_id_only(caplog: pytest.LogCaptureFixture) -> None:
    creds = Credentials("LTAIid", "S3cr3t", "T0ken")
    caplog.set_level(logging.DEBUG)
    logging.getLogger("test").debug("using %s / %r / %s", creds, creds, [creds])
    for text in (repr(creds), str(creds), f"{creds}", caplog.text):
        assert "LTAIid" in text
        assert "S3cr3t" not in text and "T0ken" not in text
    assert "security_token=<set>" in repr(creds)
    assert "security_token" not in repr(Credentials("LTAIid", "S3cr3t"))


def test_is_frozen_and_compares_by_value() -> None:
    creds = Credentials("a", "b")
    with pytest.raises(AttributeError):
        creds.access_key_secret = "c"  # type: ignore[misc]
    assert creds == Credentials("a", "b") and hash(creds) == hash(Credentials("a", "b"))


@pytest.mark.parametrize(("key_id", "secret"), [("", "s"), ("i", "")])
def test_empty_parts_are_refused(key_id: str, secret: str) -> None:
    with pytest.raises(ValueError):
        Credentials(key_id, secret)


def test_from_env() -> None:
    assert Credentials.from_env({}) is None
    env = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIid", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "S3cr3t"}
    assert Credentials.from_env(env) == Credentials("LTAIid", "S3cr3t")
    token_env = {**env, "ALIBABA_CLOUD_SECURITY_TOKEN": "T0ken"}
    assert Credentials.from_env(token_env) == Credentials("LTAIid", "S3cr3t", "T0ken")
    assert Credentials.from_env({**env, "ALIBABA_CLOUD_SECURITY_TOKEN": ""}) == \
        Credentials("LTAIid", "S3cr3t")


@pytest.mark.parametrize(("env", "named"), [
    ({"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIid"}, "ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
    ({"ALIBABA_CLOUD_ACCESS_KEY_SECRET": "S3cr3t"}, "ALIBABA_CLOUD_ACCESS_KEY_ID"),
])
def test_half_configured_env_names_what_is_missing(env: dict[str, str], named: str) -> None:
    with pytest.raises(ValueError, match=f"{named} is not") as info:
        Credentials.from_env(env)
    assert "S3cr3t" not in str(info.value)


def test_from_secret_data_decodes_and_trims() -> None:
    assert Credentials.from_secret_data(SECRET_DATA) == Credentials("LTAIid", "S3cr3t", "T0ken")
    without = {k: v for k, v in SECRET_DATA.items() if k != "securityToken"}
    assert Credentials.from_secret_data(without).security_token is None
    assert Credentials.from_secret_data({**without, "securityToken": ""}).security_token is None


@pytest.mark.parametrize(("data", "named"), [
    ({"accessKeySecret": b64("S3cr3t")}, "accessKeyId"),
    ({"accessKeyId": b64("LTAIid")}, "accessKeySecret"),
    ({**SECRET_DATA, "accessKeySecret": "S3cr3t!!"}, "accessKeySecret"),  # not base64
    ({**SECRET_DATA, "accessKeySecret": base64.b64encode(b"S3cr3t\xff").decode()},
     "accessKeySecret"),  # not UTF-8
    ({**SECRET_DATA, "accessKeySecret": b64("  ")}, "accessKeySecret"),  # blank
    ({**SECRET_DATA, "securityToken": "T0ken*"}, "securityToken"),
])
def test_from_secret_data_errors_name_the_key_never_the_value(
    data: dict[str, str], named: str
) -> None:
    with pytest.raises(ValueError) as info:
        Credentials.from_secret_data(data)
    text = str(info.value)
    assert repr(named) in text
    assert "S3cr3t" not in text and "T0ken" not in text
    assert info.value.__cause__ is None and info.value.__context__ is None
