"""``make soak``: a bounded chaos run of the real operator process, judged by the record.

The operator runs as a process against the Kubernetes stand-in and the RTC emulator on
loopback while, for ``--seconds``, everything goes wrong at once: about 10 % of API calls
fail or time out (some applied at once, some starts applied late), the CDN and the stream
URL fail random tasks, users join and leave, specs change (layout, and immutable fields:
the channel), MPUTasks are suspended and resumed, deleted and re-created on the same URL,
and the operator is SIGKILLed and restarted at random moments. Then the faults stop and
every surviving MPUTask must converge within 60 s. The emulator's record is the judge:

- ``url_violations``: refused starts that broke a URL rule (the operator keeps them itself);
- ``duplicates``: a TaskId started twice, or two tasks of one MPUTask live at once;
- ``leaks``: live tasks whose MPUTask is gone, at convergence and after deleting all;
- ``quota_breaches``: starts refused for the quota, or an app above it.

Every random choice comes from ``--seed`` (printed first); the run's length and size are
bounded by the arguments. The last line is the summary; the exit status is 1 on a breach.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from mpu_operator.core.taskid import derive_base
from mpu_operator.emulator.config import EmulatorConfig
from mpu_operator.emulator.harness import EmulatorThread
from mpu_operator.sandbox.kube import KubeEmulator
from mpu_operator.sandbox.serve import ServerThread
from tests.operator.harness import KIND, OperatorProcess, condition, kubeconfig_for, manifest
from tests.support.cluster import ApiError, Cluster

CONVERGE_SECONDS = 60.0
LAYOUTS = ([1], [1, 6], [1, 2, 6])
COOLDOWN = 1.0  # the URL cooldown, on both sides: short, so re-creates are not all waiting
QPS = 25


@dataclass
class Options:
    tasks: int = 100
    kills: int = 10
    seconds: float = 150.0
    seed: int = 0
    apps: int = 4
    fault_rate: float = 0.1
    converge_seconds: float = CONVERGE_SECONDS
    work: Path | None = None
    out: Callable[[str], None] = print


@dataclass
class Summary:
    kills: int = 0
    url_violations: int = 0
    duplicates: int = 0
    leaks: int = 0
    quota_breaches: int = 0
    converged_s: float | None = None  # None: not within CONVERGE_SECONDS
    unconverged: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.converged_s is not None and not (
            self.url_violations or self.duplicates or self.leaks or self.quota_breaches))

    def line(self) -> str:
        converged = "none" if self.converged_s is None else f"{self.converged_s:.1f}"
        return (f"summary kills={self.kills} url_violations={self.url_violations} "
                f"duplicates={self.duplicates} leaks={self.leaks} "
                f"quota_breaches={self.quota_breaches} converged_s={converged}")


@dataclass
class Counts:
    """What the chaos did, for the report."""

    done: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, what: str) -> None:
        self.done[what] += 1

    def text(self) -> str:
        return " ".join(f"{k}={v}" for k, v in sorted(self.done.items()))


class Chaos:
    """The driver: owns the seeded RNG, the cluster, the emulator and the operator."""

    def __init__(self, opts: Options, kube: Cluster, rtc: EmulatorThread,
                 operator: OperatorProcess, namespace: str) -> None:
        self.opts, self.kube, self.rtc, self.operator = opts, kube, rtc, operator
        self.ns = namespace
        self.rng = random.Random(opts.seed)
        self.names = [f"t{i:03d}" for i in range(opts.tasks)]
        self.channel_version: dict[str, int] = dict.fromkeys(self.names, 0)
        self.recreate_at: dict[str, float] = {}  # deleted; to be re-created at this time
        self.users: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.counts = Counts()
        self.kills = 0
        self.restart_at: float | None = None

    # -- the objects -----------------------------------------------------------------

    def app(self, name: str) -> str:
        return f"soak-app-{int(name[1:]) % self.opts.apps}"

    def channel(self, name: str) -> str:
        return f"ch-{name}-v{self.channel_version[name]}"

    def body(self, name: str) -> dict[str, Any]:
        return manifest(name, self.ns, appId=self.app(name), channelId=self.channel(name))

    def create_all(self) -> None:
        for name in self.names:
            self.kube.create(self.body(name))

    # -- one random act ----------------------------------------------------------------

    def act(self) -> None:
        acts: list[tuple[float, Callable[[], None]]] = [
            (3, self.edit_layout), (1, self.edit_immutable), (1, self.toggle_suspend),
            (1, self.delete), (2, self.fail_task), (3, self.join_or_leave)]
        weights = [w for w, _ in acts]
        action = self.rng.choices([a for _, a in acts], weights)[0]
        try:
            action()
        except ApiError as error:  # a 404/409 race with the operator or a deletion
            self.counts.add(f"refused-{error.status}")
        except requests.RequestException:  # the stand-in, busy at 100 objects, timed out
            self.counts.add("kube-timeouts")

    def present(self) -> list[str]:
        return [n for n in self.names if n not in self.recreate_at]

    def pick(self) -> str:
        return self.rng.choice(self.present() or self.names)

    def edit_layout(self) -> None:
        self.kube.patch(KIND, self.ns, self.pick(),
                        {"spec": {"layout": {"layoutIds": self.rng.choice(LAYOUTS)}}})
        self.counts.add("layout-edits")

    def edit_immutable(self) -> None:
        name = self.pick()
        self.channel_version[name] += 1
        self.kube.patch(KIND, self.ns, name, {"spec": {"channelId": self.channel(name)}})
        self.counts.add("immutable-edits")

    def toggle_suspend(self) -> None:
        name = self.pick()
        obj = self.kube.get(KIND, self.ns, name)
        suspended = bool(obj["spec"].get("suspend"))
        self.kube.patch(KIND, self.ns, name, {"spec": {"suspend": not suspended}})
        self.counts.add("resumes" if suspended else "suspends")

    def delete(self) -> None:
        name = self.pick()
        self.kube.delete(KIND, self.ns, name, missing_ok=True)
        self.recreate_at[name] = time.monotonic() + self.rng.uniform(0, 5)
        self.counts.add("deletes")

    def recreate_due(self, *, all_now: bool = False) -> None:
        now = time.monotonic()
        for name, due in sorted(self.recreate_at.items()):
            if not all_now and due > now:
                continue
            try:
                self.kube.create(self.body(name))
            except ApiError as error:
                if error.status == 409:  # the old one still finalizing: later
                    continue
                raise
            except requests.RequestException:  # the stand-in timed out: try again later
                self.counts.add("kube-timeouts")
                continue
            del self.recreate_at[name]
            self.counts.add("recreates")

    def live_tasks(self) -> list[dict[str, Any]]:
        return [t for t in self.rtc.tasks() if t["stoppedAt"] is None]

    def fail_task(self) -> None:
        live = self.live_tasks()
        if not live:
            return
        task = self.rng.choice(live)
        status = self.rng.choice((5, 6))
        try:
            self.rtc.fail(task["appId"], task["taskId"], status)
        except RuntimeError:  # stopped meanwhile
            return
        self.counts.add(f"fail-{status}")

    def join_or_leave(self) -> None:
        name = self.pick()
        key = (self.app(name), self.channel(name))
        here = self.users[key]
        if here and self.rng.random() < 0.5:
            user = self.rng.choice(sorted(here))
            self.rtc.leave(*key, user)
            here.discard(user)
            self.counts.add("leaves")
        else:
            user = f"u{self.rng.randrange(4)}"
            self.rtc.join(*key, user)
            here.add(user)
            self.counts.add("joins")

    # -- the operator ------------------------------------------------------------------

    def kill(self) -> None:
        self.operator.kill()
        self.kills += 1
        self.restart_at = time.monotonic() + self.rng.uniform(0, 3)

    def restart_due(self, *, now_anyway: bool = False) -> None:
        if self.restart_at is not None and (now_anyway or time.monotonic() >= self.restart_at):
            self.operator.start()
            self.restart_at = None

    def run(self) -> None:
        """``seconds`` of chaos: an act every 0.1..0.6 s, the kills spread over the run."""
        began = time.monotonic()
        span = self.opts.seconds
        kill_times = sorted(self.rng.uniform(0.05 * span, 0.9 * span)
                            for _ in range(self.opts.kills))
        while time.monotonic() - began < span:
            elapsed = time.monotonic() - began
            if kill_times and elapsed >= kill_times[0] and self.restart_at is None:
                kill_times.pop(0)
                self.kill()
            self.restart_due()
            self.recreate_due()
            self.act()
            time.sleep(self.rng.uniform(0.1, 0.6))
        while kill_times:  # a kill the loop had no time for (a short run): still made
            kill_times.pop(0)
            self.restart_due(now_anyway=True)
            self.kill()
        self.restart_due(now_anyway=True)


# -- judging -------------------------------------------------------------------------


def converged(obj: dict[str, Any]) -> bool:
    """Settled: Waiting/Running (or Suspended when suspended), the generation observed,
    Ready=True."""
    st = obj.get("status") or {}
    want = ("Suspended",) if obj["spec"].get("suspend") else ("Waiting", "Running")
    return (st.get("phase") in want
            and st.get("observedGeneration") == obj["metadata"].get("generation")
            and condition(st, "Ready").get("status") == "True")


def _when(ts: str | None) -> float:
    if ts is None:
        return datetime.now(UTC).timestamp() + 1e6
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def base_of(task_id: str) -> str:
    """The MPUTask a derived TaskId belongs to: the id without its ``-N`` incarnation."""
    head, _, tail = task_id.rpartition("-")
    return head if tail.isdigit() else task_id


def duplicates(record: list[dict[str, Any]]) -> list[str]:
    """TaskIds started twice, and pairs of one MPUTask's tasks that were live at once."""
    found: list[str] = []
    seen: dict[tuple[str, str], int] = defaultdict(int)
    by_base: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for task in record:
        seen[(task["appId"], task["taskId"])] += 1
        by_base[base_of(task["taskId"])].append(task)
    found += [f"{tid} started {n} times" for (_, tid), n in seen.items() if n > 1]
    for tasks in by_base.values():
        spans = sorted((_when(t["startedAt"]), _when(t["stoppedAt"]), t["taskId"])
                       for t in tasks)
        latest_stop, holder = float("-inf"), ""
        for start, stop, task_id in spans:  # each against every earlier one still live
            if start < latest_stop:
                found.append(f"{holder} and {task_id} live at once")
            if stop > latest_stop:
                latest_stop, holder = stop, task_id
    return found


def leaks(record: list[dict[str, Any]], objects: list[dict[str, Any]]) -> list[str]:
    """Live tasks that belong to no MPUTask that exists (by the uid-derived TaskId base)."""
    bases = {derive_base(o["metadata"]["namespace"], o["metadata"]["name"],
                         o["metadata"]["uid"]) for o in objects}
    return [t["taskId"] for t in record
            if t["stoppedAt"] is None and base_of(t["taskId"]) not in bases]


def quota_breaches(stats: dict[str, Any], quota: int) -> int:
    over = sum(max(0, peak - quota) for peak in stats["maxConcurrentTasksByApp"].values())
    return int(stats["quotaRefusals"]) + over


def wait(fn: Callable[[], Any], seconds: float) -> Any:
    """``fn()`` until truthy or the deadline; its last value either way."""
    deadline = time.monotonic() + seconds
    while True:
        value = fn()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(0.25)


@contextmanager
def services(opts: Options, quota: int) -> Iterator[tuple[Cluster, EmulatorThread]]:
    config = EmulatorConfig(url_cooldown_seconds=COOLDOWN, max_concurrent_tasks=quota,
                            idle_stop_seconds=3600, fault_hold_seconds=2.0)
    with ServerThread(KubeEmulator(), name="kube") as server, EmulatorThread(config) as rtc:
        yield Cluster.for_url(server.url, emulator=server.handler), rtc


def operator_env(rtc: EmulatorThread, quota: int) -> dict[str, str]:
    return {"MPU_RTC_ENDPOINT": rtc.url, "ALIBABA_CLOUD_ACCESS_KEY_ID": "testid",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "testsecret", "MPU_API_QPS": str(QPS),
            "MPU_URL_COOLDOWN_SECONDS": str(COOLDOWN), "MPU_MAX_TASKS_PER_APP": str(quota),
            "MPU_POLL_FAST_SECONDS": "1", "MPU_POLL_STEADY_SECONDS": "10",
            "MPU_RESTART_BACKOFF_MAX_SECONDS": "8"}


def soak(opts: Options) -> Summary:
    out = opts.out
    work = opts.work or Path(tempfile.mkdtemp(prefix="mpu-soak-"))
    per_app = -(-opts.tasks // opts.apps)
    quota = per_app + 5
    summary = Summary()
    with services(opts, quota) as (kube, rtc):
        ns = kube.create_namespace("soak-")
        operator = OperatorProcess(kubeconfig_for(kube.url, work),
                                   operator_env(rtc, quota), work).start()
        chaos = Chaos(opts, kube, rtc, operator, ns)
        try:
            rtc.random_faults(opts.fault_rate, seed=opts.seed, late_seconds=5)
            chaos.create_all()
            chaos.run()
            summary.kills = chaos.kills
            injected = rtc.no_random_faults()["randomFaults"]["injected"]
            out(f"chaos: {chaos.counts.text()} kills={chaos.kills} "
                f"random_faults={sum(injected.values())} {injected}")
            _judge(chaos, summary, quota)
        finally:
            operator.kill()  # the record is taken: a graceful stop would only cost time
    out(f"operator logs: {work}")
    return summary


def _judge(chaos: Chaos, summary: Summary, quota: int) -> None:
    kube, rtc, ns, out = chaos.kube, chaos.rtc, chaos.ns, chaos.opts.out
    began = time.monotonic()
    limit = chaos.opts.converge_seconds
    wait(lambda: (chaos.recreate_due(all_now=True), not chaos.recreate_at)[1], limit)

    def settled() -> bool:
        return all(converged(o) for o in kube.list(KIND, ns))
    if wait(settled, limit - (time.monotonic() - began)):
        summary.converged_s = time.monotonic() - began
    else:
        summary.unconverged = [_describe(o) for o in kube.list(KIND, ns) if not converged(o)]
    out(f"converged: {summary.converged_s is not None} in "
        f"{time.monotonic() - began:.1f}s; not converged: {len(summary.unconverged)}")
    for line in summary.unconverged[:10]:
        out(f"  {line}")
    wait(lambda: rtc.stats()["latePendingCalls"] == 0, 15)
    found_leaks = leaks(rtc.tasks(), kube.list(KIND, ns))
    for obj in kube.list(KIND, ns):  # then everything goes: nothing may stay live
        kube.delete(KIND, ns, obj["metadata"]["name"], missing_ok=True)
    deleting = time.monotonic()
    wait(lambda: not kube.list(KIND, ns), CONVERGE_SECONDS)
    out(f"deleted all in {time.monotonic() - deleting:.1f}s")
    wait(lambda: rtc.stats()["latePendingCalls"] == 0, 15)
    record, stats = rtc.tasks(), rtc.stats()
    found_leaks += [f"{t} (after deleting all)" for t in leaks(record, kube.list(KIND, ns))]
    found_dups = duplicates(record)
    summary.leaks, summary.duplicates = len(found_leaks), len(found_dups)
    summary.url_violations = int(stats["urlRuleViolations"])
    summary.quota_breaches = quota_breaches(stats, quota)
    for line in found_leaks[:10]:
        out(f"  leak: {line}")
    for line in found_dups[:10]:
        out(f"  duplicate: {line}")
    out(f"emulator: {len(record)} tasks started, calls {stats['calls']}, "
        f"errors {stats['errors']}, late {stats['lateApplyOutcomes']}, "
        f"quota refusals {stats['quotaRefusals']}, peak by app "
        f"{stats['maxConcurrentTasksByApp']} (quota {quota})")


def _describe(obj: dict[str, Any]) -> str:
    st = obj.get("status") or {}
    ready = condition(st, "Ready")
    return (f"{obj['metadata']['name']}: phase={st.get('phase')} "
            f"gen={obj['metadata'].get('generation')}/{st.get('observedGeneration')} "
            f"suspend={bool(obj['spec'].get('suspend'))} ready={ready.get('status')} "
            f"{ready.get('reason')}: {ready.get('message')}")


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=150.0, help="length of the chaos")
    parser.add_argument("--seed", type=int, default=None, help="default: from the clock")
    parser.add_argument("--apps", type=int, default=4)
    parser.add_argument("--fault-rate", type=float, default=0.1)
    args = parser.parse_args(argv)
    if args.tasks < 1 or args.kills < 0 or args.seconds <= 0 or args.apps < 1:
        parser.error("--tasks and --apps must be positive, --kills not negative, "
                     "--seconds positive")
    seed = args.seed if args.seed is not None else int(time.time() * 1000) % 1_000_000
    return Options(tasks=args.tasks, kills=args.kills, seconds=args.seconds, seed=seed,
                   apps=args.apps, fault_rate=args.fault_rate)


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    print(f"soak: seed={opts.seed} tasks={opts.tasks} kills>={opts.kills} "
          f"seconds={opts.seconds:g} apps={opts.apps} fault_rate={opts.fault_rate}", flush=True)
    began = time.monotonic()
    summary = soak(opts)
    print(f"wall time {time.monotonic() - began:.0f}s")
    print(summary.line(), flush=True)
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
