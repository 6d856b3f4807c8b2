"""One reconciliation step for one MPUTask: gather, decide, perform, record, report.

Reading this should feel like reading a dispatcher: every choice is made by
``core.decide.decide``; this module only performs the chosen call, folds its outcome in
with ``core.transitions`` and tells the cluster (status and Events).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

import kopf

from mpu_operator import jsonlog
from mpu_operator.api.spec import parse_spec
from mpu_operator.catalogue import status_meaning
from mpu_operator.controller import desired as desired_mod
from mpu_operator.controller.kube import Kube
from mpu_operator.controller.settings import OperatorConfig
from mpu_operator.controller.status_writer import StatusWriter
from mpu_operator.core import decide as d
from mpu_operator.core import failover, reasons
from mpu_operator.core import transitions as tr
from mpu_operator.core.ledger import EPOCH, Ledger, claim_for, held_uses
from mpu_operator.core.model import Desired, Owner, Record, TaskState, UpdateKind
from mpu_operator.core.rules import Free, Gate, UrlUse
from mpu_operator.core.status import View, clamp_future, record_from_status, render
from mpu_operator.core.timing import (
    is_confirming,
    poll_interval,
    restart_delay,
    stable_jitter,
)
from mpu_operator.metrics import Metrics
from mpu_operator.rtc.client import AsyncRTCClient
from mpu_operator.rtc.codes import ErrorKind
from mpu_operator.rtc.credentials import Credentials
from mpu_operator.rtc.errors import RTCError
from mpu_operator.rtc.params import LayoutParams, UpdateTaskParams
from mpu_operator.rtc.ratelimit import CONFIRM, EDIT, ROUTINE, URGENT
from mpu_operator.streamurl import redact

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Context:
    """Operator-wide collaborators, made at start-up and shared by every object."""

    config: OperatorConfig
    rtc: AsyncRTCClient
    kube: Kube
    ledger: Ledger
    metrics: Metrics = field(default_factory=Metrics)  # a private one unless given

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class ObjectState:
    """Per-object memory (kopf memo): our record is fresher than any watched copy."""

    record: Record | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    urgent: asyncio.Event = field(default_factory=asyncio.Event)  # a user's change arrived
    seen_generation: int | None = None
    last_status: dict[str, Any] | None = None
    reported: tuple[str, str] | None = None  # last (reason, message) sent as an Event
    url_waiting: bool = False  # the last decision was to wait for the URL rule (metrics)
    writer: StatusWriter | None = None  # made at the first status write (knows the name)


@dataclass
class Inputs:
    body: Mapping[str, Any]
    owner: Owner
    generation: int
    deleting: bool
    #: The MPULayouts its layoutRefs name, by (namespace, name) (controller/layouts.py).
    layouts: Mapping[tuple[str, str], Any] = field(default_factory=dict)


def note_event(obj: ObjectState, body: Mapping[str, Any]) -> None:
    """Every event wakes the daemon, but the echo of its own status write; a user's change
    (new generation, deletion) also preempts a routine poll it may be queued for.

    The echo would only run a step that decides to wait again: at start-up, with a
    thousand objects each writing twice, those steps kept the event loop busy while a
    user's edit waited in the watch stream behind them."""
    meta = body.get("metadata") or {}
    generation = meta.get("generation")
    if generation != obj.seen_generation or meta.get("deletionTimestamp"):
        obj.seen_generation = generation
        obj.urgent.set()
    elif obj.last_status is not None and _plain(body.get("status")) == obj.last_status:
        return
    obj.wake.set()


def _plain(value: object) -> object:
    return dict(value) if isinstance(value, Mapping) else value


async def step(ctx: Context, obj: ObjectState, read: Callable[[], Inputs]) -> d.Action:
    """Decide and act until the decision is to wait or finish; return that decision.

    ``read`` gives the object as last seen, fresh for every decision: a user's edit that
    arrives mid-step is acted on in the same step.
    """
    async with obj.lock:
        for _ in range(20):  # a bound, not a budget: a healthy step makes 1-3 calls
            obj.urgent.clear()
            inputs = read()
            if obj.record is None:
                obj.record = clamp_future(record_from_status(inputs.body.get("status")),
                                          ctx.now(), horizon=ctx.config.timing.backoff_max)
                obj.last_status = dict(inputs.body.get("status") or {})
            owner = inputs.owner
            with jsonlog.about(owner.namespace, owner.name):  # who every log line is about
                jsonlog.note_task_id(owner.namespace, owner.name, obj.record.task_id)
                action = await _one(ctx, obj, inputs)
            if isinstance(action, d.Wait | d.Finish):
                return action
        assert obj.record is not None
        return d.Wait(d.phase_of_record(obj.record), reasons.BUSY, "still working",
                      ctx.now() + timedelta(seconds=1))


async def _one(ctx: Context, obj: ObjectState, inputs: Inputs) -> d.Action:
    assert obj.record is not None
    now = ctx.now()
    spec_raw = inputs.body.get("spec") or {}
    meta = inputs.body.get("metadata") or {}
    parsed = parse_spec(spec_raw)
    resolved = None
    namespace = str(meta.get("namespace") or "")
    if parsed.spec is not None:
        resolved = await desired_mod.resolve(
            parsed.spec, meta, obj.record, ctx.kube, ctx.config.default_credentials,
            defaults_refused=_defaults_refused(ctx, namespace), layouts=inputs.layouts)
    desired = resolved.desired if resolved else None
    situation = _situation(ctx, obj.record, inputs, desired, parsed, spec_raw, now)
    action = d.decide(situation)
    if isinstance(action, d.Wait):
        await _report_wait(ctx, obj, inputs, desired, action)
        return action
    if isinstance(action, d.Finish):
        await _finish(ctx, obj, inputs, action)
        return action
    if isinstance(action, d.Forget | d.Acknowledge):
        _amend(ctx, obj, inputs, action)
        return action
    creds = resolved.credentials if resolved else None
    if creds is None and not isinstance(action, d.Start):
        creds = await _task_credentials(ctx, obj.record, namespace)
    if creds is None:
        reason = desired.waiting_reason if desired and desired.waiting_reason else \
            reasons.NO_CREDENTIALS
        message = (desired.waiting_message if desired else "") or "no credentials"
        wait = d.Wait(d.phase_of_record(obj.record), reason, message,
                      now + timedelta(seconds=ctx.config.timing.fast_poll * 5))
        await _report_wait(ctx, obj, inputs, desired, wait)
        return wait
    await _perform(ctx, obj, inputs, desired, creds, action)
    return action


def _defaults_refused(ctx: Context, namespace: str) -> str | None:
    """Why the operator's own credentials may not serve this namespace (None: they may)."""
    if ctx.config.defaults_allowed_in(namespace):
        return None
    return (f"namespace {namespace} may not use the operator's default credentials "
            "(MPU_DEFAULT_CREDENTIALS_NAMESPACES): set spec.credentialsRef")


async def _task_credentials(ctx: Context, record: Record, namespace: str,
                            ) -> Credentials | None:
    """The credentials the recorded task was started with, for a call about that task
    when the spec gives none (it is invalid, or its Secret is gone): a stop or a delete
    must never fall back to another account, nor hang for want of credentials."""
    if record.credentials_secret is not None:
        creds, _ = await desired_mod.secret_credentials(namespace, record.credentials_secret,
                                                        ctx.kube)
        return creds
    return ctx.config.default_credentials


def _amend(ctx: Context, obj: ObjectState, inputs: Inputs, action: d.Action) -> None:
    """Bookkeeping decisions: no call, only the record changes (written with the next
    status)."""
    assert obj.record is not None
    if isinstance(action, d.Forget):
        obj.record = tr.forget_start(obj.record)
        _info(inputs.body, reasons.START_NOT_TAKEN,
              f"the service never had task {action.task_id} and it can no longer appear: "
              "starting anew")
    else:
        obj.record = tr.suspended(obj.record)
    _record_uses(ctx, inputs.owner, obj.record)


def _situation(ctx: Context, record: Record, inputs: Inputs, desired: Desired | None,
               parsed: Any, spec_raw: Mapping[str, Any], now: datetime) -> d.Situation:
    timing = ctx.config.timing
    gate: Gate = Free()
    quota_ok = True
    ctx.ledger.prune(now)
    meta = inputs.body.get("metadata") or {}
    claim = claim_for(inputs.owner, spec_raw if isinstance(spec_raw, Mapping) else {},
                      meta, record)
    ctx.ledger.claim(claim)
    acting = d.acting_task_id(record, desired)
    taken = acting is not None and ctx.ledger.task_id_taken(claim, acting)
    backup_gates: tuple[Gate, ...] = ()
    if desired is not None and desired.stream_key is not None:
        gate = ctx.ledger.gate(inputs.owner, str(desired.stream_key), now)
        quota_ok = ctx.ledger.quota_ok(inputs.owner, desired.app_id,
                                       ctx.config.max_tasks_per_app)
    if desired is not None:
        backup_gates = tuple(ctx.ledger.gate(inputs.owner, key, now)
                             for key in failover.keys(desired)[1:])
    active = ctx.ledger.active_count()
    jitter = stable_jitter(record)
    interval = failover.poll_interval(
        poll_interval(record, now, timing, active, jitter), record, desired,
        timing.fast_poll, active / max(timing.api_qps * timing.poll_budget_share, 0.001),
        timing.jitter * jitter)
    poll_at = (record.last_polled_at or EPOCH) + timedelta(seconds=interval)
    deletion_policy = str(spec_raw.get("deletionPolicy") or "Delete") \
        if isinstance(spec_raw, Mapping) else "Delete"
    return d.Situation(
        desired=desired, problems=tuple(str(p) for p in parsed.errors), record=record,
        generation=inputs.generation, deleting=inputs.deleting,
        deletion_policy=deletion_policy if deletion_policy in ("Delete", "Orphan")
        else "Delete",
        gate=gate, quota_ok=quota_ok, now=now, poll_at=poll_at,
        recheck_at=now + timedelta(seconds=max(timing.fast_poll, 1.0) * 2.5),
        task_id_taken=taken, start_window=timing.unknown_start_window,
        namespace=inputs.owner.namespace, backup_gates=backup_gates,
        failover_cooldown=restart_delay(record.failures, timing),
    )


async def _perform(ctx: Context, obj: ObjectState, inputs: Inputs, desired: Desired | None,
                   creds: Credentials, action: d.Call) -> None:
    """Make the decided call, fold its outcome into the record, and note the URL use."""
    assert obj.record is not None
    if isinstance(action, d.Start):
        assert desired is not None
        record: Record | None = await _start(ctx, obj, inputs, desired, creds, action)
    elif isinstance(action, d.Poll):
        record = await _poll(ctx, obj, inputs, creds, action)
    elif isinstance(action, d.Update):
        record = await _update(ctx, obj.record, inputs, creds, action)
    else:
        record = await _stop(ctx, obj.record, inputs, creds, action)
    if record is None:
        return  # a poll a user's change came before: simply skipped
    obj.record = record
    _record_uses(ctx, inputs.owner, record)


async def _start(ctx: Context, obj: ObjectState, inputs: Inputs, desired: Desired,
                 creds: Credentials, action: d.Start) -> Record:
    """StartMPUTask, written ahead first (unless it resends the start written ahead)."""
    assert obj.record is not None
    record = obj.record
    restarts_before = record.restart_count
    obj.url_waiting = False
    if action.failed_over:
        _failed_over(inputs.body, record, action)
    if not action.retry:
        record = tr.write_ahead(record, action.task_id, action.incarnation, desired,
                                ctx.now(), url_index=action.url_index,
                                failed_over=action.failed_over)
        _record_uses(ctx, inputs.owner, record)  # claim the URL before any await
        await _commit(ctx, obj, inputs, record, desired, d.phase_of_record(record),
                      reasons.STARTING, f"starting task {action.task_id}", durable=True)
    try:
        request_id = await ctx.rtc.start_mpu_task(creds, action.params, priority=URGENT)
    except RTCError as err:
        _report_start_error(inputs.body, err, action)
        return _start_failed(ctx, record, err, inputs.generation, retry=action.retry)
    record = tr.started(record, ctx.now())
    restarted = record.restart_count > restarts_before
    if restarted:
        ctx.metrics.task_restarted()
    params = action.params
    _info(inputs.body, reasons.RESTARTED if restarted else reasons.STARTED,
          f"started task {action.task_id} on {redact(params.stream_url)} "
          f"(profile {params.task_profile}"
          + (f", restart {record.restart_count}" if restarted else "")
          + f") [RequestId: {request_id}]")
    return record


def _failed_over(body: Mapping[str, Any], record: Record, action: d.Start) -> None:
    """The FailedOver Event: the reason and the URLs by index, never a URL's query."""
    def which(index: int) -> str:
        return "the primary stream URL" if index == 0 else f"backup stream URL {index}"

    _post("warn", body, reason=reasons.FAILED_OVER,
          message=f"task {record.task_id} failed on {which(record.url_index)} (status "
                  f"{record.remote_status}: {status_meaning(record.remote_status or 0)}): "
                  f"starting task {action.task_id} on {which(action.url_index)}")


def _report_start_error(body: Mapping[str, Any], err: RTCError, action: d.Start) -> None:
    if err.kind is ErrorKind.ALREADY_EXISTS and action.retry:
        _info(body, reasons.ADOPTED, f"the service already has task {action.task_id} (our "
              f"start whose answer was lost): adopted it [RequestId: {err.request_id}]")
    elif err.kind is ErrorKind.ALREADY_EXISTS:
        _post("warn", body, reason=reasons.TASK_ID_IN_USE,
              message=f"the service already has a task with TaskId {action.task_id} that "
                      f"this MPUTask did not start; it is left alone "
                      f"[RequestId: {err.request_id}]")
    else:
        _event(body, err, reasons.START_FAILED)


async def _poll(ctx: Context, obj: ObjectState, inputs: Inputs, creds: Credentials,
                action: d.Poll) -> Record | None:
    """GetMPUTaskStatus; any poll, even a confirming one (it may wait behind queued
    starts), gives way to a user's change (then None)."""
    assert obj.record is not None
    record = obj.record
    confirming = is_confirming(record)
    try:
        result = await _preemptible(
            obj, ctx.rtc.get_mpu_task_status(creds, action.app_id, action.task_id,
                                             priority=CONFIRM if confirming else ROUTINE),
            preemptible=True)
    except _Preempted:
        return None
    except RTCError as err:
        return _call_failed(ctx, record, err, inputs.generation, reasons.POLL_FAILED,
                            inputs.body)
    after = tr.polled(record, result.status, ctx.now(), ctx.config.timing)
    _report_transition(inputs.body, record, after)
    return after


async def _update(ctx: Context, record: Record, inputs: Inputs, creds: Credentials,
                  action: d.Update) -> Record:
    """The live update ``action.kind`` names; the record notes its fingerprint."""
    try:
        request_id, reason, message = await _send_update(ctx.rtc, creds, action)
    except RTCError as err:
        return _call_failed(ctx, record, err, inputs.generation, reasons.UPDATE_FAILED,
                            inputs.body)
    _info(inputs.body, reason, f"{message} [RequestId: {request_id}]")
    return tr.updated(record, action.kind, action.fingerprint, ctx.now(), action.also)


async def _send_update(rtc: AsyncRTCClient, creds: Credentials, action: d.Update,
                       ) -> tuple[str, str, str]:
    """One service action per update kind: its RequestId, and the Event that tells it."""
    match action.kind, action.params:
        case UpdateKind.LAYOUT, LayoutParams() as layout:
            request_id = await rtc.update_mpu_layout(creds, action.app_id, action.task_id,
                                                     layout, priority=EDIT)
            return request_id, reasons.LAYOUT_UPDATED, (
                f"updated the layout of task {action.task_id} live "
                f"(layouts {list(layout.layout_ids)})")
        case UpdateKind.TASK, UpdateTaskParams() as task:
            request_id = await rtc.update_mpu_task(creds, action.app_id, action.task_id,
                                                   task, priority=EDIT)
            return request_id, reasons.TASK_UPDATED, (
                f"updated task {action.task_id} live ({_task_summary(task)})")
    raise AssertionError(f"no service action for {action.kind} with "
                         f"{type(action.params).__name__}")


def _task_summary(task: UpdateTaskParams) -> str:
    """What an UpdateMPUTask set, as counts: never an image URL (its query may be a
    signed-URL secret) nor a user list."""
    panes = task.layout.user_panes
    counts = {"backgrounds": len(task.backgrounds), "watermarks": len(task.watermarks),
              "clockWidgets": len(task.clock_widgets),
              "pane images": sum(len(p.images) for p in panes),
              "pane texts": sum(len(p.texts) for p in panes),
              "subscribeUsers": len(task.subscribe_users)}
    counts.update({f"{name} users": len(users.audio_users) + len(users.camera_users)
                   + len(users.share_screen_users)
                   for name, users in (("subscribe", task.subscribe),
                                       ("unsubscribe", task.unsubscribe))})
    return ", ".join(f"{name} {n}" for name, n in counts.items()) + \
        f"; layouts {list(task.layout.layout_ids)}"


async def _stop(ctx: Context, record: Record, inputs: Inputs, creds: Credentials,
                action: d.Stop) -> Record:
    """StopMPUTask; a task the service does not know is as stopped as it gets."""
    try:
        request_id = await ctx.rtc.stop_mpu_task(creds, action.app_id, action.task_id,
                                                 priority=EDIT)
    except RTCError as err:
        if err.kind is ErrorKind.NOT_FOUND:
            return tr.stop_not_found(record, action.cause, ctx.now())
        return _call_failed(ctx, record, err, inputs.generation, reasons.STOP_FAILED,
                            inputs.body)
    _info(inputs.body, reasons.STOPPING, f"stopping task {action.task_id} "
          f"({action.cause.value}) [RequestId: {request_id}]")
    return tr.stop_sent(record, action.cause, ctx.now())


class _Preempted(Exception):
    pass


async def _preemptible(obj: ObjectState, call: Awaitable[T], *, preemptible: bool) -> T:
    """Await ``call``, unless a user's change arrives first (then raise _Preempted).

    A routine poll can wait long for its token when many tasks poll; the change must not
    wait behind it. Cancelling the wait returns any token to the bucket."""
    if not preemptible:
        return await call
    task = asyncio.ensure_future(call)
    urgent = asyncio.ensure_future(obj.urgent.wait())
    try:
        await asyncio.wait({task, urgent}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        urgent.cancel()
    if task.done():
        return task.result()
    task.cancel()
    raise _Preempted()


def _start_failed(ctx: Context, record: Record, err: RTCError, generation: int, *,
                  retry: bool) -> Record:
    """Only a resent start's "already exists" is ours: a fresh TaskId that the service
    already has belongs to someone else (another namespace's task, say)."""
    now, timing = ctx.now(), ctx.config.timing
    if err.kind is ErrorKind.ALREADY_EXISTS:
        if retry:
            return tr.adopted(record, now)
        return tr.start_taken(record, err.code, now, generation, timing)
    if retry:
        return tr.retry_failed(record, err.kind, err.code, err.message, now, generation,
                               timing)
    if err.kind is ErrorKind.RETRYABLE:
        # Unknown whether it started: stay Starting; the next poll finds out.
        return tr.failed_call(record, err.kind, err.code, err.message, now, generation, timing)
    return tr.start_refused(record, err.kind, err.code, err.message, now, generation, timing)


def _call_failed(ctx: Context, record: Record, err: RTCError, generation: int, reason: str,
                 body: Mapping[str, Any]) -> Record:
    now = ctx.now()
    if err.kind is ErrorKind.NOT_FOUND:
        before = record
        record = tr.vanished(record, now, ctx.config.timing)
        _report_transition(body, before, record)
        return record
    if record.error_code != err.code:
        _event(body, err, reason)
    return tr.failed_call(record, err.kind, err.code, err.message, now, generation,
                          ctx.config.timing)


def _report_transition(body: Mapping[str, Any], before: Record, after: Record) -> None:
    if before.state is TaskState.STARTING and after.state is TaskState.ACTIVE:
        _info(body, reasons.ADOPTED, f"task {after.task_id} exists at the service; adopted it")
    if after.state is TaskState.STOPPED and before.state is not TaskState.STOPPED:
        if after.stop_requested:
            _info(body, reasons.STOPPED, f"task {after.task_id} stopped")
        else:
            cause = after.stop_cause.value if after.stop_cause else ""
            _post("warn", body, reason=reasons.TASK_ENDED,
                  message=f"task {after.task_id} ended by itself: status "
                          f"{after.remote_status} ({cause})")


def _record_uses(ctx: Context, owner: Owner, record: Record,
                 contending_key: str | None = None, app_id: str = "") -> None:
    uses = held_uses(owner, record, app_id, ctx.ledger.started_at)
    if contending_key:
        uses.append(UrlUse(owner, contending_key, app_id, active=False, contending=True))
    ctx.ledger.record(owner, uses)


async def _report_wait(ctx: Context, obj: ObjectState, inputs: Inputs,
                       desired: Desired | None, wait: d.Wait) -> None:
    assert obj.record is not None
    contending = wait.reason in reasons.GATE_REASONS or (
        wait.reason == reasons.BACKING_OFF and obj.record.state is not TaskState.NONE)
    url_wait = wait.reason in reasons.URL_RULE_REASONS
    if url_wait and not obj.url_waiting:  # count waits, not re-checks of one wait
        ctx.metrics.url_wait()
    obj.url_waiting = url_wait
    key = str(desired.stream_key) if desired and desired.stream_key else None
    _record_uses(ctx, inputs.owner, obj.record,
                 contending_key=key if contending else None,
                 app_id=desired.app_id if desired else "")
    await _commit(ctx, obj, inputs, obj.record, desired, wait.phase, wait.reason,
                  wait.message, stalled=wait.stalled, contending=contending)
    if obj.reported != (wait.reason, wait.message) and wait.reason not in (
            reasons.RUNNING, reasons.WAITING_FOR_CHANNEL, reasons.SUSPENDED):
        if wait.stalled:
            _post("warn", inputs.body, reason=wait.reason, message=wait.message)
        elif wait.reason in reasons.GATE_REASONS or wait.reason in (
                reasons.SECRET_NOT_FOUND, reasons.NO_CREDENTIALS):
            _post("info", inputs.body, reason=wait.reason, message=wait.message)
    obj.reported = (wait.reason, wait.message)


async def _commit(ctx: Context, obj: ObjectState, inputs: Inputs, record: Record,
                  desired: Desired | None, phase: d.Phase, reason: str, message: str, *,
                  stalled: bool = False, contending: bool = False,
                  durable: bool = False) -> None:
    """Write the status (skipped when nothing but timestamps of conditions would change):
    behind the step, or, ``durable``, before this returns (what a call must find written:
    see controller/status_writer.py)."""
    in_sync = desired is None or record.state is not TaskState.ACTIVE or d.in_sync(
        record, desired)
    view = View(phase=phase, reason=reason, message=message, stalled=stalled,
                suspend=bool(desired and desired.suspend), contending=contending,
                in_sync=in_sync)
    url = str(desired.stream_key) if desired and desired.stream_key else record.stream_key
    status = render(record, view, generation=inputs.generation, stream_url=url,
                    previous=obj.last_status, now=ctx.now())
    obj.record = record
    meta = inputs.body.get("metadata") or {}
    namespace, name = str(meta.get("namespace")), str(meta.get("name"))
    ctx.metrics.task_phase(namespace, name, phase.value)
    jsonlog.note_task_id(namespace, name, record.task_id)
    writer = obj.writer
    if writer is None:
        writer = obj.writer = StatusWriter(
            lambda status: ctx.kube.patch_status(namespace, name, status),
            on_error=ctx.metrics.reconcile_error)
    if not durable:
        if status != obj.last_status:
            writer.submit(status)
        obj.last_status = status
        return
    if status == obj.last_status and writer.settled:
        return
    obj.last_status = None  # unknown until written
    await writer.write_now(status)
    obj.last_status = status


async def _finish(ctx: Context, obj: ObjectState, inputs: Inputs, action: d.Finish) -> None:
    assert obj.record is not None
    if action.disowned:
        _info(inputs.body, reasons.RELEASED, f"task {obj.record.task_id} belongs to another "
              "MPUTask: left running, not stopped")
        ctx.ledger.record(inputs.owner, [])
        return
    if action.orphaned_task:
        _post("warn", inputs.body, reason=reasons.ORPHANED,
              message=f"deletionPolicy Orphan: task {action.orphaned_task} keeps running "
                      "at the service and is no longer managed; stop it yourself")
        # The URL stays in use by the orphan: keep it held here so nothing reuses it.
        _record_uses(ctx, inputs.owner, obj.record)
        return
    # Nothing runs any more (stopped, never started, or an unconfirmed start whose window
    # passed): the URL is released now and cools down like after any stop.
    obj.record = tr.released(obj.record, ctx.now())
    _record_uses(ctx, inputs.owner, obj.record)
    if obj.record.task_id:
        _info(inputs.body, reasons.DELETED, f"task {obj.record.task_id} is stopped; releasing")


def _info(body: Mapping[str, Any], reason: str, message: str) -> None:
    logger.info("%s: %s", reason, message)
    _post("info", body, reason=reason, message=message)


def _event(body: Mapping[str, Any], err: RTCError, reason: str) -> None:
    _post("warn", body, reason=reason, message=str(err))


def _post(kind: str, body: Mapping[str, Any], *, reason: str, message: str) -> None:
    """An Event on the object; kopf needs only apiVersion, kind and metadata from it."""
    post = kopf.warn if kind == "warn" else kopf.info
    post(cast(kopf.Body, body), reason=reason, message=message)

