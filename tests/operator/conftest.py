"""Fixtures for the operator's integration scenarios: RTC emulator, operator process.

Against the stand-in these run everywhere; with ``MPU_E2E_KUBECONFIG`` set (``make e2e``)
the same scenarios run against a real cluster, the operator still a local process.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mpu_operator.emulator.config import EmulatorConfig
from mpu_operator.emulator.harness import EmulatorThread
from tests.operator.harness import (
    ACCESS_SECRET,
    AUTH_KEY,
    KIND,
    OperatorProcess,
    kubeconfig_for,
)
from tests.operator.kit import CallLog, emulator_calls
from tests.support.cluster import Cluster
from tests.support.plugin import E2E_KUBECONFIG

#: Tests that do not measure the URL rule itself run with a 2 s cooldown on both sides,
#: so that each does not pay the operator's 10 s start-up cooldown.
FAST = {"cooldown": 2.0}


@pytest.fixture
def rtc_config(request: pytest.FixtureRequest) -> EmulatorConfig:
    marker = request.node.get_closest_marker("rtc")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    cooldown = options.pop("cooldown", 10.0)
    return EmulatorConfig(url_cooldown_seconds=cooldown, **options)


@pytest.fixture
def rtc(rtc_config: EmulatorConfig) -> Iterator[EmulatorThread]:
    with EmulatorThread(rtc_config) as emulator:
        yield emulator


@pytest.fixture
def start_operator(kube: Cluster, rtc: EmulatorThread, rtc_config: EmulatorConfig,
                   tmp_path: Path, request: pytest.FixtureRequest,
                   ) -> Iterator[Callable[..., OperatorProcess]]:
    """Start (and later stop) the operator; extra env overrides the defaults below."""
    started: list[OperatorProcess] = []
    if kube.is_real:
        kubeconfig = Path(os.environ[E2E_KUBECONFIG])
    else:
        kubeconfig = kubeconfig_for(kube.url, tmp_path)

    def start(**env: str) -> OperatorProcess:
        base = {
            "MPU_RTC_ENDPOINT": rtc.url,
            "ALIBABA_CLOUD_ACCESS_KEY_ID": "testid",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ACCESS_SECRET,
            "MPU_POLL_FAST_SECONDS": "0.5",
            "MPU_POLL_STEADY_SECONDS": "2",
            "MPU_URL_COOLDOWN_SECONDS": str(rtc_config.url_cooldown_seconds),
            "MPU_RESTART_BACKOFF_MAX_SECONDS": "20",
        }
        process = OperatorProcess(kubeconfig, {**base, **env}, tmp_path).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
    text = "\n".join(p.log_text() for p in started)
    if request.node.rep_call_failed if hasattr(request.node, "rep_call_failed") else False:
        print(text[-20000:])
    assert AUTH_KEY not in text, "a stream URL's auth key reached the operator's log"
    assert ACCESS_SECRET not in text, "the AccessKeySecret reached the operator's log"
    _assert_no_secret_in_cluster(kube)


def _assert_no_secret_in_cluster(kube: Cluster) -> None:
    for obj in kube.list(KIND):
        assert AUTH_KEY not in str(obj.get("status")), "an auth key reached a status"
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        assert AUTH_KEY not in str(annotations), "an auth key reached an annotation"
    for event in kube.list("events"):
        assert AUTH_KEY not in str(event.get("message")), "an auth key reached an Event"


@pytest.fixture
def operator(start_operator: Callable[..., OperatorProcess]) -> OperatorProcess:
    return start_operator()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call_failed = report.failed  # type: ignore[attr-defined]


@pytest.fixture
def call_log() -> Iterator[CallLog]:
    """Every call the emulators of this test receive, in order (tests/operator/kit.py)."""
    with emulator_calls() as log:
        yield log
