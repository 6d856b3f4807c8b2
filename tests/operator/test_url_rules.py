"""The stream-URL rules and the quota, cluster-wide, with the service's real 10 s gap.

The emulator refuses and counts every start that breaks a URL rule or the quota: each test
ends with those counters at zero, and measures the gaps itself from its task records.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.operator.conftest import FAST
from tests.operator.harness import (
    KIND,
    condition,
    manifest,
    parse,
    status,
    tasks_of,
    url,
    wait_phase,
)

SHARED = url("live/shared")

#: Integration scenarios; portable: they run unchanged on a real cluster (make e2e).
pytestmark = [pytest.mark.integration, pytest.mark.portable]


def _no_violations(rtc) -> None:
    stats = rtc.stats()
    assert stats["urlRuleViolations"] == 0, stats
    assert stats["quotaRefusals"] == 0, stats


def _shared_tasks(rtc) -> list[dict]:
    return sorted((t for t in rtc.tasks() if t["streamURL"].endswith("/live/shared")),
                  key=lambda t: t["startedAt"])


def _next_second(kube, after: str) -> None:
    """Wait until creationTimestamps (whole seconds) can tell two objects apart."""
    kube.wait_for(lambda: datetime.now(UTC).replace(microsecond=0) > parse(after), 3,
                  "the next second")


def test_the_older_of_two_tasks_on_one_url_goes_first_whoever_is_reconciled_first(
        kube, namespace, rtc, start_operator) -> None:
    other_ns = kube.create_namespace()
    older = kube.create(manifest("zeta", namespace, streamURL=SHARED))
    _next_second(kube, older["metadata"]["creationTimestamp"])
    kube.create(manifest("alpha", other_ns, streamURL=SHARED))  # newer, but sorts first
    start_operator()

    wait_phase(kube, namespace, "zeta", "Waiting", timeout=40)
    st = wait_phase(kube, other_ns, "alpha", "Pending")
    assert condition(st, "Ready")["reason"] in ("StreamURLInUse", "StreamURLQueued")
    assert "zeta" not in st["message"] and namespace not in st["message"], \
        "another tenant's MPUTask was named"
    assert "another namespace" in st["message"]

    kube.delete(KIND, namespace, "zeta")
    wait_phase(kube, other_ns, "alpha", "Waiting", timeout=40)
    first, second = _shared_tasks(rtc)
    assert first["channelId"] == "ch-zeta" and second["channelId"] == "ch-alpha"
    gap = (parse(second["startedAt"]) - parse(first["stoppedAt"])).total_seconds()
    assert gap >= 10.0, f"the URL was reused {gap:.3f}s after its stop"
    _no_violations(rtc)


def test_a_url_is_not_reused_within_ten_seconds_of_a_delete(kube, namespace, rtc,
                                                            operator) -> None:
    kube.create(manifest("first", namespace, streamURL=SHARED))
    wait_phase(kube, namespace, "first", "Waiting", timeout=40)
    kube.delete(KIND, namespace, "first")
    kube.wait_for(lambda: kube.find(KIND, namespace, "first") is None, 20, "the delete")
    kube.create(manifest("second", namespace, streamURL=url("live/shared") + "&rotated=1"))
    st = wait_phase(kube, namespace, "second", "Pending", reason="StreamURLCoolingDown")
    assert "cooling down until" in st["message"]
    wait_phase(kube, namespace, "second", "Waiting", timeout=30)
    first, second = _shared_tasks(rtc)
    gap = (parse(second["startedAt"]) - parse(first["stoppedAt"])).total_seconds()
    assert 10.0 <= gap < 15.0, f"gap {gap:.3f}s: too soon, or not started by itself"
    _no_violations(rtc)


def test_a_restarted_operator_rebuilds_the_holdings_from_the_cluster(
        kube, namespace, rtc, start_operator) -> None:
    first = start_operator()
    kube.create(manifest("holder", namespace, streamURL=SHARED))
    wait_phase(kube, namespace, "holder", "Waiting", timeout=40)
    first.kill()
    kube.create(manifest("taker", namespace, streamURL=SHARED))
    start_operator()
    st = wait_phase(kube, namespace, "taker", "Pending", reason="StreamURLInUse", timeout=30)
    assert f"{namespace}/holder" in st["message"]
    assert len(_shared_tasks(rtc)) == 1
    _no_violations(rtc)


@pytest.mark.rtc(**FAST)
def test_tasks_beyond_the_quota_wait_instead_of_failing(kube, namespace, rtc,
                                                        start_operator) -> None:
    start_operator(MPU_MAX_TASKS_PER_APP="2")
    for name in ("q1", "q2"):
        kube.create(manifest(name, namespace))
        wait_phase(kube, namespace, name, "Waiting")
    kube.create(manifest("q3", namespace))
    st = wait_phase(kube, namespace, "q3", "Pending", reason="QuotaExhausted")
    assert condition(st, "Stalled")["status"] == "False"
    kube.delete(KIND, namespace, "q1")
    wait_phase(kube, namespace, "q3", "Waiting", timeout=30)
    assert rtc.stats()["maxConcurrentTasks"] == 2
    assert status(kube, namespace, "q2")["phase"] == "Waiting"
    _no_violations(rtc)
    assert len(tasks_of(rtc, "ch-q3")) == 1
