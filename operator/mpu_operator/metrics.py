"""Prometheus metrics: what the operator calls, waits for, and reports.

Each :class:`Metrics` keeps its series in its own ``CollectorRegistry`` (not
prometheus-client's global default), so tests can make as many as they like; the process
uses one (:func:`process`), served over HTTP by :func:`serve` when ``MPU_METRICS_PORT`` is
set. The RTC client and the rate limiter take plain callbacks (``on_call``, ``on_wait``),
so they know nothing of Prometheus, and ``core/`` stays pure.

Labels come only from closed sets (actions, priorities, phases) or from service error
codes passed through :func:`code_label`; never a name, a message or a URL. So no secret
can reach a label, and the number of series stays bounded whatever the service answers.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import start_http_server

from mpu_operator.core.model import Phase
from mpu_operator.rtc.client import START, STATUS, STOP, UPDATE
from mpu_operator.rtc.ratelimit import CONFIRM, EDIT, ROUTINE, URGENT

OK = "OK"
OTHER = "Other"
#: What a code label may look like; anything else is :data:`OTHER`.
CODE_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: Distinct error codes kept as labels per process; codes first seen after that are
#: :data:`OTHER` (the service documents a few dozen; a flood of new ones is not news).
MAX_CODES = 64
ACTIONS = frozenset({START, STATUS, UPDATE, STOP})
PRIORITIES = {EDIT: "edit", URGENT: "urgent", CONFIRM: "confirm", ROUTINE: "routine"}
PHASES = tuple(phase.value for phase in Phase)

# An RTC call takes tens of milliseconds; its read timeout is 10 s.
_CALL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0)
# A token comes every 1/qps seconds (0.1 s at the default 10/s); a queue of polls waits
# many of those.
_WAIT_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def action_label(action: str) -> str:
    """One of the four MPU actions, else :data:`OTHER`."""
    return action if action in ACTIONS else OTHER


class Metrics:
    """The operator's metrics, in a registry of their own. Thread-safe."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._lock = threading.Lock()
        self._codes: set[str] = set()
        self._phases: dict[tuple[str, str], str] = {}
        r = self.registry
        self.rtc_calls = Counter(
            "mpu_rtc_api_calls", "RTC OpenAPI calls by action and outcome (OK or the "
            "service's error code; Client.* when no answer came)", ["action", "code"],
            registry=r)
        self.rtc_duration = Histogram(
            "mpu_rtc_api_call_duration_seconds", "Time an RTC OpenAPI call took, from "
            "sending to the answer (the rate limiter's wait not included)", ["action"],
            buckets=_CALL_BUCKETS, registry=r)
        self.limiter_wait = Histogram(
            "mpu_rate_limiter_wait_seconds", "Time a call waited for its rate-limiter "
            "token (MPU_API_QPS), by priority", ["priority"], buckets=_WAIT_BUCKETS,
            registry=r)
        self.tasks = Gauge("mpu_tasks", "MPUTasks by phase, as this operator last "
                           "reported them", ["phase"], registry=r)
        self.url_waits = Counter("mpu_url_waits", "Times a task had to wait for the "
                                 "stream-URL rule (in use, cooling down or queued) before "
                                 "it could start", registry=r)
        self.restarts = Counter("mpu_task_restarts", "Tasks started again after they "
                                "ended (restartPolicy)", registry=r)
        self.reconcile_errors = Counter("mpu_reconcile_errors", "Unexpected exceptions "
                                        "in a reconciliation step (retried)", registry=r)
        for phase in PHASES:  # every phase shows, at 0, before the first task has it
            self.tasks.labels(phase).set(0)
        for priority in PRIORITIES.values():
            self.limiter_wait.labels(priority)

    # ------------------------------------------------------------------------ hooks

    def rtc_call(self, action: str, code: str, seconds: float) -> None:
        """An RTC call ended: ``code`` is ``OK`` or the error's code."""
        name = action_label(action)
        self.rtc_calls.labels(name, self.code_label(code)).inc()
        self.rtc_duration.labels(name).observe(max(0.0, seconds))

    def limiter_waited(self, priority: int, seconds: float) -> None:
        self.limiter_wait.labels(PRIORITIES.get(priority, OTHER)).observe(max(0.0, seconds))

    def task_phase(self, namespace: str, name: str, phase: str) -> None:
        """The phase this operator reported for an object (idempotent)."""
        phase = phase if phase in PHASES else OTHER
        key = (namespace, name)
        with self._lock:
            before = self._phases.get(key)
            if before == phase:
                return
            self._phases[key] = phase
            if before is not None:
                self.tasks.labels(before).dec()
            self.tasks.labels(phase).inc()

    def task_gone(self, namespace: str, name: str) -> None:
        """The object is deleted: it no longer counts in any phase."""
        with self._lock:
            before = self._phases.pop((namespace, name), None)
            if before is not None:
                self.tasks.labels(before).dec()

    def url_wait(self) -> None:
        self.url_waits.inc()

    def task_restarted(self) -> None:
        self.restarts.inc()

    def reconcile_error(self) -> None:
        self.reconcile_errors.inc()

    # ---------------------------------------------------------------------- reading

    def code_label(self, code: str) -> str:
        """``code`` if it looks like a code and the label budget allows, else ``Other``."""
        if code == OK:
            return OK
        if not CODE_PATTERN.fullmatch(code):
            return OTHER
        with self._lock:
            if code not in self._codes:
                if len(self._codes) >= MAX_CODES:
                    return OTHER
                self._codes.add(code)
        return code

    def render(self) -> bytes:
        """The text exposition format, as ``/metrics`` serves it."""
        return generate_latest(self.registry)


_process: Metrics | None = None
_process_lock = threading.Lock()


def process() -> Metrics:
    """The process's metrics: what the operator records into and ``/metrics`` serves."""
    global _process
    with _process_lock:
        if _process is None:
            _process = Metrics()
        return _process


@dataclass
class Server:
    """A running ``/metrics`` endpoint (a daemon thread); :meth:`stop` closes it."""

    port: int
    httpd: WSGIServer

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def serve(port: int | None, metrics: Metrics | None = None,
          address: str = "0.0.0.0") -> Server | None:
    """Serve ``metrics`` (default: :func:`process`) on ``address:port``; None if ``port``
    is None (metrics off). Raises OSError when the port cannot be bound."""
    if port is None:
        return None
    registry = (metrics or process()).registry
    httpd, _thread = start_http_server(port, addr=address, registry=registry)
    return Server(port=int(httpd.server_address[1]), httpd=httpd)
