"""classify() as a table, and the scrubbing that keeps error texts safe to show."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mpu_operator.rtc import codes, errors
from mpu_operator.rtc.codes import ErrorKind
from mpu_operator.rtc.errors import RTCError, classify, scrub
from mpu_operator.rtc.signing import percent_encode

R, T, NF, AE, C = (ErrorKind.RETRYABLE, ErrorKind.TERMINAL, ErrorKind.NOT_FOUND,
                   ErrorKind.ALREADY_EXISTS, ErrorKind.CONFLICT)


@pytest.mark.parametrize(("code", "status", "message", "kind"), [
    # transport and server faults
    (errors.CLIENT_TIMEOUT, None, "", R),
    (errors.CLIENT_CONNECTION, None, "", R),
    ("Service.BuildSignature", 500, "", R),
    ("Whatever", 502, "", R),
    ("HTTP503", 503, "", R),
    (errors.NON_JSON_RESPONSE, 502, "", R),
    ("Throttling", 400, "", R),
    ("Throttling.User", 400, "", R),
    ("Throttling.Api", 503, "", R),
    ("Unknown", 429, "", R),
    ("Unknown", 408, "", R),
    (codes.SIGNATURE_NONCE_USED, 400, "", R),
    # a person must act
    (codes.ILLEGAL_SIGNATURE, 401, "", T),
    (codes.ILLEGAL_TIMESTAMP, 401, "", T),
    (codes.ILLEGAL_AUTH, 401, "", T),
    (codes.INVALID_ACCESS_KEY_ID, 404, "", T),
    ("InvalidAccessKeyId.Inactive", 403, "", T),
    (codes.APP_STOP, 200, "", T),
    (codes.APP_CHARGE_OVERDUE, 200, "", T),
    (codes.SERVICE_INACTIVE, 200, "", T),
    (codes.CHANNEL_EXCEEDS, 200, "", T),
    (codes.NO_APP_ID, 400, "", T),
    (codes.NO_CHANNEL_ID, 400, "", T),
    ("Request.InvalidChannelID", 400, "", T),
    (codes.MISSING_PARAMETER, 400, "", T),
    ("InvalidParameter.LayoutIds", 400, "", T),
    (codes.UNSUPPORTED_OPERATION, 400, "", T),
    (codes.SERVICE_NO_APP, 404, "", T),
    ("Anything", 400, "", T),
    ("Anything", 200, "", T),
    (errors.NON_JSON_RESPONSE, 200, "", T),
    (errors.NON_JSON_RESPONSE, 403, "", T),
    ("HTTP301", 301, "", T),
    (errors.INVALID_RESPONSE, 200, "", T),
    (errors.CLIENT_INVALID_ENDPOINT, None, "", T),
    # the task
    (codes.TASK_NOT_FOUND, 404, "", NF),
    (codes.TASK_NOT_FOUND, 400, "", NF),
    ("InvalidParameter", 400, "The task does not exist.", NF),
    ("Whatever", 400, "task not exist", NF),
    ("Whatever", 200, "TaskId abc: task not found", NF),
    ("Whatever", 400, "no such task", NF),
    ("Whatever", 500, "task not found", R),  # a server fault stays a server fault
    ("Channel.NoExist", 200, "频道不存在", T),  # the channel, not the task
    (codes.TASK_EXISTS, 400, "", AE),
    ("InvalidParameter", 400, "task already exists", AE),
    ("Whatever", 200, "The Task already exists, TaskId=x", AE),
    ("Throttling.User", 400, "task already exists", R),
    # wait, then retry
    (codes.STREAM_URL_IN_USE, 400, "", C),
    (codes.STREAM_URL_COOLING_DOWN, 400, "", C),
    (codes.TASK_QUOTA_EXCEEDED, 400, "", C),
])
def test_classify(code: str, status: int | None, message: str, kind: ErrorKind) -> None:
    assert classify(code, status, message) is kind


@given(code=st.text(max_size=30), status=st.none() | st.integers(100, 599),
       message=st.text(max_size=80))
def test_classify_is_total(code: str, status: int | None, message: str) -> None:
    assert classify(code, status, message) in set(ErrorKind)


URL = "rtmp://push.example.com:1935/live/s?auth_key=1-0-0-AUTHHASH&txSecret=Q"


@pytest.mark.parametrize("text", [
    f"bad url {URL}",
    f"bad url {percent_encode(URL)}",
    f"echo StreamURL={percent_encode(URL)}&TaskId=t",
    f"echo StreamURL%3D{percent_encode(percent_encode(URL))}%26TaskId%3Dt",
    '{"StreamURL": "' + URL + '"}',
])
def test_scrub_removes_stream_url_queries(text: str) -> None:
    out = scrub(text)
    assert "AUTHHASH" not in out and "txSecret" not in out


def test_scrub_keeps_the_safe_part_of_a_url() -> None:
    assert scrub(f"bad url {URL} here") == "bad url rtmp://push.example.com:1935/live/s here"


@pytest.mark.parametrize("text", [
    "AccessKeySecret=S3cr3tV&x=1", "SecurityToken%3DS3cr3tV%26", "Signature=S3cr3tV",
    "token: S3cr3tV", "x-acs-security-token=S3cr3tV",
])
def test_scrub_removes_secret_pairs(text: str) -> None:
    assert "S3cr3tV" not in scrub(text)


@given(secret=st.text(st.characters(codec="utf-8", categories=["L", "N", "P", "S"]),
                     min_size=4, max_size=30),
       before=st.text(" -", max_size=10), after=st.text(" -", max_size=10))
def test_scrub_removes_known_secrets_in_any_encoding(secret: str, before: str,
                                                     after: str) -> None:
    for form in (secret, percent_encode(secret), percent_encode(percent_encode(secret))):
        out = scrub(f"{before}{form}{after}", [secret], limit=10_000)
        assert form not in out.replace("[redacted]", "")


def test_scrub_makes_one_short_printable_line() -> None:
    out = scrub("a\nb\r\n\tc\x00d " + "x" * 1000)
    assert out.startswith("a b c d ") and len(out) == errors.MAX_MESSAGE
    assert out.endswith("…")


def test_html_excerpt() -> None:
    page = "<html><script>var s='x'</script><style>p{}</style><h1>502</h1> <p>Bad</p></html>"
    assert errors.html_excerpt(page) == "502 Bad"
    assert errors.html_excerpt("") == "(empty body)"


def test_error_text_and_fields() -> None:
    err = RTCError(action="StartMPUTask", code=codes.ILLEGAL_SIGNATURE, http_status=401,
                   message="Specified signature is not matched", request_id="RID")
    assert str(err) == ("StartMPUTask failed: Request.IllegalSignature (HTTP 401): "
                        "Specified signature is not matched [RequestId: RID]")
    assert err.kind is ErrorKind.TERMINAL and not err.retryable
    assert "kind=Terminal" in repr(err)
    no_answer = RTCError(action="StopMPUTask", code=errors.CLIENT_TIMEOUT, message="slow")
    assert str(no_answer) == "StopMPUTask failed: Client.Timeout (no HTTP response): slow"
    assert no_answer.retryable


def test_error_scrubs_its_message_on_construction() -> None:
    err = RTCError(action="A", code="X", message=f"url {URL} key S3cr3tV",
                   sensitive=["S3cr3tV", None])
    for text in (str(err), repr(err), err.message, *map(str, err.args)):
        assert "AUTHHASH" not in text and "S3cr3tV" not in text


def test_explicit_kind_wins() -> None:
    err = RTCError(action="A", code="X", message="", http_status=500, kind=ErrorKind.TERMINAL)
    assert err.kind is ErrorKind.TERMINAL
