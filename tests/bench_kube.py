"""``make bench-kube``: the Kubernetes API stand-in alone, at 1000 MPUTasks.

The stand-in serves the operator's bench and the sandbox; if it is slow, those time the
stand-in instead of the operator. This measures it on its own, over loopback HTTP, with
the stand-in in a child process (so the client's CPU does not share its GIL). One line per
measurement, each bounded in time (a phase that runs out reports what it managed):

1. creates/s: POST N MPUTasks (8 requests in flight);
2. lists/s: LIST of the namespace's N MPUTasks;
3. status merge-patches/s: PATCH ``/status`` of every task once;
4. watch delivery: 1 and 3 watchers while N status patches are made; events/s delivered.

``python -m tests.bench_kube [--objects N] [--profile FILE]`` (``--profile``: cProfile of
the stand-in process, written when it stops; read with ``python -m pstats FILE``).
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import multiprocessing
import multiprocessing.connection
import resource
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from mpu_operator.sandbox.resources import MPUTASKS, NAMESPACES
from tests.operator.harness import manifest

NAMESPACE = "bench"
IN_FLIGHT = 8
PHASE_SECONDS = 60.0
MERGE = {"Content-Type": "application/merge-patch+json"}


def _serve(conn: multiprocessing.connection.Connection, profile: str | None) -> None:
    """The child: the stand-in on a free port until the parent says stop."""
    from mpu_operator.sandbox.kube import KubeEmulator
    from mpu_operator.sandbox.serve import ServerThread

    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()  # only the server thread's calls matter; it is the busy one
    with ServerThread(KubeEmulator(), name="kube") as server:
        if profiler is not None:
            profiler.disable()
            server.call(profiler.enable)  # the profile of the server's loop thread
        conn.send(server.url)
        conn.recv()
        if profiler is not None:
            server.call(profiler.disable)
        conn.send(resource.getrusage(resource.RUSAGE_SELF))
    if profiler is not None and profile:
        profiler.dump_stats(profile)


async def _run(objects: int, url: str, n_in_flight: int = IN_FLIGHT) -> None:
    async with aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(limit=32)) as http:
        await _ok(http.post(NAMESPACES.path(), json={"metadata": {"name": NAMESPACE}}))
        names = [f"t{i:04d}" for i in range(objects)]

        async def create(i: int) -> None:
            await _ok(http.post(MPUTASKS.path(NAMESPACE), json=manifest(names[i], NAMESPACE)))
        done, took = await _phase(create, objects, n_in_flight)
        _line("creates", done, took, f"{objects} MPUTasks, {n_in_flight} in flight")

        async def list_all(_: int) -> None:
            body = await _ok(http.get(MPUTASKS.path(NAMESPACE)))
            assert len(body["items"]) == done, len(body["items"])
        listed, took = await _phase(list_all, 10_000, 2, seconds=10)
        _line("lists", listed, took, f"LIST of {done} objects, 2 in flight")

        async def patch_status(i: int) -> None:
            await _ok(http.patch(MPUTASKS.path(NAMESPACE, names[i % done], "status"),
                                 json={"status": {"phase": "Pending", "round": i}},
                                 headers=MERGE))
        patched, took = await _phase(patch_status, done, n_in_flight)
        _line("status patches", patched, took, f"merge patches of /status at {done} objects")

        for watchers in (1, 3):
            await _watch(http, watchers, names[:done], patch_status, done * (1 + watchers))


async def _watch(http: aiohttp.ClientSession, watchers: int, names: list[str],
                 patch: Callable[[int], Awaitable[None]], offset: int) -> None:
    """``watchers`` watches from the current resourceVersion; one status patch per task;
    the time until every watcher has every event."""
    listing = await _ok(http.get(MPUTASKS.path(NAMESPACE), params={"limit": "1"}))
    since = listing["metadata"]["resourceVersion"]
    counts = [0] * watchers
    wanted = len(names)

    async def follow(k: int) -> None:
        async with http.get(MPUTASKS.path(NAMESPACE), params={
                "watch": "true", "resourceVersion": since,
                "timeoutSeconds": str(int(PHASE_SECONDS))}) as response:
            async for line in response.content:
                if line.strip() and json.loads(line)["type"] == "MODIFIED":
                    counts[k] += 1
                    if counts[k] >= wanted:
                        return

    began = time.perf_counter()
    followers = [asyncio.create_task(follow(k)) for k in range(watchers)]
    await _phase(lambda i: patch(offset + i), wanted, IN_FLIGHT)
    try:
        await asyncio.wait_for(asyncio.gather(*followers), PHASE_SECONDS)
    except TimeoutError:
        for task in followers:
            task.cancel()
    took = time.perf_counter() - began
    _line(f"watch events ({watchers} watcher{'s' if watchers > 1 else ''})", sum(counts), took,
          f"{wanted} status patches, each to {watchers}; incl. the patches' own time")


async def _phase(step: Callable[[int], Awaitable[None]], count: int, in_flight: int,
                 seconds: float = PHASE_SECONDS) -> tuple[int, float]:
    """Run ``step(0..count-1)`` with ``in_flight`` at once until done or ``seconds`` pass."""
    began = time.perf_counter()
    deadline = began + seconds
    next_i = 0
    done = 0

    async def worker() -> None:
        nonlocal next_i, done
        while next_i < count and time.perf_counter() < deadline:
            i, next_i = next_i, next_i + 1
            await step(i)
            done += 1
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return done, time.perf_counter() - began


async def _ok(request: Any) -> Any:
    async with request as response:
        body = await response.json()
        if response.status >= 300:
            raise RuntimeError(f"{response.status}: {body}")
        return body


def _line(what: str, count: int, took: float, detail: str) -> None:
    print(f"kube stand-in {what}: {count / took:.0f}/s ({count} in {took:.1f}s; {detail})",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--profile", help="write the stand-in's cProfile stats here")
    args = parser.parse_args()
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(child, args.profile), daemon=True)
    server.start()
    try:
        if not parent.poll(30):
            raise RuntimeError("the stand-in did not start")
        asyncio.run(_run(args.objects, parent.recv()))
    finally:
        parent.send("stop")
        if parent.poll(30):
            usage = parent.recv()
            print(f"kube stand-in process: peak RSS {usage.ru_maxrss / 1024:.0f} MiB, CPU "
                  f"{usage.ru_utime + usage.ru_stime:.1f}s (whole run)", flush=True)
        server.join(30)


if __name__ == "__main__":
    main()
