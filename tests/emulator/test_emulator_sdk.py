"""Both official SDKs against the emulator over loopback HTTP, unchanged but for the endpoint.

Parametrised over ``aliyun-python-sdk-rtc`` (signature v1, parameters in the query) and
``alibabacloud-rtc20180111`` (ACS3 headers, its default settings).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from xml.etree import ElementTree

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.request import CommonRequest

from mpu_operator.emulator import EmulatorThread

from .conftest import COOLDOWN, IDLE, QUOTA, fresh, short_config
from .sdk import (
    CALLERS,
    Acs3Caller,
    Caller,
    Refused,
    V1Caller,
    acs3_call,
    acs3_update_task,
    v1_start,
    v1_status,
    v1_stop,
    v1_update_layout,
    wait_for,
)

pytestmark = pytest.mark.integration


@pytest.fixture(params=sorted(CALLERS))
def caller(request: pytest.FixtureRequest, emu: EmulatorThread) -> Caller:
    return CALLERS[request.param](emu.endpoint)


def url(name: str | None = None, auth: str = "auth_key=1700000000-0-0-deadbeef") -> str:
    return f"rtmp://push.example.com/live/{name or fresh('s')}?{auth}"


def refused(code: str, call: object, *args: object, http: int | None = None) -> Refused:
    with pytest.raises(Refused) as caught:
        call(*args)  # type: ignore[operator]
    assert caught.value.code == code, caught.value
    if http is not None:
        assert caught.value.http == http, caught.value
    return caught.value


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- every action, JSON ------------------------------------------------------------------


def test_every_action_and_the_status_life_cycle(caller: Caller, emu: EmulatorThread) -> None:
    app, channel, task = fresh("app"), fresh("ch"), fresh("task")
    started = caller.start(app, channel, task, url(), layouts=[1, 2, 6])
    assert set(started) == {"RequestId"}
    assert caller.status(app, task) == 0
    emu.join(app, channel, "alice")
    assert caller.status(app, task) == 1
    caller.update(app, task, [1, 6])
    caller.stop(app, task)
    assert caller.status(app, task) == 3
    record = emu.task(task, app)
    assert record["layoutIds"] == [1, 6] and record["status"] == 3
    assert record["streamURL"].startswith("rtmp://push.example.com/live/")
    assert "auth_key" not in record["streamURL"]
    assert record["taskProfile"] == "16IN_1080P" and record["taskProfileSent"] is False
    assert parse_time(record["stoppedAt"]) >= parse_time(record["startedAt"])
    actions = [h["action"] for h in record["history"]]
    assert actions[0] == "StartMPUTask" and actions[-1] == "GetMPUTaskStatus"
    assert history_request_ids(record) and started["RequestId"] in history_request_ids(record)


def history_request_ids(record: dict[str, object]) -> set[str]:
    return {h["requestId"] for h in record["history"] if h["requestId"]}  # type: ignore[attr-defined,index]


def test_idle_stop_after_the_channel_empties(caller: Caller, emu: EmulatorThread) -> None:
    app, channel, task = fresh("app"), fresh("ch"), fresh("task")
    emu.join(app, channel, "alice")
    caller.start(app, channel, task, url())
    assert caller.status(app, task) == 1
    emu.leave(app, channel, "alice")
    assert caller.status(app, task) == 1  # the grace period
    wait_for(lambda: caller.status(app, task) == 4, timeout=5)
    record = emu.task(task, app)
    emptied = next(h["time"] for h in record["history"]
                   if h["action"] == "emulator:channel-emptied")
    idle = (parse_time(record["stoppedAt"]) - parse_time(emptied)).total_seconds()
    assert idle == pytest.approx(IDLE, abs=1e-3)


@pytest.mark.parametrize("status", [5, 6])
def test_injected_failures_show_in_status(caller: Caller, emu: EmulatorThread,
                                          status: int) -> None:
    app, task = fresh("app"), fresh("task")
    caller.start(app, fresh("ch"), task, url())
    emu.fail(app, task, status)
    assert caller.status(app, task) == status


def test_the_acs3_sdks_own_update_method_is_served(emu: EmulatorThread) -> None:
    """Neither SDK has UpdateMPULayout; the new one's update_mputask sends UpdateMPUTask."""
    sdk = Acs3Caller(emu.endpoint)
    app, task = fresh("app"), fresh("task")
    sdk.start(app, fresh("ch"), task, url())
    acs3_update_task(sdk.client, app, task, [6])
    assert emu.task(task, app)["layoutIds"] == [6]
    assert emu.stats()["calls"]["UpdateMPUTask"] == 1


# -- XML ---------------------------------------------------------------------------------


def xml(body: object) -> ElementTree.Element:
    assert isinstance(body, str) and body.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ElementTree.fromstring(body.encode())


def test_every_action_in_xml(emu: EmulatorThread) -> None:
    sdk = V1Caller(emu.endpoint)
    app, channel, task = fresh("app"), fresh("ch"), fresh("task")
    emu.join(app, channel, "u")
    root = xml(v1_start(sdk.client, app, channel, task, url(), fmt="XML"))
    assert root.tag == "StartMPUTaskResponse" and root.findtext("RequestId")
    root = xml(v1_status(sdk.client, app, task, fmt="XML"))
    assert root.tag == "GetMPUTaskStatusResponse" and root.findtext("Status") == "1"
    root = xml(v1_update_layout(sdk.client, emu.endpoint, app, task, [6], fmt="XML"))
    assert root.tag == "UpdateMPULayoutResponse"
    root = xml(v1_stop(sdk.client, app, task, fmt="XML"))
    assert root.tag == "StopMPUTaskResponse"
    root = xml(v1_status(sdk.client, app, task, fmt="XML"))
    assert root.findtext("Status") == "3"


def test_errors_in_xml(emu: EmulatorThread) -> None:
    sdk = V1Caller(emu.endpoint)
    root = xml(v1_status(sdk.client, fresh("app"), "nope", fmt="XML"))
    assert root.tag == "Error"
    assert [child.tag for child in root] == ["RequestId", "HostId", "Code", "Message"]
    assert root.findtext("Code") == "Service.NoTask"
    assert root.findtext("HostId") == "rtc.aliyuncs.com"


# -- rejections --------------------------------------------------------------------------


def test_wrong_secret_and_unknown_key(emu: EmulatorThread) -> None:
    for kind in CALLERS.values():
        wrong = kind(emu.endpoint, secret="not-the-secret")
        refused("Request.IllegalSignature", wrong.status, "app", "t", http=401)
        stranger = kind(emu.endpoint, key_id="stranger")
        refused("InvalidAccessKeyId.NotFound", stranger.status, "app", "t", http=404)


def test_task_already_exists_even_after_it_stopped(caller: Caller, emu: EmulatorThread) -> None:
    app, task = fresh("app"), fresh("task")
    caller.start(app, fresh("ch"), task, url())
    error = refused("Request.ExistTask", caller.start, app, fresh("ch"), task, url(), http=400)
    assert "task already exists" in error.message
    caller.stop(app, task)
    refused("Request.ExistTask", caller.start, app, fresh("ch"), task, url())
    outcomes = [h["outcome"] for h in emu.task(task, app)["history"]]
    assert outcomes.count("Request.ExistTask") == 2


def test_unknown_task(caller: Caller) -> None:
    app = fresh("app")
    refused("Service.NoTask", caller.status, app, "never-started", http=404)
    refused("Service.NoTask", caller.stop, app, "never-started", http=404)
    refused("Service.NoTask", caller.update, app, "never-started", [1], http=404)


def test_update_of_a_stopped_task(caller: Caller) -> None:
    app, task = fresh("app"), fresh("task")
    caller.start(app, fresh("ch"), task, url())
    caller.stop(app, task)
    refused("Service.NoTask", caller.update, app, task, [1], http=404)


@pytest.mark.parametrize(("field", "value", "code"), [
    ("task", "bad task!", "Request.InvalidTaskId"),
    ("task", "x" * 56, "Request.InvalidTaskId"),
    ("layouts", [2, 3], "Request.InvalidLayoutIds"),
    ("url", "http://not-rtmp.example.com/x", "Request.InvalidStreamURL"),
])
def test_parameter_rules_through_the_sdks(caller: Caller, field: str, value: object,
                                          code: str) -> None:
    args: dict[str, object] = {"app": fresh("app"), "channel": fresh("ch"),
                               "task": fresh("task"), "url": url(), "layouts": [1]}
    args[field] = value
    refused(code, lambda: caller.start(**args), http=400)  # type: ignore[arg-type]


def test_update_parameter_rules(emu: EmulatorThread) -> None:
    sdk = V1Caller(emu.endpoint)
    app, task = fresh("app"), fresh("task")
    sdk.start(app, fresh("ch"), task, url())
    for extra, code in [({"CropMode": "3"}, "Request.InvalidCropMode"),
                        ({"CropMode": "0"}, None),
                        ({"BackgroundColor": str(0x1000000)}, "Request.InvalidBackgroundColor"),
                        ({"UserPanels.1.PanelId": "0", "UserPanels.1.UserId": "a"}, None)]:
        if code is None:
            v1_update_layout(sdk.client, emu.endpoint, app, task, [1], extra=extra)
        else:
            refused(code, v1_update_layout, sdk.client, emu.endpoint, app, task, [1], "JSON",
                    extra)
    assert emu.task(task, app)["userPanes"] == [
        {"paneId": 0, "userId": "a", "sourceType": "camera", "images": [], "texts": []}]


def test_task_profile_through_the_old_sdk(emu: EmulatorThread) -> None:
    """Neither SDK has a TaskProfile setter; the old one can add any query parameter."""
    sdk = V1Caller(emu.endpoint)
    app, task = fresh("app"), fresh("task")
    v1_start(sdk.client, app, fresh("ch"), task, url(), layouts=[6],
             extra={"TaskProfile": "4IN_720P"})
    record = emu.task(task, app)
    assert (record["taskProfile"], record["taskProfileSent"]) == ("4IN_720P", True)
    with pytest.raises(Refused) as caught:
        v1_start(sdk.client, app, fresh("ch"), fresh("task"), url(), layouts=[6],
                 extra={"TaskProfile": "2IN_720P"})
    assert caught.value.code == "Request.InvalidTaskProfile"


def test_unsupported_operation_and_version(emu: EmulatorThread) -> None:
    sdk = Acs3Caller(emu.endpoint)
    error = refused("UnsupportedOperation", acs3_call, sdk.client, "DescribeApps", {}, http=400)
    assert error.message.startswith("code: 400, The specified action is not supported.")
    v1 = V1Caller(emu.endpoint)
    request = CommonRequest(domain=emu.endpoint, version="2020-01-01",
                            action_name="GetMPUTaskStatus", product="rtc")
    request.add_query_param("AppId", "a")
    request.add_query_param("TaskId", "t")
    request.set_protocol_type("http")
    with pytest.raises(ServerException) as caught:
        v1.client.do_action_with_exception(request)
    assert caught.value.get_error_code() == "InvalidVersion"


# -- the URL rules and the quota ---------------------------------------------------------


def test_url_in_use_and_a_query_only_difference_is_the_same_url(
        caller: Caller, emu: EmulatorThread) -> None:
    app, name = fresh("app"), fresh("s")
    holder = fresh("task")
    caller.start(app, fresh("ch"), holder, url(name, "auth_key=one"))
    error = refused("Request.StreamURLInUse", caller.start, fresh("app"), fresh("ch"),
                    fresh("task"), url(name, "auth_key=two"), http=400)
    assert holder in error.message and "auth_key" not in error.message
    assert emu.stats()["urlRuleViolations"] == 1


def test_url_cooldown_then_free(caller: Caller, emu: EmulatorThread) -> None:
    app, name, first = fresh("app"), fresh("s"), fresh("task")
    caller.start(app, fresh("ch"), first, url(name))
    caller.stop(app, first)
    error = refused("Request.StreamURLCoolingDown", caller.start, app, fresh("ch"),
                    fresh("task"), url(name), http=400)
    assert "may be used again at" in error.message
    stopped_at = parse_time(emu.task(first, app)["stoppedAt"])
    second = fresh("task")

    def restarted() -> bool:
        try:
            caller.start(app, fresh("ch"), second, url(name))
        except Refused as refusal:
            assert refusal.code == "Request.StreamURLCoolingDown"
            return False
        return True

    wait_for(restarted, timeout=5, interval=0.05)
    gap = (parse_time(emu.task(second, app)["startedAt"]) - stopped_at).total_seconds()
    assert gap >= COOLDOWN
    assert emu.stats()["urlRuleViolations"] >= 1


def test_quota(caller: Caller, emu: EmulatorThread) -> None:
    app = fresh("app")
    tasks = [fresh("task") for _ in range(QUOTA)]
    for task in tasks:
        caller.start(app, fresh("ch"), task, url())
    refused("Request.TaskQuotaExceeded", caller.start, app, fresh("ch"), fresh("task"), url(),
            http=400)
    caller.start(fresh("app"), fresh("ch"), fresh("task"), url())  # quota is per app
    caller.stop(app, tasks[0])
    caller.start(app, fresh("ch"), fresh("task"), url())
    stats = emu.stats()
    assert stats["quotaRefusals"] == 1
    assert stats["maxConcurrentTasks"] == QUOTA
    assert stats["config"]["maxConcurrentTasks"] == QUOTA


# -- faults ------------------------------------------------------------------------------


def test_fault_fails_the_next_n_calls(caller: Caller, emu: EmulatorThread) -> None:
    app, task = fresh("app"), fresh("task")
    caller.start(app, fresh("ch"), task, url())
    emu.fault("GetMPUTaskStatus", code="Service.Unavailable", http=503, count=2)
    for _ in range(2):
        refused("Service.Unavailable", caller.status, app, task, http=503)
    assert caller.status(app, task) == 0
    stats = emu.stats()
    assert stats["faultsInjected"] == 2 and stats["errors"]["Service.Unavailable"] == 2
    outcomes = [h["outcome"] for h in emu.task(task, app)["history"]]
    assert outcomes.count("Service.Unavailable") == 2


def test_fault_with_http_200(emu: EmulatorThread) -> None:
    """Chapter 9: some errors come with HTTP 200; a client must look for Code in the body."""
    sdk = V1Caller(emu.endpoint)
    emu.fault("StartMPUTask", code="Service.Inactive", http=200)
    body = v1_start(sdk.client, fresh("app"), fresh("ch"), fresh("task"), url())
    assert isinstance(body, dict) and body["Code"] == "Service.Inactive"
    assert emu.tasks() == []


@pytest.fixture
def timeout_emulator() -> Iterator[EmulatorThread]:
    with EmulatorThread(short_config(fault_hold_seconds=5)) as emulator:
        yield emulator


@pytest.mark.parametrize("applied", [False, True])
def test_timeout_fault(timeout_emulator: EmulatorThread, applied: bool) -> None:
    emu = timeout_emulator
    v1 = V1Caller(emu.endpoint, timeout=0.3, auto_retry=False)
    acs3 = Acs3Caller(emu.endpoint, read_timeout=300)
    emu.fault("StartMPUTask", timeout=True, count=2, applied=applied)
    app = fresh("app")
    with pytest.raises(Refused) as caught:
        v1.start(app, fresh("ch"), "t-v1", url())
    assert caught.value.code == "SDK.HttpError"
    with pytest.raises(Exception, match=r"(?i)timed? ?out"):
        acs3.start(app, fresh("ch"), "t-acs3", url())
    ids = sorted(t["taskId"] for t in emu.tasks())
    assert ids == (["t-acs3", "t-v1"] if applied else [])
    assert emu.stats()["timeoutsInjected"] == 2
    v1.start(app, fresh("ch"), "t-after", url())  # faults used up
