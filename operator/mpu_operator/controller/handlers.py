"""kopf registrations: an index of URL uses, a daemon per MPUTask, a deletion handler.

Events from the cluster are hints: any change to an object wakes its daemon, which re-runs
the same level-based step. Handlers are registered on our own registry so that importing
this module (in tests, say) does not touch kopf's default one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import kopf

from mpu_operator import jsonlog, logsafety
from mpu_operator import metrics as metrics_mod
from mpu_operator.api.crd import GROUP, PLURAL, VERSION
from mpu_operator.controller import reconciler as rc
from mpu_operator.controller.kube import Kube, load_config
from mpu_operator.controller.settings import OperatorConfig
from mpu_operator.core import decide as d
from mpu_operator.core.ledger import Ledger, claim_of, owner_of, uses_of
from mpu_operator.core.shard import Shard, route_key, shard_of_key
from mpu_operator.rtc.client import AsyncRTCClient, RTCClient
from mpu_operator.rtc.ratelimit import RateLimiter

FINALIZER = f"{GROUP}/finalizer"
logger = logging.getLogger(__name__)
registry: kopf.OperatorRegistry = kopf.OperatorRegistry()
_started_at = datetime.now(UTC)
#: MPU_SHARD of this process (set at start-up); None: it drives every MPUTask.
_shard: Shard | None = None
#: The wake event of each MPUTask daemon of this process, by (namespace, name): an
#: MPULayout's change wakes the tasks that refer to it (controller/layouts.py).
task_wakers: dict[tuple[str, str], asyncio.Event] = {}


def _ctx(memo: Any) -> rc.Context:
    ctx = getattr(memo, "mpu_context", None)
    if ctx is None:
        raise kopf.TemporaryError("the operator is still starting", delay=1)
    return cast(rc.Context, ctx)


def _obj(memo: Any) -> rc.ObjectState:
    obj = getattr(memo, "mpu_object", None)
    if obj is None:
        obj = rc.ObjectState()
        memo.mpu_object = obj
    return cast(rc.ObjectState, obj)


def build_context(config: OperatorConfig, kube: Kube | None = None,
                  metrics: metrics_mod.Metrics | None = None) -> rc.Context:
    """``metrics`` defaults to the process's (what ``MPU_METRICS_PORT`` serves)."""
    metrics = metrics or metrics_mod.process()
    limiter = RateLimiter(rate=config.timing.api_qps, on_wait=metrics.limiter_waited)
    client = RTCClient(config.endpoint, on_call=metrics.rtc_call)
    ledger = Ledger(_started_at, timedelta(seconds=config.timing.url_cooldown),
                    shard=config.shard)
    return rc.Context(config=config, rtc=AsyncRTCClient(client, limiter),
                      kube=kube or Kube(load_config(), config.secret_cache_seconds),
                      ledger=ledger, metrics=metrics)


@kopf.on.login(registry=registry)
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """The kubernetes client's own config (in-cluster, else KUBECONFIG): the same one our
    status writes and Secret reads use, so kopf and we always talk to the same cluster."""
    return kopf.login_via_client(**kwargs)


@kopf.on.startup(registry=registry)
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    global _started_at, _shard
    _started_at = datetime.now(UTC)
    if getattr(memo, "mpu_context", None) is None:  # tests may inject their own
        memo.mpu_context = build_context(OperatorConfig.from_env())
    _shard = memo.mpu_context.config.shard
    settings.persistence.finalizer = FINALIZER  # one finalizer, whichever shard drives
    # Per shard: a shard waiting out another's deletion must not delay that one's handler.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix=GROUP if _shard is None else f"shard-{_shard.index}.{GROUP}")
    settings.persistence.diffbase_storage = ChangesReadByDaemons()
    settings.posting.level = logging.INFO
    settings.execution.max_workers = 32
    asyncio.get_running_loop().set_default_executor(
        concurrent.futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="mpu-io"))
    config = memo.mpu_context.config
    quota = config.max_tasks_per_app
    logger.info("mpu-operator: endpoint %s, %.2f API calls/s, %d tasks per app%s",
                config.endpoint, config.timing.api_qps,
                _shard.quota_share(quota) if _shard else quota,
                "" if _shard is None else f" (shard {_shard} of the MPUTasks)"
                if _shard.selector else f" (shard {_shard} of the URLs)")


class ChangesReadByDaemons(kopf.DiffBaseStorage):
    """No diff base: nothing stored, and nothing ever changed for kopf's diffing.

    There are no creation or update handlers here; the daemons read every change
    themselves (by generation). kopf's default diff base would still write a
    last-handled-configuration annotation at every creation and spec edit: one more PATCH
    and one more watch event each, a thousand of them when a thousand MPUTasks are created
    at once, in the one watch stream a user's edit waits in. (And no copy of the spec,
    whose URLs may carry auth keys, is kept in an annotation.) Deletion handlers are found
    by the deletionTimestamp, not by a diff."""

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return self.build(body=body)

    def store(self, *, body: kopf.Body, patch: kopf.Patch,
              essence: kopf.BodyEssence) -> None:
        return None


def _mine(body: kopf.Body, **_: Any) -> bool:
    """Does this process drive the object? (Every shard indexes every object.)"""
    return _shard is None or _shard.owns(body)


def _driver(body: kopf.Body, shard: Shard) -> str:
    if shard.selector is not None:
        return f"driven by another operator shard (not selected by {shard.selector})"
    return f"driven by operator shard {shard_of_key(route_key(body), shard.count)}"


@kopf.index(GROUP, VERSION, PLURAL, registry=registry)
def mpu_uses(body: kopf.Body, memo: Any = None, **_: Any) -> None:
    """Tell the ledger every MPUTask's URL uses and TaskId claim as the cluster shows it.

    An index handler, because kopf runs these for every object listed before any daemon
    runs: a restarted operator knows every holder before it acts. Nothing is stored in
    kopf's index; the ledger keeps it indexed by URL, app and TaskId instead."""
    ledger = _ctx(memo).ledger
    owner = owner_of(body)
    uses = uses_of(body, _started_at, datetime.now(UTC))
    if _shard is not None and _shard.selector is not None:  # whose uses are another shard's
        ledger.note_foreign(owner, None if _mine(body) else uses)
    ledger.observe(owner, uses, claim_of(body))


@kopf.on.event(GROUP, VERSION, PLURAL, registry=registry)
def wake(body: kopf.Body, memo: kopf.Memo, type: str | None = None, **_: Any) -> None:
    """Any change is a hint: wake the object's daemon to look again now."""
    if type == "DELETED":
        _ctx(memo).ledger.unobserve(owner_of(body))
        _forget(memo, body)
    rc.note_event(_obj(memo), body)


def _forget(memo: Any, body: kopf.Body) -> None:
    """The object is gone: it leaves the phase gauge and the log's TaskId table."""
    meta = body.get("metadata") or {}
    namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    ctx = getattr(memo, "mpu_context", None)
    if isinstance(ctx, rc.Context):
        ctx.metrics.task_gone(namespace, name)
    jsonlog.forget(namespace, name)


@kopf.daemon(GROUP, VERSION, PLURAL, registry=registry, cancellation_timeout=10.0,
             when=lambda body, **kw: not body.get("metadata", {}).get("deletionTimestamp")
             and _mine(body))
async def reconcile(body: kopf.Body, memo: kopf.Memo, stopped: kopf.DaemonStopped,
                    logger: kopf.Logger, mpu_layouts: kopf.Index[Any, Any] | None = None,
                    **_: Any) -> None:
    """Drive one MPUTask for as long as it lives (deletion is ``finalize``'s job), or, when
    sharded, for as long as it is this shard's (kopf stops the daemon when ``_mine`` turns
    false, and starts it in the shard it moved to)."""
    ctx = _ctx(memo)
    obj = _obj(memo)
    if _shard is not None:  # another shard may have driven it since: the status is fresher
        obj.record, obj.last_status = None, None
    unsubscribe = ctx.ledger.subscribe(obj.wake.set)
    key = _key(body)
    task_wakers[key] = obj.wake
    try:
        while not stopped:
            obj.wake.clear()
            delay = await _guarded_step(ctx, obj, body, deleting=False,
                                        logger=logger, layouts=mpu_layouts)
            if delay is None:
                delay = 3600.0
            await _sleep(obj.wake, stopped, delay)
    finally:
        unsubscribe()
        if task_wakers.get(key) is obj.wake:
            del task_wakers[key]


def _key(body: kopf.Body) -> tuple[str, str]:
    meta = body.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


async def _guarded_step(ctx: rc.Context, obj: rc.ObjectState, body: kopf.Body,
                        *, deleting: bool, logger: kopf.Logger,
                        layouts: Any = None) -> float | None:
    """One step; an unexpected error is logged and retried, never allowed to kill the loop."""
    try:
        action = await rc.step(ctx, obj, lambda: _inputs(body, deleting, layouts))
    except Exception as exc:
        ctx.metrics.reconcile_error()
        logger.error("reconciliation step failed: %s: %s", type(exc).__name__, exc)
        return 5.0
    if isinstance(action, d.Wait):
        return None if action.until is None else _delay(action.until, ctx.now())
    return 0.0


#: The longest sleep towards a Wait's ``until`` (a startAt days ahead, say): the daemon
#: sleeps on a monotonic clock, so it wakes this often to measure again on the wall clock
#: and still wakes at the time itself, whatever the wall clock did meanwhile.
LONGEST_SLEEP = 300.0


def _delay(until: datetime, now: datetime) -> float:
    return min(LONGEST_SLEEP, max(0.0, (until - now).total_seconds()))


def _inputs(body: kopf.Body, deleting: bool, layouts: Any = None) -> rc.Inputs:
    raw = dict(body)
    meta = raw.get("metadata") or {}
    return rc.Inputs(body=raw, owner=owner_of(raw), generation=int(meta.get("generation") or 0),
                     deleting=deleting,
                     layouts=_layouts.known_for(layouts, raw))


async def _sleep(wake: asyncio.Event, stopped: kopf.DaemonStopped, delay: float) -> None:
    waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stopped.wait())]
    try:
        await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


@kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry, retries=None)
async def finalize(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    """Stop the task (per deletionPolicy) before kopf removes the finalizer.

    Registered for every object even when sharded: a shard with no handler for an object
    would remove the shared finalizer. Another shard's object is waited out (its shard
    removes the finalizer when done)."""
    ctx = _ctx(memo)
    if not _mine(body):
        assert _shard is not None
        raise kopf.TemporaryError(_driver(body, _shard), delay=5.0)
    obj = _obj(memo)
    action = await rc.step(ctx, obj, lambda: _inputs(body, deleting=True))
    if isinstance(action, d.Finish):
        # Out of the phase gauge now; its log lines keep their TaskId until DELETED.
        meta = body.get("metadata") or {}
        ctx.metrics.task_gone(str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        return
    assert isinstance(action, d.Wait)
    delay = 1.0 if action.until is None else max(
        0.5, (action.until - ctx.now()).total_seconds())
    # kopf keeps this text in a progress annotation: scrubbed like any log line.
    raise kopf.TemporaryError(logsafety.scrub(action.message),
                              delay=min(delay, ctx.config.timing.fast_poll * 5))


# MPULayout's handlers, on this registry (they import this module, so: last).
from mpu_operator.controller import layouts as _layouts  # noqa: E402
