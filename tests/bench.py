"""``make bench``: the operator's timings, measured at the RTC emulator.

Runs the real operator process against the Kubernetes stand-in and the RTC emulator on
loopback. Bounded: a few minutes on 2 cores. Prints one line per measurement.

1. N MPUTasks created at once: time from creation to ``Waiting`` (p50/p95/max), and the
   emulator's peak calls/s against the operator's MPU_API_QPS.
2. A user's layout edit while N tasks poll: time until UpdateMPULayout reaches the service.
3. ``mpu-operator validate`` over 1000 manifests.
4. The log scrubber on 100 kB and 1 MB hostile lines: linear, not quadratic.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mpu_operator.emulator.config import EmulatorConfig
from mpu_operator.emulator.harness import EmulatorThread
from mpu_operator.sandbox.kube import KubeEmulator
from mpu_operator.sandbox.serve import ServerThread
from tests.operator.harness import KIND, OperatorProcess, kubeconfig_for, manifest, parse
from tests.support.cluster import Cluster

N = 40
QPS = 10


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_operator() -> None:
    work = Path(tempfile.mkdtemp(prefix="mpu-bench-"))
    config = EmulatorConfig(url_cooldown_seconds=1.0, max_concurrent_tasks=N + 10,
                            latency_ms=20)
    with ServerThread(KubeEmulator(), name="kube") as server, EmulatorThread(config) as rtc:
        kube = Cluster.for_url(server.url, emulator=server.handler)
        ns = kube.create_namespace("bench-")
        operator = OperatorProcess(kubeconfig_for(kube.url, work), {
            "MPU_RTC_ENDPOINT": rtc.url, "ALIBABA_CLOUD_ACCESS_KEY_ID": "testid",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "testsecret", "MPU_API_QPS": str(QPS),
            "MPU_URL_COOLDOWN_SECONDS": "1", "MPU_MAX_TASKS_PER_APP": str(N + 10),
            "MPU_POLL_FAST_SECONDS": "1", "MPU_POLL_STEADY_SECONDS": "5",
        }, work).start()
        try:
            time.sleep(1.5)  # the operator's own start-up cooldown (1 s here) and login
            created: dict[str, float] = {}
            for i in range(N):
                name = f"b{i:03d}"
                created[name] = time.time()
                kube.create(manifest(name, ns))
            ready: dict[str, float] = {}
            deadline = time.time() + 180
            while len(ready) < N and time.time() < deadline:
                for obj in kube.list(KIND, ns):
                    name = obj["metadata"]["name"]
                    if name not in ready and (obj.get("status") or {}).get("phase") == "Waiting":
                        ready[name] = time.time()
                time.sleep(0.1)
            latencies = [ready[n] - created[n] for n in ready]
            stats = rtc.stats()
            print(f"create->Waiting, {N} tasks at once: {len(ready)}/{N} ready; "
                  f"p50 {statistics.median(latencies):.2f}s p95 {_pct(latencies, .95):.2f}s "
                  f"max {max(latencies):.2f}s")
            print(f"  emulator: peak {stats['peakCallsPerSecond']} calls/s "
                  f"(MPU_API_QPS={QPS}), calls {stats['calls']}, "
                  f"URL violations {stats['urlRuleViolations']}")

            # A user's edit while every task polls: it must not queue behind the polls.
            edits = []
            for i in range(5):
                name = f"b{i:03d}"
                before = time.time()
                kube.patch(KIND, ns, name, {"spec": {"layout": {"layoutIds": [1, 2, 6]}}})
                task = kube.wait_for(lambda n=name: _updated(rtc, n), 30, "the update")
                when = parse([h for h in task["history"]
                              if h["action"] == "UpdateMPULayout"][-1]["time"]).timestamp()
                edits.append(when - before)
            print(f"layout edit -> UpdateMPULayout at the service, {N} tasks polling: "
                  f"median {statistics.median(edits):.2f}s max {max(edits):.2f}s")
        finally:
            operator.stop()


def _updated(rtc: EmulatorThread, name: str) -> dict | None:
    for task in rtc.tasks():
        if task["channelId"] == f"ch-{name}" and task["layoutIds"] == [1, 2, 6]:
            return task
    return None


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


if __name__ == "__main__":
    bench_validate()
    bench_scrub()
    bench_operator()
