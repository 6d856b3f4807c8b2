"""kopf, in-process, against the stand-in over HTTP: the whole lifecycle, and a kill."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from mpu_operator.sandbox.kube import KubeEmulator
from tests.kube.dummy_operator import make_registry
from tests.support.cluster import Cluster
from tests.support.operator_runner import OperatorRunner

pytestmark = [pytest.mark.integration]


def task(namespace: str, size: int = 1) -> dict[str, Any]:
    return {"apiVersion": "mpu-operator.io/v1alpha1", "kind": "MPUTask",
            "metadata": {"name": "t1", "namespace": namespace}, "spec": {"size": size}}


@pytest.fixture
def calls() -> list[tuple[str, str]]:
    return []


@pytest.fixture
def gate() -> threading.Event:
    return threading.Event()


@pytest.fixture
def runner(kube: Cluster, kube_emulator: KubeEmulator, gate: threading.Event,
           calls: list[tuple[str, str]]) -> Iterator[OperatorRunner]:
    runner = OperatorRunner(kube.url, make_registry(gate, calls))
    yield runner
    gate.set()
    runner.stop()


def status(kube: Cluster, namespace: str) -> dict[str, Any]:
    return kube.get("mpu", namespace, "t1").get("status") or {}


def test_lifecycle_create_update_delete(kube: Cluster, namespace: str, runner: OperatorRunner,
                                        gate: threading.Event,
                                        calls: list[tuple[str, str]]) -> None:
    gate.set()
    runner.start()
    kube.create(task(namespace))
    kube.wait_for(lambda: status(kube, namespace).get("phase") == "Running", what="status")
    kube.wait_for(lambda: status(kube, namespace).get("ticked"), what="the timer")
    kube.wait_for(lambda: ("daemon:started", "kopf-operator-0") in calls, what="the daemon")
    assert kube.get("mpu", namespace, "t1")["metadata"]["finalizers"]

    edited = kube.patch("mpu", namespace, "t1", {"spec": {"size": 2}})
    assert edited["metadata"]["generation"] == 2
    kube.wait_for(lambda: status(kube, namespace).get("observedGeneration") == 2,
                  what="the update handler to see generation 2")
    assert status(kube, namespace)["seenSize"] == 2

    kube.delete("mpu", namespace, "t1")
    kube.wait_for(lambda: kube.find("mpu", namespace, "t1") is None,
                  what="the finalizer to be removed and the object to go")
    reasons = [e["reason"] for e in kube.events(namespace, involved_name="t1")]
    assert "Started" in reasons and "Stopped" in reasons


def test_kill_stops_mid_handler_and_a_new_operator_resumes(
        kube: Cluster, kube_emulator: KubeEmulator, namespace: str, runner: OperatorRunner,
        gate: threading.Event, calls: list[tuple[str, str]]) -> None:
    runner.start()
    kube.create(task(namespace))
    kube.wait_for(lambda: ("create:entered", "kopf-operator-0") in calls, what="the handler")
    runner.kill()
    assert not runner.running
    assert kube.get("mpu", namespace, "t1")["metadata"]["finalizers"]  # kopf's, left behind
    assert "phase" not in status(kube, namespace)
    revision_at_kill = kube_emulator.revision

    gate.set()  # were the killed operator alive, its handler would now finish too
    assert kube_emulator.revision == revision_at_kill, "the killed operator wrote something"
    runner.start()
    kube.wait_for(lambda: status(kube, namespace).get("phase") == "Running", what="resumed")
    assert ("create:done", "kopf-operator-1") in calls
    assert ("create:done", "kopf-operator-0") not in calls
    assert runner.starts == 2


async def test_async_helpers_work_from_an_async_test(kube: Cluster, namespace: str) -> None:
    await kube.aio.create(task(namespace))

    async def created() -> bool:
        obj = await kube.aio.find("mpu", namespace, "t1")
        return obj is not None and obj["metadata"]["generation"] == 1

    assert await kube.aio.wait_for(created, timeout=5, what="the task")
    with pytest.raises(AssertionError, match="the impossible; last value: None"):
        await kube.aio.wait_for(lambda: None, timeout=0.1, what="the impossible")
