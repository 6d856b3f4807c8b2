"""Helpers for the tenancy and recovery scenarios: Secrets, the RTC emulator's control API,
its call record, and waits that say what they saw.

Kept apart from :mod:`tests.operator.harness` (the operator process and the basic waits)
so that the two grow without stepping on each other.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from tests.operator.harness import KIND, status
from tests.support.cluster import Cluster


def secret(name: str, namespace: str, **data: str) -> dict[str, Any]:
    """A v1 Secret manifest; values are given in clear and sent base64-encoded."""
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "data": {k: b64(v) for k, v in data.items()}}


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def emulator_control(rtc: Any, method: str, path: str, body: Any = None) -> Any:
    """A raw call to the RTC emulator's control API, for the parts the harness has no
    helper for (a fault's newer fields)."""
    return rtc.control(method, path, body)


def post_fault(rtc: Any, **fault: Any) -> None:
    emulator_control(rtc, "POST", "/_emulator/faults", fault)


def clear_faults(rtc: Any) -> None:
    emulator_control(rtc, "DELETE", "/_emulator/faults")


def calls(task: Mapping[str, Any], action: str) -> list[dict[str, Any]]:
    """The API calls of ``action`` the emulator recorded on one task (its history)."""
    return [h for h in task.get("history") or [] if h["action"] == action]


def tasks_with_id(rtc: Any, task_id: str) -> list[dict[str, Any]]:
    return [t for t in rtc.tasks() if t["taskId"] == task_id]


def wait_status(kube: Cluster, namespace: str, name: str,
                check: Callable[[dict[str, Any]], Any], timeout: float,
                what: str) -> dict[str, Any]:
    """Wait until ``check(status)`` holds; return that status."""
    def probe() -> dict[str, Any]:
        st = status(kube, namespace, name)
        if not check(st):
            raise AssertionError(f"not yet: {summary(st)}")  # shown if the wait times out
        return st
    return kube.wait_for(probe, timeout, f"{namespace}/{name}: {what}")


def summary(st: Mapping[str, Any]) -> str:
    """A status in one line: phase, taskId, and each condition's status and reason."""
    conds = ", ".join(f"{c.get('type')}={c.get('status')}/{c.get('reason')}"
                      for c in st.get("conditions") or [])
    return (f"phase={st.get('phase')} taskId={st.get('taskId')} "
            f"gen={st.get('observedGeneration')} [{conds}] message={st.get('message')!r}")


def gone(kube: Cluster, namespace: str, name: str, timeout: float = 20) -> None:
    kube.wait_for(lambda: kube.find(KIND, namespace, name) is None, timeout,
                  f"{namespace}/{name} to be deleted")


def all_conditions_text(st: Mapping[str, Any]) -> str:
    return " ".join(f"{c.get('reason')} {c.get('message')}" for c in st.get("conditions") or [])


class Call(NamedTuple):
    """One API call as the emulator logged it (which process made it: ``key``)."""

    at: float
    action: str
    task: str
    outcome: str
    key: str


_CALL = re.compile(r"^(\w+) app=\S+ task=(\S+) outcome=(\S+) request_id=\S+ key=(\S+)")


class CallLog(logging.Handler):
    """The emulator's one line per API call, parsed: tells operator processes apart by the
    AccessKeyId each signs with."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.calls: list[Call] = []

    def emit(self, record: logging.LogRecord) -> None:
        if match := _CALL.match(record.getMessage()):
            action, task, outcome, key = match.groups()
            self.calls.append(Call(record.created, action, task, outcome, key))

    def by(self, key: str) -> list[Call]:
        return [c for c in list(self.calls) if c.key == key]

    def keys_for(self, task_id: str) -> set[str]:
        return {c.key for c in list(self.calls) if c.task == task_id}


@contextlib.contextmanager
def emulator_calls() -> Iterator[CallLog]:
    """Capture the emulator's call log (INFO on ``mpu_operator.emulator``) meanwhile."""
    handler, logger = CallLog(), logging.getLogger("mpu_operator.emulator")
    old_level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
