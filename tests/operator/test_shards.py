"""Sharding: two operator processes as MPU_SHARD=0/2 and 1/2 against the stand-ins.

Which process made each RTC call is read off the emulator's call log: the shards sign
with different AccessKeyIds (as in test_failover). Each object must be driven by exactly
one shard, the one ``core/shard.py`` routes it to; MPUTasks on one URL meet in one shard,
so the emulator never sees two tasks on one URL (0 URL-rule violations).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from mpu_operator.core.shard import shard_of, shard_of_key
from mpu_operator.streamurl import stream_key
from tests.operator.harness import (
    ACCESS_SECRET,
    KIND,
    OperatorProcess,
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

KEYS = {"key-0": ACCESS_SECRET, "key-1": ACCESS_SECRET}


def _key(path: str) -> str:
    return str(stream_key(url(path)))


def _name_in(namespace: str, shard: int, prefix: str) -> str:
    """A name whose namespace/name hash is ``shard`` of 2."""
    return next(f"{prefix}{n}" for n in range(1000)
                if shard_of(namespace, f"{prefix}{n}", 2) == shard)


def _path_in(shard: int, prefix: str) -> str:
    """A stream path whose URL hashes to ``shard`` of 2."""
    return next(f"live/{prefix}{n}" for n in range(1000)
                if shard_of_key(_key(f"live/{prefix}{n}"), 2) == shard)


def _secret(name: str, namespace: str, value: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "data": {"url": base64.b64encode(value.encode()).decode()}}


def _two_shards(start_operator: Callable[..., OperatorProcess]) -> None:
    for i in (0, 1):
        start_operator(MPU_SHARD=f"{i}/2", ALIBABA_CLOUD_ACCESS_KEY_ID=f"key-{i}")


@pytest.mark.rtc(cooldown=2.0, credentials=KEYS)
def test_each_object_is_driven_by_exactly_the_shard_of_its_url(
        kube: Cluster, namespace: str, rtc: Any, call_log: CallLog,
        start_operator: Callable[..., OperatorProcess]) -> None:
    _two_shards(start_operator)
    expected: dict[str, int] = {}
    for shard in (0, 1):
        for n in range(3):
            path = _path_in(shard, f"s{shard}n{n}-")
            name = f"url{shard}-{n}"
            kube.create(manifest(name, namespace, streamURL=url(path)))
            expected[name] = shard
    # A URL in a Secret: the shard of its name resolves it, the shard of its URL starts it.
    name = _name_in(namespace, 0, "sec")
    path = _path_in(1, "secret-")
    kube.create(_secret("stream", namespace, url(path)))
    body = manifest(name, namespace)
    del body["spec"]["streamURL"]
    body["spec"]["streamURLFrom"] = {"secretKeyRef": {"name": "stream", "key": "url"}}
    kube.create(body)
    expected[name] = 1

    for name, shard in expected.items():
        st = wait_phase(kube, namespace, name, "Waiting", timeout=60)
        keys = call_log.keys_for(st["taskId"])
        assert keys == {f"key-{shard}"}, f"{name}: called by {keys}, not shard {shard}"
    secret_obj = status(kube, namespace, _name_in(namespace, 0, "sec"))
    assert secret_obj["streamURL"] == _key(path)
    for name in expected:  # deletion: stopped by the owner, waited out by the other
        kube.delete(KIND, namespace, name)
    kube.wait_for(lambda: not kube.list(KIND, namespace), 60, "every delete")
    stops = {c.task: c.key for c in call_log.calls
             if c.action == "StopMPUTask" and c.outcome == "OK"}
    assert len(stops) == len(expected)
    assert len({c.key for c in call_log.calls}) == 2
    assert rtc.stats()["urlRuleViolations"] == 0


@pytest.mark.rtc(cooldown=2.0, credentials=KEYS)
def test_objects_of_different_name_shards_on_one_url_never_overlap(
        kube: Cluster, namespace: str, rtc: Any, call_log: CallLog,
        start_operator: Callable[..., OperatorProcess]) -> None:
    """Created in the same instant, named for different shards: both shards route them to
    the URL's shard, which starts one, then the other after the stop and the cooldown."""
    _two_shards(start_operator)
    shared = url("live/shared")
    a, b = _name_in(namespace, 0, "a"), _name_in(namespace, 1, "b")
    for name in (a, b):
        kube.create(manifest(name, namespace, streamURL=shared, channelId="ch-shared"))
    kube.wait_for(lambda: len(tasks_of(rtc, "ch-shared")) == 1 and
                  {status(kube, namespace, n).get("phase") for n in (a, b)} ==
                  {"Waiting", "Pending"}, 60, "one to start and the other to wait")
    first = next(n for n in (a, b) if status(kube, namespace, n)["phase"] == "Waiting")
    second = b if first == a else a
    kube.delete(KIND, namespace, first)
    wait_phase(kube, namespace, second, "Waiting", timeout=60)
    older, newer = sorted(tasks_of(rtc, "ch-shared"), key=lambda t: t["startedAt"])
    gap = (parse(newer["startedAt"]) - parse(older["stoppedAt"])).total_seconds()
    assert gap >= 2.0, f"the URL was reused {gap:.3f}s after its stop"
    owner = f"key-{shard_of_key(_key('live/shared'), 2)}"
    starts = [c for c in call_log.calls if c.action == "StartMPUTask"]
    assert {c.key for c in starts} == {owner}, starts
    assert rtc.stats()["urlRuleViolations"] == 0
