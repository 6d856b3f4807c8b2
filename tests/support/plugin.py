"""pytest fixtures for tests that need a Kubernetes API. Register once, in tests/conftest.py:

    pytest_plugins = ["tests.support.plugin"]

Fixtures:

* ``kube`` — a :class:`~tests.support.cluster.Cluster` on a fresh API stand-in
  (:class:`~mpu_operator.sandbox.kube.KubeEmulator` on 127.0.0.1, own thread) per test.
  For tests marked ``portable`` or ``e2e``, and only when ``MPU_E2E_KUBECONFIG`` names a
  kubeconfig, it is the real cluster of that kubeconfig instead (``make e2e``).
* ``kube_emulator`` — the stand-in behind ``kube`` (kmock reactions, change log,
  ``drop_watches``); skips the test on a real cluster.
* ``namespace`` — a fresh namespace in ``kube`` (deleted afterwards on a real cluster).

Marker ``portable``: the test uses only ``kube``/``namespace`` (never ``kube_emulator``) and
so runs unchanged against a real cluster; ``tests/e2e/run-kind.sh`` selects these.
"""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from mpu_operator.sandbox.kube import KubeEmulator
from mpu_operator.sandbox.serve import ServerThread
from tests.support.cluster import Cluster

E2E_KUBECONFIG = "MPU_E2E_KUBECONFIG"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "portable: runs unchanged against the stand-in and a real cluster")


def wants_real_cluster(node: pytest.Item) -> bool:
    """Real cluster only if asked for (env) and the test says it can take one (marker)."""
    portable = any(node.iter_markers("portable")) or any(node.iter_markers("e2e"))
    return bool(os.environ.get(E2E_KUBECONFIG)) and portable


@pytest.fixture
def kube(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    if wants_real_cluster(request.node):
        yield Cluster.from_kubeconfig(os.environ[E2E_KUBECONFIG])
        return
    with ServerThread(KubeEmulator(), name="kube-stand-in") as server:
        yield Cluster.for_url(server.url, emulator=server.handler)


@pytest.fixture
def kube_emulator(kube: Cluster) -> KubeEmulator:
    if kube.emulator is None:
        pytest.skip("needs the API stand-in, not a real cluster")
    return kube.emulator


@pytest.fixture
def namespace(kube: Cluster) -> Iterator[str]:
    name = kube.create_namespace()
    yield name
    if kube.is_real:
        kube.delete_namespace(name)
