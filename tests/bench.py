"""``make bench``: the operator's timings, measured at the RTC emulator (issue 9).

Runs the real operator process against the Kubernetes stand-in (in its own process) and
the RTC emulator (``--latency-ms 30``, the per-app quota raised to N + 10), with N
MPUTasks on distinct URLs spread over several apps. Prints one line per measurement:

1. per N (default 100, 300, 1000): time from creating all N until all are started at the
   service and until all are ``Waiting``, each as a ratio to its physical bound (N/QPS and
   2N/QPS); API calls during start-up and over a steady window against the budget; the
   emulator's peak calls/s; layout edit -> UpdateMPULayout latency, with edits spread over
   the start-up backlog and the steady state; the operator's peak RSS and CPU seconds;
2. ``mpu-operator validate`` over 1000 manifests;
3. the log scrubber on 100 kB and 1 MB hostile lines: linear, not quadratic.

Per N also: one ``API budget`` line (start-up calls against the 2N bound, the steady
window's calls/s against ``qps``, the emulator's peak against ``qps``), and, after the
operator's measurements (so not in its peak), one ``client`` line each for our
``RTCClient`` and the official ``alibabacloud-rtc20180111`` client making the same N
StartMPUTask then N GetMPUTaskStatus calls against the same emulator: CPU ms per call.

``--shards k``: k operator processes (``MPU_SHARD=i/k``, the same ``MPU_API_QPS``, so
each takes 1/k) against the one emulator, i.e. one account; the same lines, one per shard
(tasks on its URLs, RSS, CPU), and the emulator's peak is over all shards together.

The last lines are one ``summary n=... qps=... start_ratio=... status_ratio=...
edit_p50_s=... edit_p99_s=... rss_mib=... peak_calls_per_s=... violations=...`` per N
(`` shards=k`` appended when sharded), the largest N last. ``python -m tests.bench --n 100
300 --steady-s 30 --operator-only`` for a shorter run; N=1000 takes about 7 minutes
(2N/QPS + the steady window) plus the client comparison (2N calls per client at the
emulator's 30 ms: ~2 minutes; ``--no-clients`` skips it).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alibabacloud_rtc20180111 import models

from mpu_operator.core.shard import shard_of_key
from mpu_operator.emulator.config import EmulatorConfig
from mpu_operator.emulator.harness import EmulatorThread
from mpu_operator.rtc.client import RTCClient
from mpu_operator.rtc.credentials import Credentials
from mpu_operator.rtc.params import LayoutParams, StartParams
from mpu_operator.streamurl import stream_key
from tests import bench_kube
from tests.emulator.sdk import KEY_ID, SECRET, acs3_client
from tests.operator.harness import KIND, OperatorProcess, kubeconfig_for, manifest, parse
from tests.operator.kit import CallLog, emulator_calls
from tests.support.cluster import Cluster

N_DEFAULT = (100, 300, 1000)
QPS = 10
APPS = 4
LATENCY_MS = 30
EDITS_BACKLOG = 20  # layout edits while the start-up backlog drains
EDITS_STEADY = 20   # and over the steady window
CANDIDATES = 10  # the tasks asked for when choosing one to edit


@dataclasses.dataclass
class Run:
    """One N's measurements; :meth:`summary` is the issue's summary line."""

    n: int
    qps: int
    shards: int = 1
    start_s: float = math.inf
    status_s: float = math.inf
    edits: list[float] = dataclasses.field(default_factory=list)
    rss_mib: float = 0.0
    cpu_s: float = 0.0
    peak: int = 0
    violations: int = 0

    @property
    def start_ratio(self) -> float:
        return self.start_s / (self.n / self.qps)

    @property
    def status_ratio(self) -> float:
        return self.status_s / (2 * self.n / self.qps)

    def summary(self) -> str:
        return (f"summary n={self.n} qps={self.qps} start_ratio={self.start_ratio:.2f} "
                f"status_ratio={self.status_ratio:.2f} "
                f"edit_p50_s={_pct(self.edits, .5):.2f} edit_p99_s={_pct(self.edits, .99):.2f} "
                f"rss_mib={self.rss_mib:.0f} peak_calls_per_s={self.peak} "
                f"violations={self.violations}"
                + (f" shards={self.shards}" if self.shards > 1 else ""))


def _pct(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@contextlib.contextmanager
def _kube_process() -> Iterator[str]:
    """The Kubernetes stand-in in a child process: its CPU must not share the GIL with the
    RTC emulator's thread and this loop (the bench times the operator, not the stand-ins)."""
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(
        target=bench_kube._serve, args=(child, None), daemon=True)
    server.start()
    try:
        if not parent.poll(30):
            raise RuntimeError("the Kubernetes stand-in did not start")
        yield parent.recv()
    finally:
        parent.send("stop")
        server.join(30)


def _serve_emulator(conn: Any, config: EmulatorConfig) -> None:
    """The child: the RTC emulator on a free port until the parent says stop; its call
    log (which AccessKeyId made each call, when) on request."""
    with EmulatorThread(config) as rtc, emulator_calls() as log:
        conn.send(rtc.url)
        while conn.recv() == "calls":
            conn.send(list(log.calls))


class _EmulatorProcess(EmulatorThread):
    """The RTC emulator in a child process, driven over its HTTP control API like the
    thread. In a thread of this process it shared the GIL with the LISTs of 1000 objects
    this loop decodes: calls were dated at the emulator up to ~60 ms late, and the
    limiter's evenly spaced calls (10 in any 1.05 s when sent) counted 11 in some second."""

    def __init__(self, config: EmulatorConfig) -> None:  # no server in this process
        self.config = config
        self._url = ""
        self._conn: Any = None
        self._proc: Any = None

    @property
    def url(self) -> str:
        return self._url

    @property
    def endpoint(self) -> str:
        return self._url.removeprefix("http://")

    def start(self) -> _EmulatorProcess:
        self._conn, child = multiprocessing.Pipe()
        self._proc = multiprocessing.get_context("spawn").Process(
            target=_serve_emulator, args=(child, self.config), daemon=True)
        self._proc.start()
        if not self._conn.poll(30):
            raise RuntimeError("the RTC emulator did not start")
        self._url = self._conn.recv()
        return self

    def call_log(self) -> CallLog:
        """The emulator's call log so far."""
        self._conn.send("calls")
        log = CallLog()
        log.calls = list(self._conn.recv())
        return log

    def stop(self) -> None:
        if self._proc is not None:
            self._conn.send("stop")
            self._proc.join(30)
            self._proc = None

    def __enter__(self) -> _EmulatorProcess:
        return self.start()


def bench_operator(n: int, qps: int = QPS, apps: int = APPS, latency_ms: float = LATENCY_MS,
                   steady_s: float = 120.0, shards: int = 1, clients: bool = True) -> Run:
    """N MPUTasks over ``apps`` apps, created at once; see the module's docstring. With
    ``shards`` > 1, that many operator processes (``MPU_SHARD=i/k``, all with the same
    ``MPU_API_QPS``: each takes its 1/k) share the one emulator, i.e. one account."""
    run = Run(n, qps, shards)
    work = Path(tempfile.mkdtemp(prefix="mpu-bench-"))
    # Each shard signs with its own AccessKeyId (same secret): the emulator's call log
    # then tells the shards' calls apart. One account all the same: one emulator.
    config = EmulatorConfig(url_cooldown_seconds=1.0, max_concurrent_tasks=n + 10,
                            latency_ms=latency_ms,
                            credentials={KEY_ID: SECRET, **{_key(i): SECRET
                                                            for i in range(shards)}})
    tag = f"N={n}" + (f" shards={shards}" if shards > 1 else "")
    with _kube_process() as kube_url, _EmulatorProcess(config) as rtc:
        kube = Cluster.for_url(kube_url)
        ns = kube.create_namespace("bench-")
        env = {
            "MPU_RTC_ENDPOINT": rtc.url, "ALIBABA_CLOUD_ACCESS_KEY_ID": "testid",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "testsecret", "MPU_API_QPS": str(qps),
            "MPU_URL_COOLDOWN_SECONDS": "1", "MPU_MAX_TASKS_PER_APP": str(n + 10),
            "MPU_POLL_FAST_SECONDS": "1", "MPU_POLL_STEADY_SECONDS": "5",
        }
        kubeconfig = kubeconfig_for(kube.url, work)
        operators = [OperatorProcess(kubeconfig, {**env, **(
            {"MPU_SHARD": f"{i}/{shards}", "ALIBABA_CLOUD_ACCESS_KEY_ID": _key(i)}
            if shards > 1 else {})}, work, verbose=False).start() for i in range(shards)]
        try:
            time.sleep(1.5)  # the operator's own start-up cooldown (1 s here) and login
            names = [f"b{i:04d}" for i in range(n)]
            began = time.time()
            for i, name in enumerate(names):
                kube.create(manifest(name, ns, appId=f"app-{i % apps}"))
            created_s = time.time() - began
            calls_before = _calls(rtc)
            edits = _Edits(kube, rtc, ns, names)
            waiting = _drain(kube, rtc, ns, n, qps, began, edits, deadline=max(120, 8 * n / qps))
            run.status_s = waiting - began
            started = [parse(t["startedAt"]).timestamp() for t in _all_tasks(rtc, names)]
            run.start_s = (max(started) - began) if len(started) >= n else math.inf
            startup_calls = _calls(rtc) - calls_before
            print(f"{tag}: created {n} in {created_s:.1f}s; {len(started)} started in "
                  f"{run.start_s:.1f}s (bound {n / qps:.0f}s, ratio {run.start_ratio:.2f}); "
                  f"all Waiting in {run.status_s:.1f}s (bound {2 * n / qps:.0f}s, ratio "
                  f"{run.status_ratio:.2f})", flush=True)
            backlog = list(edits.latencies)
            steady_calls = _steady(rtc, edits, steady_s)
            _finish(edits, 30)
            run.edits = edits.latencies
            stats = rtc.stats()
            run.peak = stats["peakCallsPerSecond"]
            run.violations = stats.get("urlRuleViolations", 0)
            usage = [_usage(op) for op in operators]
            run.rss_mib = max(rss for rss, _ in usage)
            run.cpu_s = sum(cpu for _, cpu in usage)
            startup_rate = startup_calls / max(run.status_s, 1e-9)
            print(f"{tag}: API budget (qps={qps}, one account): start-up {startup_calls} "
                  f"calls vs bound 2N={2 * n} ({startup_calls / (2 * n):.2f}x), "
                  f"{startup_rate:.1f} calls/s; steady {steady_s:.0f}s: {steady_calls} calls "
                  f"= {steady_calls / steady_s:.1f} calls/s vs qps {qps} "
                  f"({100 * steady_calls / steady_s / qps:.0f}% of the budget); emulator "
                  f"peak {run.peak} calls/s vs qps {qps} "
                  f"({'within' if run.peak <= qps else 'OVER'}); "
                  f"URL violations {run.violations}", flush=True)
            print(f"{tag}: layout edit -> UpdateMPULayout: backlog {len(backlog)} edits "
                  f"p50 {_pct(backlog, .5):.2f}s max {max(backlog, default=math.nan):.2f}s; "
                  f"all {len(run.edits)} p50 {_pct(run.edits, .5):.2f}s "
                  f"p99 {_pct(run.edits, .99):.2f}s", flush=True)
            if shards > 1:
                _print_shards(tag, rtc, qps, shards, usage, rtc.call_log(), (began, waiting))
            print(f"{tag}: operator peak RSS {run.rss_mib:.0f} MiB, CPU {run.cpu_s:.1f}s"
                  + (" (largest shard's RSS, CPU summed over shards)" if shards > 1 else ""),
                  flush=True)
            if clients:  # after the operator's measurements: not counted in its peak
                for cost in bench_clients(rtc, n):
                    print(f"{tag}: {cost.line()}", flush=True)
        finally:
            for operator in operators:
                operator.stop()
    return run


def _key(shard: int) -> str:
    return f"shard-{shard}"


def _print_shards(tag: str, rtc: EmulatorThread, qps: int, shards: int,
                  usage: list[tuple[float, float]], call_log: CallLog,
                  startup: tuple[float, float]) -> None:
    """Per shard: the tasks it started (the shard of each task's URL), its calls during
    start-up (per second, against its slice) and its peak in any sliding second, its RSS
    and CPU. Then the peak over all shards together: what the account sees."""
    started = [0] * shards
    for task in rtc.tasks():
        started[shard_of_key(str(stream_key(task["streamURL"])), shards)] += 1
    begin, end = startup
    for i, (rss, cpu) in enumerate(usage):
        times = [c.at for c in call_log.by(_key(i))]
        during = sum(1 for t in times if begin <= t <= end)
        print(f"{tag}: shard {i}/{shards}: {started[i]} tasks on its URLs; start-up "
              f"{during} calls = {during / max(end - begin, 1e-9):.1f} calls/s, peak "
              f"{_peak(times)} calls/s (slice {qps / shards:g}); RSS {rss:.0f} MiB, "
              f"CPU {cpu:.1f}s", flush=True)
    every = [c.at for i in range(shards) for c in call_log.by(_key(i))]
    print(f"{tag}: all shards together (one account): peak {_peak(every)} calls/s "
          f"by the call log (emulator: {rtc.stats()['peakCallsPerSecond']}) vs qps {qps}",
          flush=True)


def _peak(times: list[float]) -> int:
    """Most calls in any sliding second."""
    ordered, peak, first = sorted(times), 0, 0
    for last, at in enumerate(ordered):
        while ordered[first] <= at - 1.0:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


@dataclasses.dataclass
class ClientCost:
    """One RTC client's CPU for N StartMPUTask and N GetMPUTaskStatus calls."""

    client: str
    calls: int
    cpu_s: float
    wall_s: float

    def line(self) -> str:
        return (f"client {self.client}: {self.calls} calls (StartMPUTask, GetMPUTaskStatus), "
                f"CPU {self.cpu_s * 1000 / self.calls:.2f} ms/call "
                f"({self.cpu_s:.2f}s in all, wall {self.wall_s:.1f}s)")


def bench_clients(rtc: EmulatorThread, n: int) -> list[ClientCost]:
    """Ours (``rtc/client.py``'s ``RTCClient``) and the official ``alibabacloud-rtc20180111``
    client, each making the same N starts then N status calls against the same emulator,
    one at a time from this thread. CPU is this thread's (``time.thread_time``): the
    emulator's own threads are not counted, nor the emulator's added latency."""
    ours = RTCClient(rtc.url)
    creds = Credentials(KEY_ID, SECRET)
    official = acs3_client(rtc.endpoint)

    def ours_start(app: str, i: int) -> None:
        ours.start_mpu_task(creds, StartParams(
            app, f"ch-{i}", f"t-{i}", f"rtmp://bench.example/{app}/{i}",
            LayoutParams((1,)), 20, "4IN_720P"))

    def ours_status(app: str, i: int) -> None:
        ours.get_mpu_task_status(creds, app, f"t-{i}")

    def official_start(app: str, i: int) -> None:
        official.start_mputask(models.StartMPUTaskRequest(
            app_id=app, channel_id=f"ch-{i}", task_id=f"t-{i}",
            stream_url=f"rtmp://bench.example/{app}/{i}", layout_ids=[1], media_encode=20))

    def official_status(app: str, i: int) -> None:
        official.get_mputask_status(models.GetMPUTaskStatusRequest(app_id=app, task_id=f"t-{i}"))

    return [_client_cost("ours (mpu_operator.rtc.client.RTCClient)", "sdk-ours", n,
                         ours_start, ours_status),
            _client_cost("official (alibabacloud-rtc20180111)", "sdk-official", n,
                         official_start, official_status)]


def _client_cost(name: str, app: str, n: int, start: Any, status: Any) -> ClientCost:
    start(app, -1)  # warm-up: imports, the first connection
    status(app, -1)
    wall, cpu = time.perf_counter(), time.thread_time()
    for i in range(n):
        start(app, i)
    for i in range(n):
        status(app, i)
    return ClientCost(name, 2 * n, time.thread_time() - cpu, time.perf_counter() - wall)


class _Edits:
    """Layout edits of started tasks, and their latency to UpdateMPULayout at the service.

    Asks the emulator for the few tasks it needs by channel, never for all N: a thousand
    whole records keep the emulator's loop busy long enough to bunch the operator's calls
    that arrive meanwhile (its peak per second would then measure this bench)."""

    def __init__(self, kube: Cluster, rtc: EmulatorThread, ns: str, names: list[str]) -> None:
        self.kube, self.rtc, self.ns = kube, rtc, ns
        self.unedited = [f"ch-{name}" for name in names]  # in creation (about start) order
        self.pending: dict[str, float] = {}  # channel -> when the edit was made
        self.latencies: list[float] = []

    def edit(self) -> None:
        """Edit one started task that was not edited before (of the first few created)."""
        for task in self.rtc.tasks(self.unedited[:CANDIDATES]):
            channel = task["channelId"]
            if task["status"] in (0, 1):
                self.unedited.remove(channel)
                self.pending[channel] = time.time()
                self.kube.patch(KIND, self.ns, channel.removeprefix("ch-"),
                                {"spec": {"layout": {"layoutIds": [1, 2, 6]}}})
                return

    def collect(self) -> None:
        if not self.pending:
            return
        for task in self.rtc.tasks(list(self.pending)):
            sent = self.pending.get(task["channelId"])
            if sent is None:
                continue
            updates = [parse(h["time"]).timestamp() for h in task["history"]
                       if h["action"] == "UpdateMPULayout" and h.get("outcome") == "OK"]
            later = [u for u in updates if u >= sent]
            if later:
                self.latencies.append(min(later) - sent)
                del self.pending[task["channelId"]]


def _drain(kube: Cluster, rtc: EmulatorThread, ns: str, n: int, qps: int, began: float,
           edits: _Edits, deadline: float) -> float:
    """Until all N are Waiting: poll, and make an edit every so often while the backlog
    drains (a user's change must go ahead of routine work). Returns when all were Waiting."""
    every = max(1.0, 2 * n / qps / EDITS_BACKLOG)
    next_edit = began + every
    while time.time() < began + deadline:
        phases = [(o.get("status") or {}).get("phase") for o in kube.list(KIND, ns)]
        if phases.count("Waiting") >= n:
            return time.time()
        if time.time() >= next_edit:
            edits.collect()
            edits.edit()
            next_edit += every
        time.sleep(0.25)
    return math.inf


def _all_tasks(rtc: EmulatorThread, names: list[str]) -> list[dict[str, Any]]:
    """Every task, asked for a hundred channels at a time (see ``_Edits``)."""
    channels = [f"ch-{name}" for name in names]
    return [t for i in range(0, len(channels), 100) for t in rtc.tasks(channels[i:i + 100])]


def _steady(rtc: EmulatorThread, edits: _Edits, seconds: float) -> int:
    """``seconds`` of steady state with a few edits; the API calls made meanwhile."""
    before, end = _calls(rtc), time.time() + seconds
    every = seconds / EDITS_STEADY
    while time.time() < end:
        edits.collect()
        edits.edit()
        time.sleep(min(every, max(0.0, end - time.time())))
    return _calls(rtc) - before


def _finish(edits: _Edits, seconds: float) -> None:
    end = time.time() + seconds
    while edits.pending and time.time() < end:
        edits.collect()
        time.sleep(0.5)


def _calls(rtc: EmulatorThread) -> int:
    return sum(rtc.stats()["calls"].values())


def _usage(operator: OperatorProcess) -> tuple[float, float]:
    """The operator's peak RSS (MiB) and CPU seconds so far, from /proc."""
    assert operator.proc is not None
    pid = operator.proc.pid
    status = Path(f"/proc/{pid}/status").read_text()
    hwm = next(int(line.split()[1]) for line in status.splitlines()
               if line.startswith("VmHWM:"))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return hwm / 1024, (int(fields[11]) + int(fields[12])) / ticks


def bench_validate() -> None:
    work = Path(tempfile.mkdtemp(prefix="mpu-validate-"))
    docs = []
    for i in range(1000):
        m = manifest(f"v{i}", "default")
        docs.append(f"apiVersion: {m['apiVersion']}\nkind: MPUTask\nmetadata: {{name: v{i}}}\n"
                    f"spec:\n  appId: a\n  channelId: c{i}\n  streamURL: rtmp://h/l/{i}\n"
                    f"  layout: {{layoutIds: [1, 6]}}\n  encoding: {{mediaEncode: 20}}\n")
    (work / "all.yaml").write_text("---\n".join(docs))
    began = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "mpu_operator", "validate", str(work)],
                            capture_output=True, text=True)
    took = time.perf_counter() - began
    print(f"validate 1000 manifests (one process, incl. start-up): {took:.2f}s, "
          f"exit {result.returncode}")


def bench_scrub() -> None:
    from mpu_operator.logsafety import scrub
    from tests.test_logsafety import _HOSTILE

    for shape, make in sorted(_HOSTILE.items()):
        times = []
        for size in (100_000, 1_000_000):
            text = make(size)
            started = time.perf_counter()
            scrub(text)
            times.append(time.perf_counter() - started)
        print(f"scrub {shape}: 100kB {times[0] * 1000:.0f} ms, 1MB {times[1] * 1000:.0f} ms "
              f"(x{times[1] / max(times[0], 1e-6):.1f} for 10x the text)")


def bench_failover(count: int = 20, latency_ms: float = LATENCY_MS) -> list[float]:
    """Backup stream URLs (issue #11): ``count`` failovers over ``count / 2`` MPUTasks with
    two backups each, at the operator's default settings. One at a time, each task's
    primary fails (status 5), then, once it runs on backup 1, backup 1 fails (on to backup
    2). The gap is the emulator's own times: the failed task's ``stoppedAt`` to the next
    task's ``startedAt``. Prints p50/p99/max. (The routine poll budget stretches the fast
    poll to active tasks / (QPS x share): 10 tasks poll every 2 s, 20 every 4 s.)"""
    work = Path(tempfile.mkdtemp(prefix="mpu-bench-fo-"))
    tasks = max(1, math.ceil(count / 2))
    config = EmulatorConfig(max_concurrent_tasks=tasks + 10, latency_ms=latency_ms)
    gaps: list[float] = []
    with _kube_process() as kube_url, EmulatorThread(config) as rtc:
        kube = Cluster.for_url(kube_url)
        ns = kube.create_namespace("bench-fo-")
        operator = OperatorProcess(kubeconfig_for(kube.url, work), {
            "MPU_RTC_ENDPOINT": rtc.url, "ALIBABA_CLOUD_ACCESS_KEY_ID": "testid",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "testsecret",
            "MPU_MAX_TASKS_PER_APP": str(tasks + 10),
        }, work, verbose=False).start()
        try:
            names = [f"f{i:03d}" for i in range(tasks)]
            for name in names:
                kube.create(manifest(name, ns, backupStreamURLs=[
                    f"rtmp://backup{b}.example.com/live/{name}?auth_key=k" for b in (1, 2)]))
            kube.wait_for(lambda: len(rtc.tasks()) >= tasks or None, 120, "all started")
            app, rng = manifest("x", ns)["spec"]["appId"], random.Random(11)
            for name in names:
                for onto in ("backup1", "backup2")[:count - len(gaps)]:
                    gaps.append(_failover_gap(kube, rtc, ns, app, name, onto, rng))
            violations = rtc.stats().get("urlRuleViolations", 0)
        finally:
            operator.stop()
    print(f"failover: {len(gaps)} failovers (status 5 -> start on the next URL) over {tasks} "
          f"tasks at default settings: gap p50 {_pct(gaps, .5):.2f}s p99 "
          f"{_pct(gaps, .99):.2f}s max {max(gaps, default=math.nan):.2f}s; URL violations "
          f"{violations}", flush=True)
    return gaps


def _failover_gap(kube: Cluster, rtc: EmulatorThread, ns: str, app: str, name: str,
                  onto: str, rng: random.Random) -> float:
    """Fail the live task of ``name`` at a random moment of its poll cycle (once the
    operator has confirmed it); seconds from its stop to the start on ``onto``."""
    channel = f"ch-{name}"
    live = next(t for t in rtc.tasks() if t["channelId"] == channel and t["status"] in (0, 1))
    kube.wait_for(lambda: ((kube.find(KIND, ns, name) or {}).get("status") or {}).get(
        "taskId") == live["taskId"] and (kube.find(KIND, ns, name) or {}).get(
        "status", {}).get("remoteStatus") is not None, 30, f"{name}'s task confirmed")
    time.sleep(rng.uniform(0.0, 2.0))  # a failure comes at any moment of the poll cycle
    rtc.fail(app, live["taskId"], 5)
    started = kube.wait_for(lambda: next(
        (t for t in rtc.tasks() if t["channelId"] == channel and onto in t["streamURL"]),
        None), 60, f"{channel}'s failover onto {onto}")
    failed = next(t for t in rtc.tasks() if t["taskId"] == live["taskId"])
    return (parse(started["startedAt"]) - parse(failed["stoppedAt"])).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description="mpu-operator's benchmarks (make bench)")
    parser.add_argument("--n", type=int, nargs="+", default=list(N_DEFAULT),
                        help="task counts to run, in order (default: 100 300 1000)")
    parser.add_argument("--qps", type=int, default=QPS, help="the operator's MPU_API_QPS")
    parser.add_argument("--apps", type=int, default=APPS, help="apps the tasks are spread over")
    parser.add_argument("--latency-ms", type=float, default=LATENCY_MS,
                        help="the RTC emulator's added latency per call")
    parser.add_argument("--steady-s", type=float, default=120.0,
                        help="the steady window after all are Waiting")
    parser.add_argument("--shards", type=int, default=1,
                        help="operator processes, MPU_SHARD=i/k each (default 1: not sharded)")
    parser.add_argument("--no-clients", action="store_true",
                        help="skip the RTC client comparison (ours vs the official SDK)")
    parser.add_argument("--operator-only", action="store_true",
                        help="skip the validate and scrubber benchmarks")
    parser.add_argument("--failover", type=int, default=0, metavar="N",
                        help="only the failover gap over N failovers (issue #11)")
    args = parser.parse_args()
    if args.failover:
        bench_failover(args.failover, args.latency_ms)
        return
    if not args.operator_only:
        bench_validate()
        bench_scrub()
    runs = [bench_operator(n, args.qps, args.apps, args.latency_ms, args.steady_s,
                           args.shards, not args.no_clients) for n in args.n]
    for run in runs:
        print(run.summary(), flush=True)


if __name__ == "__main__":
    main()
