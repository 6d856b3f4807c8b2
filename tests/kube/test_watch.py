"""WATCH as kopf uses it: LIST, then WATCH from the list's resourceVersion, losing nothing."""
from __future__ import annotations

import threading
from typing import Any

import pytest

from mpu_operator.sandbox.kube import KubeEmulator
from tests.support.cluster import Cluster

pytestmark = [pytest.mark.integration]
portable = pytest.mark.portable


def task(namespace: str, name: str) -> dict[str, Any]:
    return {"apiVersion": "mpu-operator.io/v1alpha1", "kind": "MPUTask",
            "metadata": {"name": name, "namespace": namespace}, "spec": {"size": 1}}


def seen(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["type"], e["object"]["metadata"]["name"]) for e in events]


def watch_until(kube: Cluster, namespace: str, count: int, **kwargs: Any) -> list[dict[str, Any]]:
    """Collect ``count`` events (the server's timeoutSeconds bounds the wait)."""
    events = []
    for event in kube.watch("mpu", namespace, timeout=5, **kwargs):
        events.append(event)
        if len(events) == count:
            break
    return events


@portable
def test_watch_from_a_resource_version_sends_only_later_changes(kube: Cluster,
                                                                namespace: str) -> None:
    first = kube.create(task(namespace, "a"))
    kube.create(task(namespace, "b"))
    kube.patch("mpu", namespace, "a", {"spec": {"size": 2}})
    events = watch_until(kube, namespace, 2, resource_version=first["metadata"]["resourceVersion"])
    assert seen(events) == [("ADDED", "b"), ("MODIFIED", "a")]


@portable
def test_changes_between_list_and_watch_are_not_lost(kube: Cluster, namespace: str) -> None:
    kube.create(task(namespace, "a"))
    listed = kube.list_raw("mpu", namespace)
    kube.patch("mpu", namespace, "a", {"spec": {"size": 2}})  # between LIST and WATCH
    kube.delete("mpu", namespace, "a")
    events = watch_until(kube, namespace, 2,
                         resource_version=listed["metadata"]["resourceVersion"])
    assert seen(events) == [("MODIFIED", "a"), ("DELETED", "a")]
    assert events[0]["object"]["spec"] == {"size": 2}


@portable
def test_watch_without_resource_version_starts_with_current_state(kube: Cluster,
                                                                  namespace: str) -> None:
    kube.create(task(namespace, "a"))
    kube.patch("mpu", namespace, "a", {"spec": {"size": 2}})
    started = threading.Event()
    events: list[dict[str, Any]] = []

    def collect() -> None:
        for event in kube.watch("mpu", namespace, timeout=5):
            events.append(event)
            started.set()
            if len(events) == 2:
                return

    reader = threading.Thread(target=collect)
    reader.start()
    assert started.wait(5), "no initial event"
    kube.create(task(namespace, "b"))
    reader.join(10)
    assert seen(events) == [("ADDED", "a"), ("ADDED", "b")]
    assert events[0]["object"]["spec"] == {"size": 2}  # the current state, not the history


@portable
def test_deleted_event_carries_a_new_resource_version(kube: Cluster, namespace: str) -> None:
    created = kube.create(task(namespace, "a"))
    kube.delete("mpu", namespace, "a")
    since = created["metadata"]["resourceVersion"]
    events = watch_until(kube, namespace, 1, resource_version=since)
    assert seen(events) == [("DELETED", "a")]
    assert int(events[0]["object"]["metadata"]["resourceVersion"]) > int(
        created["metadata"]["resourceVersion"])


@portable
def test_watch_ends_at_timeout_seconds(kube: Cluster, namespace: str) -> None:
    assert list(kube.watch("mpu", namespace, timeout=1,
                           resource_version=kube.list_raw("mpu")["metadata"]["resourceVersion"])
                ) == []


def test_too_old_resource_version_is_410_gone(kube: Cluster, kube_emulator: KubeEmulator,
                                              namespace: str) -> None:
    kube_emulator.history_limit = 4
    first = kube.create(task(namespace, "a"))
    for size in range(2, 8):
        kube.patch("mpu", namespace, "a", {"spec": {"size": size}})
    events = watch_until(kube, namespace, 1, resource_version=first["metadata"]["resourceVersion"])
    assert events[0]["type"] == "ERROR" and events[0]["object"]["code"] == 410


def test_drop_watches_ends_open_streams(kube: Cluster, kube_emulator: KubeEmulator,
                                        namespace: str) -> None:
    opened = threading.Event()
    ended = threading.Event()

    def follow() -> None:
        for _ in kube.watch("mpu", namespace, timeout=30):
            opened.set()
        ended.set()

    kube.create(task(namespace, "a"))
    threading.Thread(target=follow, daemon=True).start()
    assert opened.wait(5)
    kube_emulator.drop_watches()  # thread-safe enough: it only bumps a counter and sets events
    assert ended.wait(5), "the watch stream stayed open"
