"""kopf registrations for MPULayout: an index of MPUTasks' layoutRefs, a daemon per layout,
and a deletion handler that holds while MPUTasks of the namespace refer to it.

A dispatcher only: every choice is :func:`mpu_operator.core.layouts.decide`'s. Registered
on the MPUTask handlers' registry (imported at the end of
:mod:`mpu_operator.controller.handlers`), so one operator process drives both kinds.
When sharded (``MPU_SHARD``), shard 0 drives every layout: they are few, and have no
stream URL to route by.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

import kopf

from mpu_operator import logsafety
from mpu_operator.api.crd import GROUP, VERSION
from mpu_operator.api.crd import PLURAL as TASKS
from mpu_operator.api.layout import MPULayoutSpec, parse_layout_spec
from mpu_operator.api.layout_crd import PLURAL as LAYOUTS
from mpu_operator.controller import desired as desired_mod
from mpu_operator.controller import handlers
from mpu_operator.core import layouts as cl
from mpu_operator.rtc.credentials import Credentials
from mpu_operator.rtc.errors import RTCError
from mpu_operator.rtc.layouts import LAYOUT_NOT_FOUND, AsyncLayoutClient

logger = logging.getLogger(__name__)
registry = handlers.registry
#: A layout's daemon sleeps this long when nothing happens (events wake it sooner).
IDLE_SECONDS = 3600.0
#: How often a held deletion looks again at the MPUTasks that refer to it.
HELD_RECHECK_SECONDS = 2.0
#: One per live layout daemon, by (namespace, name): an MPUTask change wakes its namespace's.
_wakers: dict[tuple[str, str], asyncio.Event] = {}


@dataclass
class LayoutState:
    """Per-object memory (kopf memo): our record is fresher than any watched copy."""

    record: cl.Recorded | None = None
    last_status: dict[str, Any] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    wake: asyncio.Event = field(default_factory=asyncio.Event)


def _state(memo: Any) -> LayoutState:
    state = getattr(memo, "mpu_layout", None)
    if state is None:
        state = LayoutState()
        memo.mpu_layout = state
    return cast(LayoutState, state)


def _driven_here(**_: Any) -> bool:
    shard = handlers._shard
    return shard is None or shard.index == 0


# -- what refers to what -----------------------------------------------------------------


@kopf.index(GROUP, VERSION, TASKS, registry=registry)
def mpu_layout_refs(body: kopf.Body, **_: Any) -> dict[tuple[str, str], str]:
    """(namespace, layout name) -> the MPUTask referring to it, from the raw spec (a spec
    the model refuses still holds its layouts). Keyed by the MPUTask's own namespace: a
    name in namespace B never reaches a layout of namespace A."""
    meta = body.get("metadata") or {}
    namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    spec = body.get("spec") or {}
    return {(namespace, ref): name for ref in cl.layout_refs(spec)}


def _users(index: Any, namespace: str, name: str) -> tuple[str, ...]:
    try:
        store = index.get((namespace, name), [])
    except AttributeError:
        return ()
    return tuple(sorted(set(store)))


@kopf.on.event(GROUP, VERSION, TASKS, registry=registry)
def wake_layouts(body: kopf.Body, **_: Any) -> None:
    """An MPUTask changed: the layouts of its namespace look again (InUse)."""
    namespace = str((body.get("metadata") or {}).get("namespace") or "")
    for (ns, _name), event in list(_wakers.items()):
        if ns == namespace:
            event.set()


@kopf.on.event(GROUP, VERSION, LAYOUTS, registry=registry)
def wake_layout(body: kopf.Body, memo: kopf.Memo,
                mpu_layout_refs: kopf.Index[Any, Any] | None = None, **_: Any) -> None:
    """The layout changed (created, got its id, edited, recreated, deleted): its daemon
    looks again, and so do the MPUTasks of its namespace that refer to it, so a task
    waiting for it (LayoutNotReady) starts at once and a live one follows a new id."""
    _state(memo).wake.set()
    namespace, name = _key(body)
    for task in _users(mpu_layout_refs, namespace, name):
        event = handlers.task_wakers.get((namespace, task))
        if event is not None:
            event.set()


# -- the daemon and the deletion -----------------------------------------------------------


@kopf.daemon(GROUP, VERSION, LAYOUTS, registry=registry, cancellation_timeout=10.0,
             when=lambda body, **kw: not body.get("metadata", {}).get("deletionTimestamp")
             and _driven_here())
async def drive_layout(body: kopf.Body, memo: kopf.Memo, stopped: kopf.DaemonStopped,
                       mpu_layout_refs: kopf.Index[Any, Any] | None = None,
                       **_: Any) -> None:
    """Create the layout, keep it in sync with the spec, keep its InUse condition true."""
    ctx = handlers._ctx(memo)
    state = _state(memo)
    key = _key(body)
    _wakers[key] = state.wake
    try:
        while not stopped:
            state.wake.clear()
            delay = await _guarded(ctx, state, body, mpu_layout_refs, deleting=False)
            await handlers._sleep(state.wake, stopped, delay)
    finally:
        if _wakers.get(key) is state.wake:
            del _wakers[key]


@kopf.on.delete(GROUP, VERSION, LAYOUTS, registry=registry, retries=None)
async def delete_layout(body: kopf.Body, memo: kopf.Memo,
                        mpu_layout_refs: kopf.Index[Any, Any] | None = None,
                        **_: Any) -> None:
    """DeleteMPULayout once no MPUTask of the namespace refers to it; until then the
    finalizer holds (condition InUse, Ready=False reason InUse)."""
    if not _driven_here():
        raise kopf.TemporaryError("driven by operator shard 0", delay=5.0)
    ctx = handlers._ctx(memo)
    action = await _step(ctx, _state(memo), body, mpu_layout_refs, deleting=True)
    if isinstance(action, cl.Finish):
        return
    delay = HELD_RECHECK_SECONDS if action.until is None else max(
        HELD_RECHECK_SECONDS, (action.until - ctx.now()).total_seconds())
    raise kopf.TemporaryError(logsafety.scrub(action.message), delay=delay)


async def _guarded(ctx: Any, state: LayoutState, body: kopf.Body, index: Any, *,
                   deleting: bool) -> float:
    """One step; an unexpected error is logged and retried, never allowed to end the loop."""
    try:
        action = await _step(ctx, state, body, index, deleting=deleting)
    except Exception as exc:
        logger.error("MPULayout step failed: %s: %s", type(exc).__name__, exc)
        return 5.0
    if isinstance(action, cl.Wait) and action.until is not None:
        return max(0.0, (action.until - ctx.now()).total_seconds())
    return IDLE_SECONDS


async def _step(ctx: Any, state: LayoutState, body: kopf.Body, index: Any, *,
                deleting: bool) -> cl.Wait | cl.Finish:
    """Decide and act until the decision is to wait or finish (a few calls at most)."""
    async with state.lock:
        for _ in range(6):
            raw = dict(body)
            if state.record is None:
                state.record = cl.record_from_status(raw.get("status"))
                state.last_status = dict(raw.get("status") or {})
            situation, spec = _situation(ctx, state.record, raw, index, deleting)
            action = cl.decide(situation)
            if isinstance(action, cl.Wait | cl.Finish):
                if isinstance(action, cl.Wait):
                    await _write(ctx, state, raw, action, situation.users)
                return action
            creds, problem = await _credentials(ctx, spec, raw)
            if creds is None:
                wait = cl.Wait(cl.NO_CREDENTIALS, problem or "no credentials",
                               until=ctx.now() + timedelta(seconds=10))
                await _write(ctx, state, raw, wait, situation.users)
                return wait
            await _perform(ctx, state, raw, action, spec, creds, situation.users)
        return cl.Wait(cl.MODIFYING, "still working", until=ctx.now() + timedelta(seconds=1))


def _situation(ctx: Any, record: cl.Recorded, raw: Mapping[str, Any], index: Any,
               deleting: bool) -> tuple[cl.Situation, MPULayoutSpec | None]:
    meta = raw.get("metadata") or {}
    namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    parsed = parse_layout_spec(raw.get("spec") or {})
    spec = parsed.spec
    desired = None if spec is None else cl.Desired(
        spec.app_id, cl.params_hash(spec.params().to_query()))
    problem = "; ".join(str(p) for p in parsed.errors)
    return cl.Situation(
        desired=desired, problem=problem, recorded=record,
        users=_users(index, namespace, name), deleting=deleting,
        name=cl.service_name(namespace, name, str(meta.get("uid") or "")),
        now=ctx.now()), spec


async def _credentials(ctx: Any, spec: MPULayoutSpec | None, raw: Mapping[str, Any]
                       ) -> tuple[Credentials | None, str | None]:
    """As for an MPUTask: the spec's credentialsRef Secret (of this namespace), else the
    operator's defaults where MPU_DEFAULT_CREDENTIALS_NAMESPACES allows them."""
    namespace = str((raw.get("metadata") or {}).get("namespace") or "")
    ref = spec.credentials_ref.name if spec and spec.credentials_ref else _raw_ref(raw)
    if ref is not None:
        return await desired_mod.secret_credentials(namespace, ref, ctx.kube)
    config = ctx.config
    if not config.defaults_allowed_in(namespace):
        return None, (f"namespace {namespace} may not use the operator's default "
                      "credentials (MPU_DEFAULT_CREDENTIALS_NAMESPACES): set "
                      "spec.credentialsRef")
    if config.default_credentials is None:
        return None, ("no credentialsRef and no operator default credentials "
                      "(ALIBABA_CLOUD_ACCESS_KEY_ID/ALIBABA_CLOUD_ACCESS_KEY_SECRET)")
    return config.default_credentials, None


def _raw_ref(raw: Mapping[str, Any]) -> str | None:
    """The Secret named by an invalid spec: a delete still uses the account it names."""
    ref = (raw.get("spec") or {}).get("credentialsRef")
    name = ref.get("name") if isinstance(ref, Mapping) else None
    return name if isinstance(name, str) and name else None


async def _perform(ctx: Any, state: LayoutState, raw: Mapping[str, Any], action: cl.Action,
                   spec: MPULayoutSpec | None, creds: Credentials,
                   users: tuple[str, ...]) -> None:
    """One call; its outcome folded into the record (and status written when it matters)."""
    assert state.record is not None
    calls = AsyncLayoutClient(ctx.rtc)
    rec = state.record
    try:
        if isinstance(action, cl.Create):
            assert spec is not None
            state.record = cl.before_create(rec, action)
            await _write(ctx, state, raw, None, users)  # the write-ahead: before the call
            params = spec.params()
            layout_id = await calls.create(creds, params, action.name)
            state.record = cl.created(state.record, layout_id,
                                      cl.params_hash(params.to_query()))
            _event(raw, "info", "Created", f"layout {layout_id} created in app {action.app_id}")
        elif isinstance(action, cl.Find):
            state.record = cl.found(rec, await calls.find(creds, action.app_id, action.name))
        elif isinstance(action, cl.Modify):
            assert spec is not None
            params = spec.params()
            await calls.modify(creds, params, action.layout_id, action.name)
            state.record = cl.modified(rec, cl.params_hash(params.to_query()))
            _event(raw, "info", "Modified", f"layout {action.layout_id} modified")
        elif isinstance(action, cl.Delete):
            await calls.delete(creds, action.app_id, action.layout_id)
            state.record = cl.gone(rec)
            _event(raw, "info", "Deleted", f"layout {action.layout_id} deleted")
    except RTCError as err:
        if err.code == LAYOUT_NOT_FOUND or err.http_status == 404:
            state.record = cl.gone(state.record)  # deleted at the service: level-based
        else:
            state.record = cl.failed(state.record, f"{err.action}: {err.code}",
                                     ctx.now())
            _event(raw, "warn", cl.CALL_FAILED, str(err))
    await _write(ctx, state, raw, None, users)


async def _write(ctx: Any, state: LayoutState, raw: Mapping[str, Any],
                 wait: cl.Wait | None, users: tuple[str, ...]) -> None:
    assert state.record is not None
    meta = raw.get("metadata") or {}
    status = cl.render(state.record, wait, users, generation=int(meta.get("generation") or 0),
                       previous=state.last_status, now=ctx.now())
    if status == state.last_status:
        return
    await ctx.kube.patch_status(str(meta.get("namespace")), str(meta.get("name")), status,
                                plural=LAYOUTS)
    state.last_status = status


def _event(raw: Mapping[str, Any], kind: str, reason: str, message: str) -> None:
    post = kopf.warn if kind == "warn" else kopf.info
    post(cast(kopf.Body, raw), reason=reason, message=message)


def _key(body: Mapping[str, Any]) -> tuple[str, str]:
    meta = body.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")



@kopf.index(GROUP, VERSION, LAYOUTS, registry=registry)
def mpu_layouts(body: kopf.Body, **_: Any) -> dict[tuple[str, str], cl.KnownLayout]:
    """(namespace, name) -> what the MPULayout offers its namespace's MPUTasks (id, pane
    count, Ready): for resolving ``layout.layoutRefs`` with :func:`cl.resolve_refs`."""
    return {_key(body): cl.known_layout(body)}


def known_for(index: Any, task: Mapping[str, Any]) -> dict[tuple[str, str], cl.KnownLayout]:
    """The MPULayouts an MPUTask's layoutRefs name, from the ``mpu_layouts`` index, looked
    up under the task's own namespace only (the trust boundary is the key)."""
    namespace = str((task.get("metadata") or {}).get("namespace") or "")
    known: dict[tuple[str, str], cl.KnownLayout] = {}
    for name in cl.layout_refs(task.get("spec") or {}):
        try:
            store = index.get((namespace, name), [])
        except AttributeError:
            continue
        for layout in store:
            if isinstance(layout, cl.KnownLayout):
                known[(namespace, name)] = layout
    return known
