"""Fixtures for the sandbox tests: one sandbox (API, RTC emulator, operator) per module, and
the real ``kubectl`` pointed at it. Skipped where kubectl is not installed."""
from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mpu_operator.sandbox.command import Sandbox

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(
    KUBECTL is None, reason="needs the real kubectl binary on PATH (Debian/Ubuntu package:"
                            " kubernetes-client)")
SAMPLES = Path(__file__).resolve().parents[2] / "deploy" / "samples"
Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    work = tmp_path_factory.mktemp("sandbox")
    with Sandbox(work / "sandbox.kubeconfig") as running:
        yield running


def kubectl_for(kubeconfig: Path, cache: Path) -> Kubectl:
    def run(*args: str, check: bool = True, stdin: str | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        assert KUBECTL is not None
        done = subprocess.run([KUBECTL, f"--kubeconfig={kubeconfig}", f"--cache-dir={cache}",
                               *args], input=stdin, capture_output=True, text=True,
                              timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} -> {done.returncode}:\n"
                                 f"{done.stdout}\n{done.stderr}")
        return done
    return run


@pytest.fixture(scope="module")
def kubectl(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(sandbox.kubeconfig, tmp_path_factory.mktemp("kube-cache"))


@pytest.fixture
def ns(kubectl: Kubectl, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace per test (made with ``kubectl create namespace``: protobuf on the wire).

    Its MPUTasks are deleted afterwards: the sample's push URL may serve one task at a time."""
    name = "t-" + request.node.name.replace("_", "-")[:40].strip("-").lower()
    kubectl("create", "namespace", name)
    yield name
    kubectl("delete", "mputasks", "--all", "-n", name, "--timeout=30s")
