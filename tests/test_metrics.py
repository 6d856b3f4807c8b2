"""The metrics module, its hooks in the RTC client and rate limiter, the settings that turn
metrics and JSON logs on, and the JSON log formatter (no network, no operator)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from mpu_operator import jsonlog, logsafety
from mpu_operator.controller.settings import OperatorConfig, SettingsError
from mpu_operator.metrics import (
    ACTIONS,
    CODE_PATTERN,
    MAX_CODES,
    OK,
    OTHER,
    PHASES,
    PRIORITIES,
    Metrics,
    serve,
)
from mpu_operator.rtc.client import STATUS, RTCClient
from mpu_operator.rtc.credentials import Credentials
from mpu_operator.rtc.errors import CLIENT_TIMEOUT, RTCError
from mpu_operator.rtc.ratelimit import CONFIRM, URGENT, RateLimiter

SECRET_URL = "rtmp://user:pw-SENTINEL@push.example.com/live/x?auth_key=SENTINEL-q#frag"
CREDS = Credentials("keyid", "keysecret-SENTINEL")


def samples(metrics: Metrics, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """``{sorted label pairs: value}`` of one sample name, read back from the exposition."""
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return samples(metrics, name).get(tuple(sorted(labels.items())), 0.0)


def label_problems(text: str) -> list[str]:
    """Every label value must come from a closed set or be a sanitised service code."""
    closed = {"action": ACTIONS | {OTHER}, "priority": set(PRIORITIES.values()) | {OTHER},
              "phase": set(PHASES) | {OTHER}, "le": None, "code": None}
    problems = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            for key, val in sample.labels.items():
                allowed = closed.get(key, set())
                if key not in closed:
                    problems.append(f"{sample.name}: unexpected label {key}={val!r}")
                elif key == "code" and not CODE_PATTERN.fullmatch(val):
                    problems.append(f"{sample.name}: code {val!r}")
                elif allowed is not None and val not in allowed:
                    problems.append(f"{sample.name}: {key}={val!r}")
    return problems


# ------------------------------------------------------------------------ the module


def test_calls_are_counted_by_action_and_code_with_their_duration() -> None:
    m = Metrics()
    m.rtc_call(STATUS, OK, 0.02)
    m.rtc_call(STATUS, OK, 0.03)
    m.rtc_call(STATUS, "Throttling", 0.5)
    assert value(m, "mpu_rtc_api_calls_total", action=STATUS, code="OK") == 2
    assert value(m, "mpu_rtc_api_calls_total", action=STATUS, code="Throttling") == 1
    assert value(m, "mpu_rtc_api_call_duration_seconds_count", action=STATUS) == 3
    assert value(m, "mpu_rtc_api_call_duration_seconds_sum", action=STATUS) == \
        pytest.approx(0.55)


@pytest.mark.parametrize(("code", "label"), [
    ("OK", "OK"), ("Throttling", "Throttling"), ("Client.Timeout", "Client.Timeout"),
    ("HTTP503", "HTTP503"), ("", OTHER), ("a b", OTHER), ("x" * 65, OTHER),
    (SECRET_URL, OTHER), ("code?auth_key=1", OTHER), ("Ünïcode", OTHER), ("a\nb", OTHER),
])
def test_codes_are_sanitised(code: str, label: str) -> None:
    assert Metrics().code_label(code) == label


def test_the_number_of_codes_is_bounded() -> None:
    m = Metrics()
    for i in range(MAX_CODES + 20):
        m.rtc_call(STATUS, f"Made.Up{i}", 0.01)
    m.rtc_call(STATUS, "Made.Up0", 0.01)  # one already seen keeps its label
    codes = {dict(k)["code"] for k in samples(m, "mpu_rtc_api_calls_total")}
    assert len(codes) == MAX_CODES + 1 and OTHER in codes
    assert value(m, "mpu_rtc_api_calls_total", action=STATUS, code=OTHER) == 20
    assert value(m, "mpu_rtc_api_calls_total", action=STATUS, code="Made.Up0") == 2


@given(st.text(max_size=200), st.text(max_size=80))
def test_no_label_ever_carries_anything_but_closed_values_or_codes(code: str,
                                                                   action: str) -> None:
    m = Metrics()
    m.rtc_call(action, code, 0.1)
    m.rtc_call(action, SECRET_URL, 0.1)
    m.task_phase("ns", "name?x=1", action)
    text = m.render().decode()
    assert label_problems(text) == []
    assert "SENTINEL" not in text and "://" not in text


def test_phases_count_objects_as_last_reported_and_deleted_ones_drop_out() -> None:
    m = Metrics()
    assert value(m, "mpu_tasks", phase="Running") == 0  # every phase shows from the start
    m.task_phase("a", "one", "Pending")
    m.task_phase("a", "two", "Pending")
    m.task_phase("a", "one", "Running")
    m.task_phase("a", "one", "Running")  # reported again: counted once
    assert value(m, "mpu_tasks", phase="Pending") == 1
    assert value(m, "mpu_tasks", phase="Running") == 1
    m.task_gone("a", "one")
    m.task_gone("a", "one")  # twice (Finish, then the DELETED event): no negative count
    m.task_gone("a", "never-seen")
    assert value(m, "mpu_tasks", phase="Running") == 0
    assert sum(samples(m, "mpu_tasks").values()) == 1


def test_counters_and_registries_are_independent() -> None:
    first, second = Metrics(), Metrics()
    first.url_wait()
    first.task_restarted()
    first.task_restarted()
    first.reconcile_error()
    assert value(first, "mpu_url_waits_total") == 1
    assert value(first, "mpu_task_restarts_total") == 2
    assert value(first, "mpu_reconcile_errors_total") == 1
    assert value(second, "mpu_task_restarts_total") == 0


def test_serve_answers_metrics_over_http_and_stops() -> None:
    m = Metrics()
    m.url_wait()
    server = serve(0, m, address="127.0.0.1")
    assert server is not None
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics",
                                    timeout=5) as response:
            text = response.read().decode()
        assert "mpu_url_waits_total 1.0" in text
    finally:
        server.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=2)


def test_serve_is_off_without_a_port_and_a_taken_port_is_an_error() -> None:
    assert serve(None, Metrics()) is None
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            serve(taken.getsockname()[1], Metrics(), address="127.0.0.1")


# ------------------------------------------------------------------------ the hooks


class _Session:
    """A requests.Session stand-in: answers ``body`` with ``status``, or raises ``exc``."""

    def __init__(self, status: int = 200, body: dict[str, Any] | None = None,
                 exc: Exception | None = None) -> None:
        self.status, self.body, self.exc = status, body or {}, exc

    def post(self, *args: Any, **kwargs: Any) -> requests.Response:
        if self.exc is not None:
            raise self.exc
        response = requests.Response()
        response.status_code = self.status
        response._content = json.dumps(self.body).encode()
        response.headers["Content-Type"] = "application/json"
        return response


@pytest.mark.parametrize(("session", "code"), [
    (_Session(body={"RequestId": "r", "Status": 1}), "OK"),
    (_Session(400, {"Code": "Throttling", "Message": f"slow down {SECRET_URL}"}),
     "Throttling"),
    (_Session(exc=requests.Timeout("read timed out")), CLIENT_TIMEOUT),
    (_Session(500, {"Code": SECRET_URL, "Message": "odd"}), OTHER),
])
def test_the_client_reports_every_call(session: _Session, code: str) -> None:
    m = Metrics()
    client = RTCClient("http://rtc.invalid", on_call=m.rtc_call,
                       session=session)  # type: ignore[arg-type]
    with contextlib.suppress(RTCError):
        client.get_mpu_task_status(CREDS, "app", "task")
    assert value(m, "mpu_rtc_api_calls_total", action=STATUS, code=code) == 1
    assert "SENTINEL" not in m.render().decode()


def test_a_failing_observer_never_fails_the_call() -> None:
    def broken(action: str, code: str, seconds: float) -> None:
        raise RuntimeError("metrics broke")

    client = RTCClient("http://rtc.invalid", on_call=broken,
                       session=_Session(body={"RequestId": "r", "Status": 1}))  # type: ignore[arg-type]
    assert client.get_mpu_task_status(CREDS, "app", "task").status == 1


def test_the_limiter_reports_each_grant_with_its_wait() -> None:
    m = Metrics()
    now = [0.0]
    limiter = RateLimiter(rate=1.0, clock=lambda: now[0], on_wait=m.limiter_waited)

    async def two() -> None:
        await limiter.acquire(URGENT)  # nothing granted before: no wait
        waiting = asyncio.ensure_future(limiter.acquire(CONFIRM))
        await asyncio.sleep(0.05)
        now[0] = 2.0
        limiter.wake()
        await waiting

    asyncio.run(two())
    assert value(m, "mpu_rate_limiter_wait_seconds_count", priority="urgent") == 1
    assert value(m, "mpu_rate_limiter_wait_seconds_count", priority="confirm") == 1
    assert value(m, "mpu_rate_limiter_wait_seconds_count", priority="routine") == 0
    assert value(m, "mpu_rate_limiter_wait_seconds_sum", priority="confirm") >= 0.04
    assert value(m, "mpu_rate_limiter_wait_seconds_sum", priority="urgent") < 0.04


# ---------------------------------------------------------------------- the settings


def test_metrics_and_log_format_are_off_and_plain_by_default() -> None:
    config = OperatorConfig.from_env({})
    assert config.metrics_port is None and config.log_format == "plain"
    config = OperatorConfig.from_env({"MPU_METRICS_PORT": " 8080 ", "MPU_LOG_FORMAT": "JSON"})
    assert config.metrics_port == 8080 and config.log_format == "json"


@pytest.mark.parametrize(("env", "fragment"), [
    ({"MPU_METRICS_PORT": "0"}, "MPU_METRICS_PORT='0': must be a port number 1-65535"),
    ({"MPU_METRICS_PORT": "65536"}, "MPU_METRICS_PORT='65536': must be a port"),
    ({"MPU_METRICS_PORT": "-1"}, "MPU_METRICS_PORT='-1'"),
    ({"MPU_METRICS_PORT": "80.5"}, "MPU_METRICS_PORT='80.5'"),
    ({"MPU_METRICS_PORT": "http"}, "MPU_METRICS_PORT='http'"),
    ({"MPU_METRICS_PORT": "٨٠"}, "MPU_METRICS_PORT="),  # Arabic-Indic digits: isdigit()
    ({"MPU_METRICS_PORT": "9" * 5000}, "..."),
    ({"MPU_LOG_FORMAT": "xml"}, "MPU_LOG_FORMAT='xml': must be one of plain, json"),
])
def test_bad_values_name_the_variable_and_the_rule(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError) as info:
        OperatorConfig.from_env(env)
    assert fragment in str(info.value) and "\n" not in str(info.value)


# ------------------------------------------------------------------------- JSON logs


@pytest.fixture
def json_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(jsonlog.ObjectJsonFormatter())
    log = logging.getLogger("tests.jsonlog")
    log.handlers[:] = [handler]
    log.propagate, log.level = False, logging.DEBUG
    yield log, stream
    log.handlers.clear()
    jsonlog.forget("ns", "obj")


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_lines_inside_a_step_name_the_object_and_its_task_id(json_log) -> None:
    log, stream = json_log
    log.info("before")
    jsonlog.note_task_id("ns", "obj", "mpu-obj-1")
    with jsonlog.about("ns", "obj"):
        log.warning("inside %s", "the step")
    log.info("after")
    before, inside, after = lines(stream)
    assert "namespace" not in before and "namespace" not in after
    assert inside["message"] == "inside the step" and inside["severity"] == "warn"
    assert (inside["namespace"], inside["name"], inside["taskId"]) == ("ns", "obj", "mpu-obj-1")
    assert inside["logger"] == "tests.jsonlog" and inside["timestamp"]


def test_kopf_object_lines_get_the_task_id_too(json_log) -> None:
    log, stream = json_log
    jsonlog.note_task_id("ns", "obj", "mpu-obj-2")
    ref = {"apiVersion": "v1", "kind": "MPUTask", "name": "obj", "namespace": "ns", "uid": "u"}
    log.info("Handler succeeded.", extra={"k8s_ref": ref, "k8s_skip": True, "settings": 1})
    (line,) = lines(stream)
    assert (line["namespace"], line["name"], line["taskId"]) == ("ns", "obj", "mpu-obj-2")
    assert not {"k8s_ref", "k8s_skip", "settings"} & set(line)


def test_no_url_secret_reaches_a_json_line(json_log) -> None:
    """Neither through the message, its arguments, an extra field nor a traceback."""
    log, stream = json_log
    log.info("starting %s", SECRET_URL, extra={"url": SECRET_URL, "nested": {"u": [SECRET_URL]}})
    try:
        raise ValueError(f"bad {SECRET_URL}")
    except ValueError:
        log.exception("failed")
    text = stream.getvalue()
    assert "SENTINEL" not in text and "frag" not in text
    first, second = lines(stream)
    assert "push.example.com/live/x" in first["message"]
    assert "ValueError" in second["exc_info"]


def test_install_switches_root_handlers_only_when_asked() -> None:
    root = logging.getLogger()
    handler = logging.StreamHandler(io.StringIO())
    root.addHandler(handler)
    try:
        assert not jsonlog.install({"MPU_LOG_FORMAT": "plain"})
        assert not isinstance(handler.formatter, jsonlog.ObjectJsonFormatter)
        assert jsonlog.install({"MPU_LOG_FORMAT": " Json "})
        assert isinstance(handler.formatter, jsonlog.ObjectJsonFormatter)
    finally:
        root.removeHandler(handler)


def test_scrubbing_keeps_json_valid_for_hostile_text(json_log) -> None:
    log, stream = json_log
    logsafety.remember("pa\"ss\\word")
    try:
        log.info('{"u": "%s", "x": "pa\\"ss\\\\word"} \\u0026 %s', SECRET_URL, "pa\"ss\\word")
    finally:
        logsafety.forget_all()
    (line,) = lines(stream)
    assert "SENTINEL" not in line["message"] and "ss\\word" not in line["message"]


# ------------------------------------------------------------------ reconcile errors


def test_an_unexpected_error_in_a_step_is_counted_and_retried() -> None:
    from types import SimpleNamespace

    from mpu_operator.controller import handlers
    from mpu_operator.controller import reconciler as rc

    m = Metrics()
    ctx = SimpleNamespace(metrics=m)
    broken_body: Any = None  # _inputs cannot read it: a TypeError inside the step

    async def one_step() -> float | None:
        return await handlers._guarded_step(
            ctx, rc.ObjectState(), broken_body, deleting=False,  # type: ignore[arg-type]
            logger=logging.getLogger("tests.reconcile"))  # type: ignore[arg-type]

    assert asyncio.run(one_step()) == 5.0
    assert value(m, "mpu_reconcile_errors_total") == 1
