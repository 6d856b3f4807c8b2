"""The real operator process with ``MPU_METRICS_PORT`` and ``MPU_LOG_FORMAT=json``: what
Prometheus scrapes after starts, polls, faults, a URL wait, a restart and a delete, and
what a log collector reads (one JSON object per line, naming the object it is about)."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.operator.conftest import FAST
from tests.operator.harness import (
    APP,
    AUTH_KEY,
    KIND,
    condition,
    manifest,
    status,
    url,
    wait_phase,
)
from tests.test_metrics import label_problems

pytestmark = [pytest.mark.integration]

SHARED = url("live/metrics-shared")
ODD_CODE = "Odd code/with?query=1"  # not a code a label may carry: it must read Other


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class Scraper:
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/metrics"
        self.texts: list[str] = []

    def text(self) -> str | None:
        try:
            with urllib.request.urlopen(self.url, timeout=5) as response:
                text: str = response.read().decode()
        except (urllib.error.URLError, ConnectionError):
            return None
        self.texts.append(text)
        return text

    def values(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        text = self.text() or ""
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(text) for s in family.samples}

    def value(self, name: str, **labels: str) -> float:
        return self.values().get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.rtc(**FAST)
def test_metrics_and_json_logs_of_the_running_operator(kube, namespace, rtc,
                                                       start_operator) -> None:
    port = _free_port()
    operator = start_operator(MPU_METRICS_PORT=str(port), MPU_LOG_FORMAT="json")
    scrape = Scraper(port)
    kube.wait_for(scrape.text, 30, "/metrics to answer")

    # A start that fails once (the service's code), then a poll that fails once (an odd
    # code, which must not become a label), then all is well.
    rtc.fault("StartMPUTask", code="ServiceUnavailable", http=503, count=1)
    rtc.fault("GetMPUTaskStatus", code=ODD_CODE, http=503, count=1)
    kube.create(manifest("holder", namespace, streamURL=SHARED))
    holder = wait_phase(kube, namespace, "holder", "Waiting", timeout=30)
    kube.wait_for(lambda: scrape.value("mpu_rtc_api_calls_total", action="GetMPUTaskStatus",
                                       code="OK") >= 1, 20, "a successful poll counted")
    assert scrape.value("mpu_rtc_api_calls_total", action="StartMPUTask",
                        code="ServiceUnavailable") == 1
    assert scrape.value("mpu_rtc_api_calls_total", action="StartMPUTask", code="OK") == 1
    assert scrape.value("mpu_rtc_api_calls_total", action="GetMPUTaskStatus",
                        code="Other") == 1
    assert scrape.value("mpu_rtc_api_call_duration_seconds_count",
                        action="StartMPUTask") == 2
    assert scrape.value("mpu_rate_limiter_wait_seconds_count", priority="urgent") >= 2
    assert scrape.value("mpu_tasks", phase="Waiting") == 1

    # A second task on the same URL waits (re-checked many times: counted once), then
    # starts after the holder is deleted and the URL has cooled down.
    url_waits = scrape.value("mpu_url_waits_total")
    kube.create(manifest("second", namespace, streamURL=SHARED))
    wait_phase(kube, namespace, "second", "Pending", reason="StreamURLInUse")
    kube.wait_for(lambda: scrape.value("mpu_tasks", phase="Pending") == 1, 10,
                  "the waiting task counted as Pending")
    kube.delete(KIND, namespace, "holder")
    second = wait_phase(kube, namespace, "second", "Waiting", timeout=30)
    assert scrape.value("mpu_url_waits_total") == url_waits + 1
    kube.wait_for(lambda: kube.find(KIND, namespace, "holder") is None, 20, "holder to go")
    kube.wait_for(lambda: scrape.value("mpu_tasks", phase="Waiting") == 1
                  and sum(v for (n, _), v in scrape.values().items() if n == "mpu_tasks") == 1,
                  10, "the deleted task to drop out of mpu_tasks")

    # The CDN fails: the task is restarted (restartPolicy OnFailure).
    assert scrape.value("mpu_task_restarts_total") == 0
    rtc.fail(APP, second["taskId"], 5)
    restarted = kube.wait_for(lambda: (s := status(kube, namespace, "second")).get(
        "restartCount") == 1 and s.get("phase") == "Waiting" and s, 40, "a restart")
    kube.wait_for(lambda: scrape.value("mpu_task_restarts_total") == 1, 10,
                  "the restart counted")
    assert condition(restarted, "Stalled")["status"] == "False"
    assert scrape.value("mpu_reconcile_errors_total") == 0

    text = "\n".join(scrape.texts)
    assert AUTH_KEY not in text and "://" not in text and "?query" not in text
    assert label_problems(scrape.texts[-1]) == []

    operator.stop()
    _check_json_log(operator.log_text(), namespace,
                    {"holder": holder["taskId"],
                     "second": restarted["taskId"]},
                    {second["taskId"]: "second"})


def _check_json_log(log: str, namespace: str, final: dict[str, str],
                    earlier: dict[str, str]) -> None:
    lines = [line for line in log.splitlines() if line.strip()]
    assert lines, "the operator wrote no log"
    assert "push.example.com/live/metrics-shared" in log, "no URL was logged (and scrubbed)"
    assert AUTH_KEY not in log and "auth_key=" not in log
    records: list[dict[str, Any]] = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON line: {line[:300]}")
    assert all(isinstance(r, dict) and "message" in r and "severity" in r for r in records)
    owners = {**{task: name for name, task in final.items()}, **earlier}
    about: dict[str, int] = {}
    for record in records:
        for task_id, name in owners.items():
            if task_id in str(record["message"]):  # a line about this object's task
                assert (record.get("namespace"), record.get("name")) == (namespace, name), \
                    record
                assert record.get("taskId"), record
                about[name] = about.get(name, 0) + 1
    assert set(about) == set(final), f"no lines about {set(final) - set(about)}"
    ours = [r for r in records if r.get("logger") == "mpu_operator.controller.reconciler"
            and r.get("name") == "holder"]
    kopfs = [r for r in records if r.get("logger") == "kopf.objects"
             and r.get("name") == "holder"]
    assert ours and kopfs, "both our lines and kopf's name the object"
    assert all(r["namespace"] == namespace for r in ours + kopfs)
    assert any(r.get("taskId") == final["holder"] for r in ours + kopfs)


@pytest.mark.parametrize("problem", ["taken", "invalid"])
def test_a_metrics_port_it_cannot_use_stops_it_with_one_line(start_operator,
                                                             problem: str) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = str(taken.getsockname()[1]) if problem == "taken" else "http"
        operator = start_operator(MPU_METRICS_PORT=port, MPU_LOG_FORMAT="json")
        assert operator.proc is not None
        assert operator.proc.wait(30) == 2
    lines = [json.loads(text) for text in operator.log_text().splitlines() if text.strip()]
    (line,) = [r for r in lines if r["severity"] != "debug"]  # the harness runs --verbose
    assert "MPU_METRICS_PORT" in line["message"] or f"port {port}" in line["message"]
    assert line["severity"] == "error" and "Traceback" not in operator.log_text()
