"""The wire and the control side, by hand-made HTTP requests: what no SDK would send."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree

import pytest
import requests

from mpu_operator.emulator import EmulatorThread
from mpu_operator.emulator.auth import SignedRequest, authorization_acs3
from mpu_operator.rtc.signing import sign, signed_params, timestamp

from .conftest import fresh, short_config
from .sdk import KEY_ID, SECRET, Acs3Caller, Refused

pytestmark = pytest.mark.integration

XML_TYPE = "text/xml;charset=utf-8"
JSON_TYPE = "application/json;charset=utf-8"


def start_params(app: str | None = None, task: str | None = None) -> dict[str, str]:
    return {"Action": "StartMPUTask", "AppId": app or fresh("app"), "ChannelId": "ch",
            "TaskId": task or fresh("task"),
            "StreamURL": f"rtmp://push.example.com/live/{fresh('s')}?auth_key=k",
            "LayoutIds.1": "1", "MediaEncode": "20"}


def v1(action_params: dict[str, str], method: str = "POST",
       fmt: str | None = "JSON") -> dict[str, str]:
    params = signed_params(action_params, access_key_id=KEY_ID, access_key_secret=SECRET,
                           method=method, fmt=fmt or "JSON")
    if fmt is None:  # no Format at all: re-sign without it
        del params["Format"], params["Signature"]
        params["Signature"] = sign(method, params, SECRET)
    return params


def test_get_with_query_and_no_format_answers_xml(emu: EmulatorThread) -> None:
    response = requests.get(emu.url + "/", params=v1(start_params(), "GET", fmt=None),
                            timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == XML_TYPE
    assert ElementTree.fromstring(response.content).tag == "StartMPUTaskResponse"


def test_post_with_a_form_body(emu: EmulatorThread) -> None:
    params = v1(start_params())
    response = requests.post(emu.url + "/", data=params, timeout=5)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == JSON_TYPE
    assert set(response.json()) == {"RequestId"}


def test_acs3_asking_for_xml_gets_xml(emu: EmulatorThread) -> None:
    query = {"AppId": "a", "TaskId": "nope", "Format": "XML"}
    headers = {"host": emu.endpoint, "x-acs-action": "GetMPUTaskStatus",
               "x-acs-version": "2018-01-11", "x-acs-date": timestamp(),
               "x-acs-signature-nonce": uuid.uuid4().hex,
               "x-acs-content-sha256": hashlib.sha256(b"").hexdigest()}
    signed = SignedRequest("POST", "/", query, {}, {k: [v] for k, v in headers.items()}, b"")
    headers["Authorization"] = authorization_acs3(signed, KEY_ID, SECRET, list(headers))
    response = requests.post(emu.url + "/", params=query, headers=headers, timeout=5)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == XML_TYPE
    assert ElementTree.fromstring(response.content).findtext("Code") == "Service.NoTask"


def test_a_replayed_request_is_refused(emu: EmulatorThread) -> None:
    params = v1(start_params())
    assert requests.post(emu.url + "/", params=params, timeout=5).status_code == 200
    again = requests.post(emu.url + "/", params=params, timeout=5)
    assert (again.status_code, again.json()["Code"]) == (400, "SignatureNonceUsed")
    assert len(emu.tasks()) == 1


def test_unknown_action_as_the_reference_shows(emu: EmulatorThread) -> None:
    params = v1({"Action": "DescribeNothing"}, fmt="XML")
    response = requests.post(emu.url + "/", params=params, timeout=5)
    root = ElementTree.fromstring(response.content)
    assert response.status_code == 400
    assert [(c.tag, c.text) for c in root][1:] == [
        ("HostId", "rtc.aliyuncs.com"), ("Code", "UnsupportedOperation"),
        ("Message", "The specified action is not supported.")]


def test_missing_action_and_missing_signature(emu: EmulatorThread) -> None:
    response = requests.post(emu.url + "/", params=v1({}), timeout=5)
    assert response.json()["Code"] == "MissingParameter"
    response = requests.post(emu.url + "/", params={"Action": "StartMPUTask",
                                                    "Format": "JSON"}, timeout=5)
    body = response.json()
    assert (response.status_code, body["Code"]) == (400, "Request.NoSignature")
    assert set(body) == {"RequestId", "HostId", "Code", "Message"}


# -- the control side --------------------------------------------------------------------


def control(emu: EmulatorThread, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, emu.url + "/_emulator" + path, json=body, timeout=5)


def test_channel_users(emu: EmulatorThread) -> None:
    assert control(emu, "POST", "/apps/a/channels/c/users/u1").json()["users"] == ["u1"]
    assert control(emu, "POST", "/apps/a/channels/c/users/u2").json()["users"] == ["u1", "u2"]
    assert control(emu, "POST", "/apps/a/channels/c/users/u1").json()["users"] == ["u1", "u2"]
    assert control(emu, "DELETE", "/apps/a/channels/c/users/u1").json()["users"] == ["u2"]
    assert control(emu, "DELETE", "/apps/a/channels/c/users/zz").json()["users"] == ["u2"]
    assert control(emu, "GET", "/apps/a/channels/c").json()["users"] == ["u2"]


@pytest.mark.parametrize(("body", "status"), [
    ({"status": 7}, 400), ({"status": "5"}, 400), ("not json", 400), ({"status": 5}, 404)])
def test_fail_refusals(emu: EmulatorThread, body: Any, status: int) -> None:
    if body == "not json":
        response = requests.post(emu.url + "/_emulator/apps/a/tasks/t/fail", data="{",
                                 timeout=5)
    else:
        response = control(emu, "POST", "/apps/a/tasks/t/fail", body)
    assert response.status_code == status
    assert "error" in response.json()


@pytest.mark.parametrize("body", [{}, {"action": "Nope"}, {"action": "StartMPUTask", "http": 99},
                                  {"action": "StartMPUTask", "count": 0}, []])
def test_fault_refusals(emu: EmulatorThread, body: Any) -> None:
    assert control(emu, "POST", "/faults", body).status_code == 400


def test_faults_listed_and_cleared(emu: EmulatorThread) -> None:
    created = control(emu, "POST", "/faults", {"action": "*", "count": 2})
    assert created.status_code == 201
    assert created.json()["faults"][0]["code"] == "InternalError"
    assert control(emu, "GET", "/faults").json()["faults"][0]["count"] == 2
    control(emu, "DELETE", "/faults")
    assert control(emu, "GET", "/faults").json()["faults"] == []


def test_tasks_filter_stats_and_reset(emu: EmulatorThread) -> None:
    app = fresh("app")
    requests.post(emu.url + "/", params=v1(start_params(app)), timeout=5)
    requests.post(emu.url + "/", params=v1(start_params()), timeout=5)
    assert len(control(emu, "GET", "/tasks").json()["tasks"]) == 2
    assert [t["appId"] for t in control(emu, "GET", f"/tasks?appId={app}").json()["tasks"]] \
        == [app]
    requests.post(emu.url + "/", params=v1({**start_params(app), "ChannelId": "c2"}),
                  timeout=5)
    requests.post(emu.url + "/", params=v1({**start_params(), "ChannelId": "c3"}), timeout=5)
    assert sorted(t["channelId"] for t in emu.tasks(["c2", "c3"])) == ["c2", "c3"]
    assert [t["channelId"] for t in emu.tasks(["c2"])] == ["c2"]
    assert [t["channelId"] for t in control(
        emu, "GET", f"/tasks?appId={app}&channelId=c3&channelId=ch").json()["tasks"]] == ["ch"]
    assert len(emu.tasks()) == 4
    stats = control(emu, "GET", "/stats").json()
    assert stats["calls"] == {"StartMPUTask": 4} and stats["errors"] == {}
    assert {"urlRuleViolations", "quotaRefusals", "maxConcurrentTasks",
            "peakCallsPerSecond", "config"} <= set(stats)
    assert "testsecret" not in json.dumps(stats)
    control(emu, "POST", "/reset")
    assert control(emu, "GET", "/tasks").json()["tasks"] == []
    assert control(emu, "GET", "/stats").json()["calls"] == {}
    assert control(emu, "GET", "/health").json() == {"ok": True}


# -- limits ------------------------------------------------------------------------------


@pytest.fixture
def throttled() -> Iterator[EmulatorThread]:
    with EmulatorThread(short_config(qps=5)) as emulator:
        yield emulator


def test_qps_throttling(throttled: EmulatorThread) -> None:
    sdk = Acs3Caller(throttled.endpoint)
    outcomes: list[tuple[float, str]] = []
    began = time.monotonic()
    for _ in range(12):
        try:
            sdk.status("app", "t")
        except Refused as refusal:
            outcomes.append((time.monotonic() - began, refusal.code))
            if refusal.code == "Throttling.User":
                assert refusal.http == 400
    elapsed = time.monotonic() - began
    codes = [code for _, code in outcomes]
    accepted = codes.count("Service.NoTask")
    if elapsed < 1.0:  # all twelve inside one second: exactly five get through
        assert accepted == 5 and codes.count("Throttling.User") == 7
    assert throttled.stats()["errors"]["Throttling.User"] == codes.count("Throttling.User")
    raw = requests.post(throttled.url + "/", params=v1({"Action": "GetMPUTaskStatus"}),
                        timeout=5)
    if raw.status_code == 400 and raw.json()["Code"] == "Throttling.User":
        assert int(raw.headers["x-acs-retry-after"]) > 0


def test_latency() -> None:
    with EmulatorThread(short_config(latency_ms=150)) as emu:
        began = time.monotonic()
        requests.post(emu.url + "/", params=v1(start_params()), timeout=5)
        assert time.monotonic() - began >= 0.15
        began = time.monotonic()
        emu.tasks()  # control calls are not delayed
        assert time.monotonic() - began < 0.15


def test_authentication_comes_before_the_action(emu: EmulatorThread) -> None:
    """Fidelity: an unsigned call learns nothing about actions, not even unknown ones."""
    response = requests.post(emu.url + "/", params={"Action": "DescribeNothing",
                                                    "Format": "JSON"}, timeout=5)
    assert response.json()["Code"] == "Request.NoSignature"
