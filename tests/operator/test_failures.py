"""Failures: a killed operator, service faults, bad credentials, invalid specs, restart
policies. Leaks and duplicates are counted at the RTC emulator."""

from __future__ import annotations

import base64

import pytest

from tests.operator.conftest import FAST
from tests.operator.harness import (
    APP,
    KIND,
    condition,
    manifest,
    status,
    tasks_of,
    wait_phase,
)

#: Integration scenarios; portable: they run unchanged on a real cluster (make e2e).
pytestmark = [pytest.mark.integration, pytest.mark.portable]


def _secret(name: str, namespace: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name,
            "namespace": namespace},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


def _write_ahead_seen(kube, namespace: str, name: str):
    st = status(kube, namespace, name)
    return st if (st.get("internal") or {}).get("state") == "Starting" and st.get("taskId") \
        else None


@pytest.mark.rtc(**FAST)
@pytest.mark.parametrize("service_saw_it", [True, False], ids=["started", "not-started"])
def test_an_operator_killed_mid_start_neither_duplicates_nor_leaks(
        kube, namespace, rtc, start_operator, service_saw_it) -> None:
    rtc.fault("StartMPUTask", timeout=True, applied=service_saw_it)
    first = start_operator()
    kube.create(manifest("crash", namespace))
    written = kube.wait_for(lambda: _write_ahead_seen(kube, namespace, "crash"), 30,
                            "the write-ahead TaskId in status")
    kube.wait_for(lambda: rtc.stats()["timeoutsInjected"] == 1, 10, "the held Start call")
    first.kill()
    assert len(tasks_of(rtc, "ch-crash")) == (1 if service_saw_it else 0)

    start_operator()
    st = wait_phase(kube, namespace, "crash", "Waiting", timeout=40)
    tasks = tasks_of(rtc, "ch-crash")
    assert len(tasks) == 1, f"expected exactly one task, the service has {len(tasks)}"
    assert tasks[0]["taskId"] == st["taskId"]
    if service_saw_it:
        assert st["taskId"] == written["taskId"]  # adopted, not started again
    kube.delete(KIND, namespace, "crash")
    kube.wait_for(lambda: kube.find(KIND, namespace, "crash") is None, 20, "the object to go")
    assert rtc.stats()["liveTasks"] == 0, "a task outlived its resource"


@pytest.mark.rtc(**FAST)
def test_server_errors_and_timeouts_are_retried(kube, namespace, rtc, operator) -> None:
    rtc.fault("StartMPUTask", code="ServiceUnavailable", http=503, count=2)
    rtc.fault("GetMPUTaskStatus", timeout=True, count=1)
    kube.create(manifest("flaky", namespace))
    st = wait_phase(kube, namespace, "flaky", "Waiting", timeout=60)
    assert len(tasks_of(rtc, "ch-flaky")) == 1
    assert rtc.stats()["errors"].get("ServiceUnavailable") == 2
    assert condition(st, "Stalled")["status"] == "False"
    failures = [e for e in kube.events(namespace, "flaky") if e["reason"] == "StartFailed"]
    assert failures and "ServiceUnavailable" in failures[0]["message"]
    assert "RequestId" in failures[0]["message"]


@pytest.mark.rtc(**FAST)
def test_an_invalid_spec_never_reaches_the_service_and_recovers_when_fixed(
        kube, namespace, rtc, operator) -> None:
    kube.create(manifest("bad", namespace, layout={"layoutIds": [1, 2, 3]}))
    st = wait_phase(kube, namespace, "bad", "Failed")
    stalled = condition(st, "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "InvalidSpec")
    assert "layout.layoutIds" in stalled["message"] and "pane" in stalled["message"]
    assert rtc.stats()["calls"].get("StartMPUTask", 0) == 0
    kube.patch(KIND, namespace, "bad", {"spec": {"layout": {"layoutIds": [1, 2]}}})
    st = wait_phase(kube, namespace, "bad", "Waiting")
    assert condition(st, "Stalled")["status"] == "False"


@pytest.mark.rtc(**FAST)
def test_rejected_credentials_stall_with_the_code_and_heal_when_the_secret_is_fixed(
        kube, namespace, rtc, operator) -> None:
    kube.create(_secret("creds", namespace, accessKeyId="testid", accessKeySecret="wrong"))
    kube.create(manifest("keys", namespace, credentialsRef={"name": "creds"}))
    st = wait_phase(kube, namespace, "keys", "Failed", timeout=30)
    stalled = condition(st, "Stalled")
    assert stalled["status"] == "True" and "Request.IllegalSignature" in stalled["message"]
    assert "wrong" not in str(st)
    kube.patch("secrets", namespace, "creds", {"data": {"accessKeySecret": base64.b64encode(
        b"testsecret").decode()}})
    wait_phase(kube, namespace, "keys", "Waiting", timeout=60)


@pytest.mark.rtc(**FAST)
def test_a_missing_secret_waits_and_starts_once_it_exists(kube, namespace, rtc,
                                                          operator) -> None:
    spec = manifest("fromsecret", namespace)
    del spec["spec"]["streamURL"]
    spec["spec"]["streamURLFrom"] = {"secretKeyRef": {"name": "stream", "key": "url"}}
    kube.create(spec)
    st = wait_phase(kube, namespace, "fromsecret", "Pending", reason="SecretNotFound")
    assert "stream" in condition(st, "Ready")["message"]
    kube.create(_secret("stream", namespace,
                        url="rtmp://push.example.com/live/sec?auth_key=authkey-SENTINEL-0f3c"))
    st = wait_phase(kube, namespace, "fromsecret", "Waiting")
    assert st["streamURL"] == "rtmp://push.example.com/live/sec"


@pytest.mark.rtc(idle_stop_seconds=0.5, **FAST)
def test_restart_policy_always_restarts_after_the_channel_stops(kube, namespace, rtc,
                                                                operator) -> None:
    kube.create(manifest("always", namespace, restartPolicy="Always"))
    rtc.join(APP, "ch-always", "alice")
    first = wait_phase(kube, namespace, "always", "Running")
    rtc.leave(APP, "ch-always", "alice")
    st = kube.wait_for(lambda: (s := status(kube, namespace, "always")).get(
        "restartCount") == 1 and s.get("phase") == "Waiting" and s, 40, "a restart")
    assert st["taskId"] != first["taskId"]
    assert sorted(t["status"] for t in tasks_of(rtc, "ch-always"))[-1] == 4


@pytest.mark.rtc(idle_stop_seconds=0.5, **FAST)
def test_on_failure_does_not_restart_after_a_normal_channel_end(kube, namespace, rtc,
                                                                operator) -> None:
    kube.create(manifest("ends", namespace))
    rtc.join(APP, "ch-ends", "alice")
    wait_phase(kube, namespace, "ends", "Running")
    rtc.leave(APP, "ch-ends", "alice")
    st = wait_phase(kube, namespace, "ends", "Stopped", timeout=20)
    assert st["remoteStatus"] == 4 and condition(st, "Stalled")["status"] == "False"
    assert len(tasks_of(rtc, "ch-ends")) == 1


@pytest.mark.rtc(**FAST)
def test_on_failure_restarts_after_a_cdn_failure_with_backoff(kube, namespace, rtc,
                                                              operator) -> None:
    kube.create(manifest("cdn", namespace))
    first = wait_phase(kube, namespace, "cdn", "Waiting")
    rtc.fail(APP, first["taskId"], 5)
    st = kube.wait_for(lambda: (s := status(kube, namespace, "cdn")).get(
        "restartCount") == 1 and s.get("phase") == "Waiting" and s, 40, "a restart")
    assert st["taskId"] != first["taskId"]
    reasons = {e["reason"] for e in kube.events(namespace, "cdn")}
    assert {"TaskEnded", "Restarted"} <= reasons
    assert rtc.stats()["urlRuleViolations"] == 0


@pytest.mark.rtc(**FAST)
def test_never_leaves_a_failed_task_failed_and_stalled(kube, namespace, rtc, operator) -> None:
    kube.create(manifest("never", namespace, restartPolicy="Never"))
    first = wait_phase(kube, namespace, "never", "Waiting")
    rtc.fail(APP, first["taskId"], 6)
    st = wait_phase(kube, namespace, "never", "Failed", timeout=20)
    stalled = condition(st, "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "RestartsDisabled")
    assert st["remoteStatus"] == 6 and len(tasks_of(rtc, "ch-never")) == 1


@pytest.mark.rtc(**FAST)
def test_deletion_with_broken_credentials_says_the_way_out_and_takes_it(
        kube, namespace, rtc, start_operator) -> None:
    start_operator(MPU_SECRET_CACHE_SECONDS="0")
    kube.create(_secret("creds", namespace, accessKeyId="testid", accessKeySecret="testsecret"))
    kube.create(manifest("stuck", namespace, credentialsRef={"name": "creds"}))
    wait_phase(kube, namespace, "stuck", "Waiting")
    kube.patch("secrets", namespace, "creds", {"data": {"accessKeySecret": base64.b64encode(
        b"revoked").decode()}})
    kube.delete(KIND, namespace, "stuck")

    def told():
        return [e for e in kube.events(namespace, "stuck") if e["reason"] == "StopFailed"]
    [event] = kube.wait_for(told, 30, "a StopFailed Event")[:1]
    assert "Request.IllegalSignature" in event["message"]
    assert kube.find(KIND, namespace, "stuck") is not None  # not released: the task runs
    st = wait_phase(kube, namespace, "stuck", "Stopping", timeout=20)
    assert "deletionPolicy: Orphan" in st["message"]

    kube.patch(KIND, namespace, "stuck", {"spec": {"deletionPolicy": "Orphan"}})
    kube.wait_for(lambda: kube.find(KIND, namespace, "stuck") is None, 30, "the object to go")
    [task] = tasks_of(rtc, "ch-stuck")
    assert task["status"] == 0  # orphaned on purpose, and said so
    assert "Orphaned" in {e["reason"] for e in kube.events(namespace, "stuck")}


@pytest.mark.rtc(**FAST)
def test_a_fresh_start_answered_task_already_exists_never_adopts_the_task(
        kube, namespace, rtc, operator) -> None:
    """A TaskId the service already has, on the first send of a start, is somebody
    else's (say, another cluster's or another namespace's task): it is left alone, never
    stopped or updated, and the MPUTask says so."""
    rtc.fault("StartMPUTask", code="Request.ExistTask", http=400, applied=True)
    kube.create(manifest("exists", namespace))
    st = wait_phase(kube, namespace, "exists", "Pending", reason="TaskIdInUse")
    assert condition(st, "Stalled")["status"] == "True"
    [task] = tasks_of(rtc, "ch-exists")
    reasons = {e["reason"] for e in kube.events(namespace, "exists")}
    assert "TaskIdInUse" in reasons and "Adopted" not in reasons
    kube.delete(KIND, namespace, "exists")
    kube.wait_for(lambda: kube.find(KIND, namespace, "exists") is None, 30, "deleted")
    assert rtc.task(task["taskId"])["status"] in (0, 1), "another's task was stopped"
