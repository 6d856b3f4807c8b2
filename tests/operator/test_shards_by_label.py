"""Sharding by label: two operator processes as MPU_SHARD=0/2 and 1/2, each with an
MPU_SHARD_SELECTOR on the label ``team`` (``a`` and ``b``), against the stand-ins.

As in test_shards, the shards sign with different AccessKeyIds, so the emulator's call
log tells which process made each call. Each object must be driven by the shard its label
picks; an MPUTask whose URL another shard's MPUTask uses starts nothing
(``StreamURLInOtherShard``) until it is labelled into that shard, where the URL is
arbitrated as by one operator (held, then the cooldown): 0 URL-rule violations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.operator.harness import (
    ACCESS_SECRET,
    KIND,
    OperatorProcess,
    condition,
    manifest,
    parse,
    status,
    tasks_of,
    url,
    wait_phase,
)
from tests.operator.kit import CallLog
from tests.support.cluster import Cluster

pytestmark = pytest.mark.integration

KEYS = {"key-a": ACCESS_SECRET, "key-b": ACCESS_SECRET}



def _labelled(name: str, namespace: str, team: str, **spec: Any) -> dict[str, Any]:
    body = manifest(name, namespace, **spec)
    body["metadata"]["labels"] = {"team": team}
    return body


def _two_label_shards(start_operator: Callable[..., OperatorProcess]) -> None:
    for i, team in enumerate("ab"):
        start_operator(MPU_SHARD=f"{i}/2", MPU_SHARD_SELECTOR=f"team={team}",
                       ALIBABA_CLOUD_ACCESS_KEY_ID=f"key-{team}")


@pytest.mark.rtc(cooldown=2.0, credentials=KEYS)
def test_each_object_is_driven_by_the_shard_its_label_selects(
        kube: Cluster, namespace: str, rtc: Any, call_log: CallLog,
        start_operator: Callable[..., OperatorProcess]) -> None:
    _two_label_shards(start_operator)
    expected = {f"{team}{n}": team for team in "ab" for n in range(3)}
    for name, team in expected.items():
        kube.create(_labelled(name, namespace, team))
    for name, team in expected.items():
        st = wait_phase(kube, namespace, name, "Waiting", timeout=60)
        keys = call_log.keys_for(st["taskId"])
        assert keys == {f"key-{team}"}, f"{name}: called by {keys}, not shard {team}"
    for name in expected:  # deletion: stopped by its shard, waited out by the other
        kube.delete(KIND, namespace, name)
    kube.wait_for(lambda: not kube.list(KIND, namespace), 60, "every delete")
    stops = {c.task: c.key for c in call_log.calls
             if c.action == "StopMPUTask" and c.outcome == "OK"}
    assert sorted(stops.values()) == ["key-a"] * 3 + ["key-b"] * 3
    assert rtc.stats()["urlRuleViolations"] == 0


@pytest.mark.rtc(cooldown=2.0, credentials=KEYS)
def test_a_url_shared_across_label_shards_waits_until_relabelled(
        kube: Cluster, namespace: str, rtc: Any, call_log: CallLog,
        start_operator: Callable[..., OperatorProcess]) -> None:
    """No arbiter per URL across label shards: the second MPUTask on a URL, in the other
    shard, starts nothing and says why; labelled into the first one's shard it queues
    behind it as with one operator, and starts after the stop and the cooldown."""
    _two_label_shards(start_operator)
    shared = url("live/shared")
    kube.create(_labelled("first", namespace, "a", streamURL=shared, channelId="ch-shared"))
    wait_phase(kube, namespace, "first", "Waiting", timeout=60)
    kube.create(_labelled("second", namespace, "b", streamURL=shared, channelId="ch-shared"))
    st = wait_phase(kube, namespace, "second", "Pending", timeout=60,
                    reason="StreamURLInOtherShard")
    assert "same shard label" in condition(st, "Ready")["message"]
    assert len(tasks_of(rtc, "ch-shared")) == 1
    assert not [c for c in call_log.by("key-b") if c.action == "StartMPUTask"]

    kube.patch(KIND, namespace, "second", {"metadata": {"labels": {"team": "a"}}})
    wait_phase(kube, namespace, "second", "Pending", timeout=60, reason="StreamURLInUse")
    kube.delete(KIND, namespace, "first")
    wait_phase(kube, namespace, "second", "Waiting", timeout=60)
    older, newer = sorted(tasks_of(rtc, "ch-shared"), key=lambda t: t["startedAt"])
    gap = (parse(newer["startedAt"]) - parse(older["stoppedAt"])).total_seconds()
    assert gap >= 2.0, f"the URL was reused {gap:.3f}s after its stop"
    starts = [c for c in call_log.calls if c.action == "StartMPUTask"]
    assert {c.key for c in starts} == {"key-a"}, starts
    assert status(kube, namespace, "second")["phase"] == "Waiting"
    assert rtc.stats()["urlRuleViolations"] == 0
