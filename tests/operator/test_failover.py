"""High availability: two operator processes, one Lease; kill -9 the leader.

Which process made each RTC call is read off the emulator's call log: the two processes
sign with different AccessKeyIds (key-a, key-b), and the emulator logs every call with
its key and RequestId. What the service did is read off the emulator's task records.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.operator.harness import (
    ACCESS_SECRET,
    APP,
    KIND,
    OperatorProcess,
    manifest,
    parse,
    status,
    tasks_of,
    wait_phase,
)
from tests.operator.kit import CallLog
from tests.support.cluster import Cluster

pytestmark = pytest.mark.integration

LEASE_SECONDS = 3
ELECTION = {"MPU_LEADER_ELECTION": "true", "MPU_LEADER_ELECTION_LEASE_SECONDS": "3",
            "MPU_LEADER_ELECTION_RENEW_SECONDS": "2", "MPU_LEADER_ELECTION_RETRY_SECONDS": "1"}
KEYS = {"key-a": ACCESS_SECRET, "key-b": ACCESS_SECRET}


def lease(kube: Cluster, namespace: str) -> dict[str, Any]:
    return dict((kube.find("leases", namespace, "mpu-operator") or {}).get("spec") or {})


def wait_holder(kube: Cluster, namespace: str, who: str, timeout: float) -> dict[str, Any]:
    return kube.wait_for(lambda: (s := lease(kube, namespace)).get("holderIdentity") == who
                         and s, timeout, f"{who} to hold the Lease")


@pytest.mark.rtc(cooldown=2.0, credentials=KEYS)
def test_the_standby_takes_over_from_a_killed_leader(
        kube: Cluster, namespace: str, rtc: Any, call_log: CallLog,
        start_operator: Callable[..., OperatorProcess]) -> None:
    env = {**ELECTION, "MPU_LEADER_ELECTION_NAMESPACE": namespace}
    a = start_operator(**env, POD_NAME="a", ALIBABA_CLOUD_ACCESS_KEY_ID="key-a")
    wait_holder(kube, namespace, "a", 20)
    b = start_operator(**env, POD_NAME="b", ALIBABA_CLOUD_ACCESS_KEY_ID="key-b")
    kube.wait_for(lambda: "is held by a" in b.log_text(), 20, "b to wait as a standby")

    kube.create(manifest("show", namespace))
    rtc.join(APP, "ch-show", "host")
    first = wait_phase(kube, namespace, "show", "Running", timeout=30)
    assert call_log.by("key-a") and not call_log.by("key-b"), "the standby called the service"
    assert "became the leader" not in b.log_text()

    a.kill()
    killed = time.monotonic()
    # An edit made while nobody leads: the next leader must apply it.
    kube.patch(KIND, namespace, "show", {"spec": {"layout": {"layoutIds": [1, 2, 6]}}})
    spec = wait_holder(kube, namespace, "b", LEASE_SECONDS + 10)
    took = time.monotonic() - killed
    assert took < LEASE_SECONDS + 4, f"takeover took {took:.1f}s"

    def updated() -> dict[str, Any] | None:
        [task] = tasks_of(rtc, "ch-show")
        return task if task["layoutIds"] == [1, 2, 6] else None
    task = kube.wait_for(updated, 30, "the new leader to apply the layout edit")
    st = kube.wait_for(lambda: (s := status(kube, namespace, "show")).get(
        "observedGeneration") == 2 and s, 20, "status to observe the edit")

    # Nothing started twice: one task, the same TaskId, one successful start (by a).
    assert st["taskId"] == first["taskId"] == task["taskId"] and st["phase"] == "Running"
    starts = [c for c in call_log.calls if c.action == "StartMPUTask" and c.outcome == "OK"]
    assert [c.key for c in starts] == ["key-a"]
    assert [h["action"] for h in task["history"]].count("UpdateMPULayout") == 1
    assert ("UpdateMPULayout", "OK", "key-b") in {(c.action, c.outcome, c.key)
                                                  for c in call_log.calls}
    # Only the leader of the moment called: b never before it acquired the Lease.
    acquired = parse(spec["acquireTime"]).timestamp()
    assert all(c.at >= acquired for c in call_log.by("key-b"))
    assert rtc.stats()["urlRuleViolations"] == 0
    assert "became the leader" in b.log_text()


@pytest.mark.rtc(cooldown=2.0, credentials=KEYS)
def test_a_clean_shutdown_hands_the_lease_over_at_once(
        kube: Cluster, namespace: str, rtc: Any, call_log: CallLog,
        start_operator: Callable[..., OperatorProcess]) -> None:
    """SIGTERM (a rollout): the leader releases the Lease, the standby need not wait it out."""
    env = {**ELECTION, "MPU_LEADER_ELECTION_NAMESPACE": namespace,
           "MPU_LEADER_ELECTION_LEASE_SECONDS": "15", "MPU_LEADER_ELECTION_RENEW_SECONDS": "10"}
    a = start_operator(**env, POD_NAME="a", ALIBABA_CLOUD_ACCESS_KEY_ID="key-a")
    wait_holder(kube, namespace, "a", 20)
    b = start_operator(**env, POD_NAME="b", ALIBABA_CLOUD_ACCESS_KEY_ID="key-b")
    kube.wait_for(lambda: "is held by a" in b.log_text(), 20, "b to wait as a standby")

    a.stop()
    stopped = time.monotonic()
    assert a.proc is not None and a.proc.returncode == 0
    wait_holder(kube, namespace, "b", 10)
    took = time.monotonic() - stopped
    assert took < 5, f"handover took {took:.1f}s (the Lease lasts 15 s)"
    kube.create(manifest("after", namespace))
    wait_phase(kube, namespace, "after", "Waiting", timeout=30)
    assert {c.key for c in call_log.calls} == {"key-b"}
