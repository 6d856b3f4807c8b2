"""Many clients at once: every call counted, every rule held, nothing lost."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from mpu_operator.emulator import EmulatorThread

from .conftest import QUOTA, fresh
from .sdk import CALLERS, Acs3Caller, Caller, Refused, V1Caller

pytestmark = pytest.mark.integration

THREADS = 8
ROUNDS = 25


def together(count: int, work: Callable[[int], str]) -> list[str]:
    """Run ``work(i)`` in ``count`` threads released at the same instant."""
    barrier = threading.Barrier(count)

    def run(i: int) -> str:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def outcome(call: Callable[[], object]) -> str:
    try:
        call()
    except Refused as refusal:
        return refusal.code
    return "OK"


def test_concurrent_clients_lose_no_update(emu: EmulatorThread) -> None:
    kinds = sorted(CALLERS)
    apps = [fresh("app") for _ in range(THREADS)]

    def client_life(i: int) -> str:
        sdk: Caller = CALLERS[kinds[i % len(kinds)]](emu.endpoint)
        app = apps[i]
        for n in range(ROUNDS):
            task = f"t{i}-{n}"
            sdk.start(app, "ch", task, f"rtmp://push.example.com/live/{app}-{n}")
            assert sdk.status(app, task) == 0
            sdk.stop(app, task)
        return "done"

    began = time.monotonic()
    assert together(THREADS, client_life) == ["done"] * THREADS
    elapsed = time.monotonic() - began
    stats = emu.stats()
    calls = THREADS * ROUNDS
    assert stats["calls"] == {"StartMPUTask": calls, "GetMPUTaskStatus": calls,
                              "StopMPUTask": calls}
    assert stats["errors"] == {}
    tasks = emu.tasks()
    assert len(tasks) == calls and {t["status"] for t in tasks} == {3}
    assert all(len(t["history"]) == 3 for t in tasks)
    print(f"\n{3 * calls} SDK calls from {THREADS} threads in {elapsed:.2f} s: "
          f"{3 * calls / elapsed:.0f} calls/s; peak {stats['peakCallsPerSecond']}/s")


def test_racing_for_one_url_exactly_one_wins(emu: EmulatorThread) -> None:
    shared = f"rtmp://push.example.com/live/{fresh('s')}"

    def start(i: int) -> str:
        sdk = (V1Caller if i % 2 else Acs3Caller)(emu.endpoint)
        return outcome(lambda: sdk.start(fresh("app"), "ch", f"race{i}",
                                         f"{shared}?auth_key={i}"))

    results = Counter(together(THREADS, start))
    assert results == {"OK": 1, "Request.StreamURLInUse": THREADS - 1}
    assert emu.stats()["urlRuleViolations"] == THREADS - 1


def test_racing_past_the_quota_never_exceeds_it(emu: EmulatorThread) -> None:
    app = fresh("app")

    def start(i: int) -> str:
        sdk = (V1Caller if i % 2 else Acs3Caller)(emu.endpoint)
        return outcome(lambda: sdk.start(app, "ch", f"q{i}",
                                         f"rtmp://push.example.com/live/{app}-{i}"))

    results = Counter(together(THREADS, start))
    assert results == {"OK": QUOTA, "Request.TaskQuotaExceeded": THREADS - QUOTA}
    stats = emu.stats()
    assert stats["maxConcurrentTasks"] == QUOTA
    assert stats["quotaRefusals"] == THREADS - QUOTA


def test_joins_and_leaves_from_many_threads(emu: EmulatorThread) -> None:
    app, channel = fresh("app"), fresh("ch")

    def churn(i: int) -> str:
        for n in range(20):
            emu.join(app, channel, f"u{i}-{n}")
        for n in range(0, 20, 2):
            emu.leave(app, channel, f"u{i}-{n}")
        return "done"

    together(THREADS, churn)
    users = emu.join(app, channel, "last")
    assert len(users) == THREADS * 10 + 1
