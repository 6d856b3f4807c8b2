"""High availability: run the operator only while this process holds the Lease.

Several replicas compete for one ``coordination.k8s.io/v1`` Lease with the kubernetes
client's own elector (``kubernetes.leaderelection``). It is synchronous, so it runs in a
thread; the event loop serves the health endpoint meanwhile (a standby is healthy and
ready), and starts kopf only once the elector says this process leads. A leader that
cannot renew the Lease exits (status 1, one log line): kopf's handlers may already be
running elsewhere, and Kubernetes restarts the container as a fresh standby.

The library is used as is, through a Lease lock that works around what it gets wrong
(each workaround is commented where it is made):

* a network error (not an ``ApiException``) escapes ``get``/``create``/``update`` and kills
  the elector thread: a standby would never take over, a leader would keep running kopf
  without renewing;
* its API calls have no timeout: a hung connection blocks the elector forever;
* its renew deadline counts from the start of the current attempt, not from the last
  successful renewal, so a leader may outlive its Lease by up to one retry period (a
  watchdog here exits ``renew_seconds`` after the last renewal, before the Lease expires);
* the client sends times with ``isoformat()``, which drops ``.000000`` when the
  microseconds are 0; the apiserver parses a Lease's MicroTime as RFC3339Micro (six
  digits required) and refuses that write (once in a million; nudged by 1 µs here);
* it never releases the Lease: on a clean shutdown (a rollout) the standby would wait the
  full lease duration. :meth:`Elector.release` clears the holder instead, which the
  library's standbys take over at their next retry.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from kubernetes.client import ApiClient, CoordinationV1Api
from kubernetes.client.rest import ApiException
from kubernetes.leaderelection import electionconfig, leaderelection
from kubernetes.leaderelection.resourcelock.leaselock import LeaseLock

from mpu_operator.controller.settings import LeaderElectionConfig

log = logging.getLogger(__name__)


def exit_process(code: int) -> None:
    """Leave now: kopf's threads and tasks must not act for one more moment."""
    logging.shutdown()  # flush the line that says why
    os._exit(code)


class _TimedApi:
    """The three Lease calls the lock makes, each with a deadline (the library sets none)."""

    def __init__(self, api: Any, timeout: float) -> None:
        self._api, self._timeout = api, timeout

    def read_namespaced_lease(self, name: str, namespace: str) -> Any:
        return self._api.read_namespaced_lease(name, namespace, _request_timeout=self._timeout)

    def create_namespaced_lease(self, namespace: str, body: Any) -> Any:
        return self._api.create_namespaced_lease(namespace, body,
                                                 _request_timeout=self._timeout)

    def replace_namespaced_lease(self, name: str, namespace: str, body: Any) -> Any:
        return self._api.replace_namespaced_lease(name=name, namespace=namespace, body=body,
                                                  _request_timeout=self._timeout)


class Lease(LeaseLock):
    """The library's LeaseLock, made safe to leave running (see the module docstring)."""

    def __init__(self, config: LeaderElectionConfig, api: Any) -> None:
        super().__init__(config.name, config.namespace, config.identity)
        self.api_instance = _TimedApi(api, config.renew_seconds)  # type: ignore[assignment]
        self.renewed_at: float | None = None  # time.monotonic() when our last write began
        self.holder: str | None = None  # the holder we last saw, to log changes once
        self._mutex = threading.Lock()
        self._released = False

    def get(self, name: str, namespace: str) -> tuple[bool, Any]:
        with self._mutex:
            if self._released:
                return False, ApiException(reason="released")
            try:
                found, record = super().get(name, namespace)
            except Exception as exc:  # the library catches only ApiException
                # ...and then reads .body/.reason of what we return: give it an ApiException.
                return False, ApiException(reason=f"{type(exc).__name__} reading the Lease")
        if found:
            self._note_holder(record.holder_identity)
        return found, record

    def create(self, name: str, namespace: str, election_record: Any) -> bool:
        return self._write(super().create, name=name, namespace=namespace,
                           election_record=election_record)

    def update(self, name: str, namespace: str, updated_record: Any) -> bool:
        return self._write(super().update, name, namespace, updated_record)

    def _write(self, write: Callable[..., bool], *args: Any, **kwargs: Any) -> bool:
        with self._mutex:
            if self._released:
                return False
            began = time.monotonic()
            try:
                done = bool(write(*args, **kwargs))
            except Exception as exc:  # as in get(): keep the elector alive
                log.info("writing the Lease failed: %s", type(exc).__name__)
                done = False
            if done:
                self.renewed_at = began  # the Lease counts from before the call reached it
        return done

    def get_lease_spec(self, leader_election_record: Any, current_spec: Any = None) -> Any:
        spec = super().get_lease_spec(leader_election_record, current_spec)
        for attr in ("acquire_time", "renew_time"):
            value = getattr(spec, attr)
            if value is not None and value.microsecond == 0:  # see the module docstring
                setattr(spec, attr, value.replace(microsecond=1))
        return spec

    def _note_holder(self, holder: str | None) -> None:
        if holder != self.holder:
            self.holder = holder
            if holder and holder != self.identity:
                log.info("standby: Lease %s/%s is held by %s", self.namespace, self.name,
                         holder)

    def release(self) -> None:
        """Stop renewing, and hand the Lease back if we hold it (holder cleared)."""
        with self._mutex:
            self._released = True
            if self.renewed_at is None:
                return  # never held it
            try:
                # Read it afresh: the library keeps the object it sent, not the answer, so
                # its copy has a stale resourceVersion after every renewal.
                lease = self.api_instance.read_namespaced_lease(self.name, self.namespace)
                if lease.spec is None or lease.spec.holder_identity != self.identity:
                    return
                lease.spec.holder_identity = None
                lease.spec.lease_duration_seconds = 1
                lease.spec.renew_time = datetime.now(UTC)
                self.api_instance.replace_namespaced_lease(self.name, self.namespace, lease)
            except Exception as exc:  # the standby then waits for expiry
                log.info("could not release the Lease (%s); it expires by itself",
                         type(exc).__name__)
                return
        log.info("released Lease %s/%s", self.namespace, self.name)


class Elector:
    """The library's elector in a thread of its own, plus a renewal watchdog."""

    def __init__(self, config: LeaderElectionConfig, api: Any, *,
                 on_leading: Callable[[], None],
                 on_lost: Callable[[int], None] = exit_process) -> None:
        self.config = config
        self.lock = Lease(config, api)
        self.leading = threading.Event()
        self._on_leading, self._on_lost = on_leading, on_lost
        self.stopped = threading.Event()  # lost or released: act on it once
        self.thread = threading.Thread(target=self._elect, name="leader-election", daemon=True)

    def start(self) -> Elector:
        self.thread.start()
        return self

    def release(self) -> None:
        """A clean shutdown: no more renewals, no exit from here, the Lease handed back."""
        self.stopped.set()
        self.lock.release()

    def _elect(self) -> None:
        c = self.config
        settings = electionconfig.Config(
            self.lock, lease_duration=c.lease_seconds, renew_deadline=c.renew_seconds,
            retry_period=c.retry_seconds, onstarted_leading=self._started,
            onstopped_leading=lambda: None)  # run() returns next: handled below
        try:
            leaderelection.LeaderElection(settings).run()
            reason = "could not renew it in time"
        except BaseException as exc:  # incl. the library's sys.exit()
            reason = f"the elector failed ({type(exc).__name__})"
        self._lost(reason)

    def _started(self) -> None:
        log.info("became the leader (Lease %s/%s, identity %s): starting the operator",
                 self.config.namespace, self.config.name, self.config.identity)
        self.leading.set()
        threading.Thread(target=self._watch, name="lease-watchdog", daemon=True).start()
        self._on_leading()

    def _watch(self) -> None:
        """Exit ``renew_seconds`` after the last renewal, whatever the elector is doing."""
        tick = min(0.5, self.config.retry_seconds / 2)
        while not self.stopped.wait(tick):
            renewed = self.lock.renewed_at
            age = time.monotonic() - renewed if renewed is not None else 0.0
            if age > self.config.renew_seconds:
                self._lost(f"not renewed for {age:.1f}s")
                return

    def _lost(self, reason: str) -> None:
        if self.stopped.is_set():
            return
        self.stopped.set()
        c = self.config
        if self.leading.is_set():
            log.error("lost the Lease %s/%s (%s): exiting so that Kubernetes restarts this pod "
                      "as a standby", c.namespace, c.name, reason)
        else:
            log.error("leader election for Lease %s/%s stopped (%s): exiting", c.namespace,
                      c.name, reason)
        self._on_lost(1)


def health_app(path: str, elector: Elector) -> web.Application:
    """200 on ``path`` for leader and standby alike: a standby is a healthy replica."""
    async def health(_: web.Request) -> web.Response:
        role = "leader" if elector.leading.is_set() else "standby"
        return web.json_response({"role": role, "identity": elector.config.identity})

    app = web.Application()
    app.router.add_get(path, health)
    return app


async def serve_health(liveness: str, elector: Elector) -> web.AppRunner:
    parts = urlsplit(liveness)
    runner = web.AppRunner(health_app(parts.path or "/", elector), access_log=None)
    await runner.setup()
    port = 80 if parts.port is None else parts.port
    await web.TCPSite(runner, parts.hostname or "0.0.0.0", port).start()
    return runner


async def operate_when_leader(config: LeaderElectionConfig, api: ApiClient,
                              operator: Callable[..., Awaitable[None]],
                              liveness: str | None) -> None:
    """Serve health, wait for the Lease, run ``operator`` (kopf) until it returns.

    SIGTERM/SIGINT are ours until kopf installs its own handlers, and kopf also gets them
    as its ``stop_flag``: a rollout that stops a pod in between still shuts down cleanly
    and hands the Lease over, instead of dying by the default handler while holding it.
    """
    loop = asyncio.get_running_loop()
    became_leader, stop = asyncio.Event(), asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    def on_leading() -> None:  # in the elector's thread
        loop.call_soon_threadsafe(became_leader.set)

    elector = Elector(config, CoordinationV1Api(api), on_leading=on_leading)
    health = await serve_health(liveness, elector) if liveness else None
    log.info("leader election: %s competes for Lease %s/%s (lease %ds, renew %gs, retry %gs)",
             config.identity, config.namespace, config.name, config.lease_seconds,
             config.renew_seconds, config.retry_seconds)
    logging.getLogger("leaderelection").setLevel(logging.WARNING)  # a line every retry
    elector.start()
    try:
        if await _first_of(became_leader, stop) is became_leader:
            await operator(stop_flag=stop)
    finally:
        await asyncio.to_thread(elector.release)
        if health is not None:
            await health.cleanup()


async def _first_of(*events: asyncio.Event) -> asyncio.Event:
    waits = {asyncio.ensure_future(event.wait()): event for event in events}
    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    return waits[next(iter(done))]
