"""RTCClient against a loopback fake of the service: wire format, answers, errors, secrecy."""

from __future__ import annotations

import logging
import pickle
import time
from dataclasses import replace

import pytest
import requests

from mpu_operator.rtc import codes, errors
from mpu_operator.rtc.client import (
    DEFAULT_ENDPOINT,
    RTCClient,
    TaskStatus,
)
from mpu_operator.rtc.codes import ErrorKind
from mpu_operator.rtc.credentials import Credentials
from mpu_operator.rtc.errors import RTCError
from mpu_operator.rtc.params import Watermark
from mpu_operator.rtc.signing import percent_encode

from .fakertc import FORBIDDEN, KEY_ID, LAYOUT, START, STREAM_URL, Answer, FakeRTC, error

LOGO = Watermark("https://img.example.com/logo.png", 0.8, 0.05, 0.1, 0.1, alpha=0.5)


def client_for(fake: FakeRTC, **kwargs: object) -> RTCClient:
    kwargs.setdefault("timeout", (1.0, 2.0))
    return RTCClient(fake.url, **kwargs)  # type: ignore[arg-type]


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in FORBIDDEN:
            assert secret not in text, f"{secret!r} leaked into {text!r}"


def call_error(fn: object, *args: object) -> RTCError:
    with pytest.raises(RTCError) as info:
        fn(*args)  # type: ignore[operator]
    return info.value


pytestmark = pytest.mark.integration


# --------------------------------------------------------------------- success paths


def test_start_sends_every_parameter_form_encoded(fake_rtc: FakeRTC, creds: Credentials) -> None:
    rid = client_for(fake_rtc).start_mpu_task(creds, START)
    (sent,) = fake_rtc.received
    assert rid and sent.method == "POST" and sent.path == "/"
    assert sent.content_type == "application/x-www-form-urlencoded"
    expected = {  # written out: START.to_query() would agree with itself if it dropped one
        "Action": "StartMPUTask", "AppId": "app1", "ChannelId": "room 1", "TaskId": "task-1",
        "StreamURL": STREAM_URL, "MediaEncode": "20", "TaskProfile": "4IN_720P",
        "LayoutIds.1": "1", "LayoutIds.2": "2", "LayoutIds.3": "5", "CropMode": "1",
        "BackgroundColor": "65280", "UserPanes.1.PaneId": "0", "UserPanes.1.UserId": "alice",
        "UserPanes.1.SourceType": "camera", "UserPanes.2.PaneId": "1",
        "UserPanes.2.UserId": "bob", "UserPanes.2.SourceType": "shareScreen",
        "SubSpecUsers.1": "alice", "SubSpecUsers.2": "bob",
        "SecurityToken": creds.security_token, "AccessKeyId": KEY_ID, "Format": "JSON",
        "Version": "2018-01-11"}
    assert {k: sent.params.get(k) for k in expected} == expected
    assert sent.params["StreamURL"] == STREAM_URL  # sent exactly, auth query included


def test_status_update_stop(fake_rtc: FakeRTC, creds: Credentials) -> None:
    client = client_for(fake_rtc)
    fake_rtc.answer(Answer(200, {"RequestId": "R-1", "Status": 6}))
    status = client.get_mpu_task_status(creds, "app1", "task-1")
    assert status == TaskStatus(status=6, request_id="R-1")
    assert status.description == "stopped: stream URL problem"
    assert client.update_mpu_layout(creds, "app1", "task-1", LAYOUT)
    assert client.stop_mpu_task(creds, "app1", "task-1")
    actions = [r.params["Action"] for r in fake_rtc.received]
    assert actions == ["GetMPUTaskStatus", "UpdateMPULayout", "StopMPUTask"]
    update = fake_rtc.received[1].params
    assert update["LayoutIds.3"] == "5" and update["UserPanes.2.SourceType"] == "shareScreen"
    assert "StreamURL" not in update


def test_update_task_sends_the_whole_update_signed(fake_rtc: FakeRTC, creds: Credentials) -> None:
    params = replace(START, watermarks=(LOGO,), mix_mode="Single").update_params()
    fake_rtc.answer(Answer(200, {"RequestId": "R-9"}))
    assert client_for(fake_rtc).update_mpu_task(creds, "app1", "task-1", params) == "R-9"
    (sent,) = fake_rtc.received  # the fake checks the v1 signature of everything sent
    expected = {"Action": "UpdateMPUTask", "AppId": "app1", "TaskId": "task-1",
                "LayoutIds.3": "5", "SubSpecUsers.2": "bob", "MixMode": "1",
                "SourceType": "camera", "StreamType": "0",
                "Watermarks.1.Url": LOGO.url, "Watermarks.1.Alpha": "0.5"}
    assert {k: sent.params.get(k) for k in expected} == expected
    assert "StreamURL" not in sent.params and "MediaEncode" not in sent.params


def test_update_task_errors_name_the_action(fake_rtc: FakeRTC, creds: Credentials) -> None:
    fake_rtc.answer(error(404, codes.TASK_NOT_FOUND, "no such task"))
    err = call_error(client_for(fake_rtc).update_mpu_task, creds, "app1", "gone",
                     START.update_params())
    assert err.action == "UpdateMPUTask" and err.code == codes.TASK_NOT_FOUND


def test_status_as_string_is_accepted(fake_rtc: FakeRTC, creds: Credentials) -> None:
    fake_rtc.answer(Answer(200, {"RequestId": "R", "Status": "0"}))
    assert client_for(fake_rtc).get_mpu_task_status(creds, "a", "t").status == 0


def test_no_token_no_security_token_parameter(fake_rtc: FakeRTC) -> None:
    client_for(fake_rtc).stop_mpu_task(Credentials(KEY_ID, "S3cr3t-Value-xyz"), "a", "t")
    assert "SecurityToken" not in fake_rtc.received[0].params


def test_every_request_has_a_fresh_nonce(fake_rtc: FakeRTC, creds: Credentials) -> None:
    client = client_for(fake_rtc)
    for _ in range(25):
        client.get_mpu_task_status(creds, "a", "t")
    nonces = {r.params["SignatureNonce"] for r in fake_rtc.received}
    assert len(nonces) == 25  # and the fixture fails on any reuse the server saw


# ---------------------------------------------------------------------- service errors


@pytest.mark.parametrize(("status", "code", "message", "kind"), [
    (400, "Request.InvalidAppID", "bad app", ErrorKind.TERMINAL),
    (400, codes.TASK_EXISTS, "task already exists", ErrorKind.ALREADY_EXISTS),
    (400, "InvalidParameter", "The task already exists.", ErrorKind.ALREADY_EXISTS),
    (404, codes.TASK_NOT_FOUND, "no task", ErrorKind.NOT_FOUND),
    (400, "InvalidParameter.TaskId", "Task does not exist", ErrorKind.NOT_FOUND),
    (409, codes.STREAM_URL_IN_USE, "in use", ErrorKind.CONFLICT),
    (400, codes.STREAM_URL_COOLING_DOWN, "cooling", ErrorKind.CONFLICT),
    (400, codes.TASK_QUOTA_EXCEEDED, "quota", ErrorKind.CONFLICT),
    (400, "Throttling.User", "slow down", ErrorKind.RETRYABLE),
    (503, "ServiceUnavailable", "busy", ErrorKind.RETRYABLE),
    (500, "Service.ChannelRDSOperate", "db", ErrorKind.RETRYABLE),
    (200, codes.APP_CHARGE_OVERDUE, "pay", ErrorKind.TERMINAL),
    (200, codes.SERVICE_INACTIVE, "inactive", ErrorKind.TERMINAL),
    (200, codes.CHANNEL_EXCEEDS, "too many channels", ErrorKind.TERMINAL),
    (404, "InvalidAccessKeyId.NotFound", "who", ErrorKind.TERMINAL),
])
def test_service_errors_are_classified(
    fake_rtc: FakeRTC, creds: Credentials, status: int, code: str, message: str,
    kind: ErrorKind,
) -> None:
    fake_rtc.answer(error(status, code, message, rid="RID-42"))
    err = call_error(client_for(fake_rtc).stop_mpu_task, creds, "app1", "task-1")
    assert (err.code, err.http_status, err.kind, err.action) == (code, status, kind, "StopMPUTask")
    assert err.request_id == "RID-42" and err.message == message
    assert err.retryable == (kind is ErrorKind.RETRYABLE)
    assert str(err) == f"StopMPUTask failed: {code} (HTTP {status}): {message} [RequestId: RID-42]"


def test_bad_signature_is_terminal_and_the_echo_is_scrubbed(fake_rtc: FakeRTC) -> None:
    wrong = Credentials(KEY_ID, "S3cr3t-but-wrong", "STS.T0kenValue-2")
    err = call_error(client_for(fake_rtc).start_mpu_task, wrong, START)
    assert (err.code, err.http_status, err.kind) == (codes.ILLEGAL_SIGNATURE, 401,
                                                     ErrorKind.TERMINAL)
    assert "server string to sign" in err.message and err.request_id
    assert_no_secrets(str(err), repr(err), repr(wrong), str(wrong), *map(str, err.args))


def test_unknown_key_id(fake_rtc: FakeRTC) -> None:
    err = call_error(client_for(fake_rtc).stop_mpu_task, Credentials("nobody", "x"), "a", "t")
    assert err.kind is ErrorKind.TERMINAL and err.http_status == 404


def test_service_message_quoting_the_stream_url_is_scrubbed(
    fake_rtc: FakeRTC, creds: Credentials
) -> None:
    fake_rtc.answer(error(400, codes.STREAM_URL_IN_USE, f"StreamURL {STREAM_URL} is in use, "
                          f"AccessKeySecret={creds.access_key_secret}"))
    err = call_error(client_for(fake_rtc).start_mpu_task, creds, START)
    assert err.kind is ErrorKind.CONFLICT
    assert_no_secrets(str(err), repr(err))


def test_service_message_quoting_bare_secrets_is_scrubbed(
    fake_rtc: FakeRTC, creds: Credentials
) -> None:
    """No key=value shape to recognise: the client knows this call's secrets and removes
    them by value, plain and percent-encoded."""
    assert creds.security_token is not None
    quoted = (f"rejected secret {creds.access_key_secret} with token {creds.security_token} "
              f"for {percent_encode(STREAM_URL)[:40]} / {percent_encode(creds.security_token)}")
    fake_rtc.answer(error(400, "InvalidParameter", quoted))
    err = call_error(client_for(fake_rtc).start_mpu_task, creds, START)
    assert_no_secrets(str(err), repr(err))
    assert "[redacted]" in err.message


def test_pickled_error_keeps_its_fields(fake_rtc: FakeRTC, creds: Credentials) -> None:
    fake_rtc.answer(error(503, "ServiceUnavailable", "busy", rid="R9"))
    err = call_error(client_for(fake_rtc).stop_mpu_task, creds, "a", "t")
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.code, copy.kind, copy.request_id, str(copy)) == (err.code, err.kind, "R9",
                                                                  str(err))


@pytest.mark.parametrize(("status", "kind"), [(502, ErrorKind.RETRYABLE),
                                              (200, ErrorKind.TERMINAL),
                                              (403, ErrorKind.TERMINAL)])
def test_non_json_body(fake_rtc: FakeRTC, creds: Credentials, status: int,
                       kind: ErrorKind) -> None:
    page = ("<html><head><style>body{color:red}</style><title>Bad Gateway</title></head>"
            f"<body><h1>502 Bad Gateway</h1><p>upstream {STREAM_URL}</p>{'x' * 5000}"
            "</body></html>")
    fake_rtc.answer(Answer(status, page, content_type="text/html"))
    err = call_error(client_for(fake_rtc).get_mpu_task_status, creds, "a", "t")
    assert (err.code, err.http_status, err.kind) == (errors.NON_JSON_RESPONSE, status, kind)
    assert "Bad Gateway" in err.message and "text/html" in err.message
    assert "<" not in err.message and "color" not in err.message
    assert len(str(err)) < 300
    assert_no_secrets(str(err))


def test_json_that_is_not_an_object(fake_rtc: FakeRTC, creds: Credentials) -> None:
    fake_rtc.answer(Answer(200, "[1, 2]"))
    err = call_error(client_for(fake_rtc).stop_mpu_task, creds, "a", "t")
    assert err.code == errors.NON_JSON_RESPONSE and err.kind is ErrorKind.TERMINAL


def test_status_missing_from_answer(fake_rtc: FakeRTC, creds: Credentials) -> None:
    fake_rtc.answer(Answer(200, {"RequestId": "R"}))
    err = call_error(client_for(fake_rtc).get_mpu_task_status, creds, "a", "t")
    assert err.code == errors.INVALID_RESPONSE and err.kind is ErrorKind.TERMINAL


def test_error_status_without_code(fake_rtc: FakeRTC, creds: Credentials) -> None:
    fake_rtc.answer(Answer(504, {"RequestId": "R"}))
    err = call_error(client_for(fake_rtc).stop_mpu_task, creds, "a", "t")
    assert err.code == "HTTP504" and err.kind is ErrorKind.RETRYABLE


def test_redirect_is_not_followed(fake_rtc: FakeRTC, creds: Credentials) -> None:
    fake_rtc.answer(Answer(301, "moved", content_type="text/plain"))
    err = call_error(client_for(fake_rtc).stop_mpu_task, creds, "a", "t")
    assert err.http_status == 301 and err.kind is ErrorKind.TERMINAL
    assert len(fake_rtc.received) == 1


# -------------------------------------------------------------------- transport errors


def test_read_timeout_is_retryable(fake_rtc: FakeRTC, creds: Credentials) -> None:
    fake_rtc.answer(Answer(stall=True))
    client = client_for(fake_rtc, timeout=(1.0, 0.3))
    started = time.monotonic()
    err = call_error(client.start_mpu_task, creds, START)
    elapsed = time.monotonic() - started
    assert (err.code, err.http_status, err.kind) == (errors.CLIENT_TIMEOUT, None,
                                                     ErrorKind.RETRYABLE)
    assert 0.3 <= elapsed < 2.0
    assert str(err).startswith("StartMPUTask failed: Client.Timeout (no HTTP response): ")
    assert_no_secrets(str(err), repr(err))


def test_connection_refused_is_retryable(closed_port: int, creds: Credentials) -> None:
    client = RTCClient(f"http://127.0.0.1:{closed_port}", timeout=(1.0, 1.0))
    err = call_error(client.start_mpu_task, creds, START)
    assert (err.code, err.http_status, err.kind) == (errors.CLIENT_CONNECTION, None,
                                                     ErrorKind.RETRYABLE)
    assert err.retryable and err.request_id == ""
    assert_no_secrets(str(err), repr(err))


# ------------------------------------------------------------------------- logging



def test_logs_say_what_happened_and_nothing_secret(
    fake_rtc: FakeRTC, creds: Credentials, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = client_for(fake_rtc, timeout=(1.0, 0.3))
    fake_rtc.answer(Answer(200, {"RequestId": "REQ-OK"}),
                    error(400, codes.STREAM_URL_IN_USE, f"url {STREAM_URL}", rid="REQ-BAD"),
                    Answer(stall=True))
    client.start_mpu_task(creds, START)
    for _ in range(2):
        with pytest.raises(RTCError):
            client.start_mpu_task(creds, START)
    with pytest.raises(RTCError):
        client.start_mpu_task(Credentials(KEY_ID, "S3cr3t-wrong", creds.security_token), START)
    text = caplog.text
    assert "StartMPUTask app=app1 task=task-1 -> ok request_id=REQ-OK" in text
    assert f"-> {codes.STREAM_URL_IN_USE} (Conflict) request_id=REQ-BAD" in text
    assert "Client.Timeout (Retryable)" in text
    signatures = [r.params["Signature"] for r in fake_rtc.received]
    assert_no_secrets(text)
    assert not any(sig in text for sig in signatures)
    assert "push.example.com" not in text  # the URL is not even logged redacted


# ------------------------------------------------------------------- configuration


def test_endpoint_from_env() -> None:
    assert RTCClient.endpoint_from_env({}) == DEFAULT_ENDPOINT
    assert RTCClient.endpoint_from_env({"MPU_RTC_ENDPOINT": " "}) == DEFAULT_ENDPOINT
    env = {"MPU_RTC_ENDPOINT": "http://emulator:8080/"}
    assert RTCClient.endpoint_from_env(env) == "http://emulator:8080"
    with pytest.raises(ValueError):
        RTCClient.endpoint_from_env({"MPU_RTC_ENDPOINT": "emulator:8080"})


def test_given_session_is_used(fake_rtc: FakeRTC, creds: Credentials) -> None:
    session = requests.Session()
    session.headers["X-Test"] = "yes"
    client = RTCClient(fake_rtc.url, session=session)
    client.stop_mpu_task(creds, "a", "t")
    assert fake_rtc.received[0].headers["X-Test"] == "yes"
    assert fake_rtc.received[0].headers["User-Agent"].startswith("mpu-operator/")
    assert client.timeout == (3.05, 10.0)
