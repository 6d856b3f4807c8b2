"""The next action for one MPUTask, given everything we know and the time.

A dispatcher over the recorded task state; every rule (write-ahead confirmation, URL gate,
quota, restart policy and back-off, suspend, deletion) is a branch here with a row in the
unit-test table. Nothing here performs I/O.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta

from mpu_operator.catalogue import RemoteStatus
from mpu_operator.core import failover, fingerprint, reasons, schedule, taskid
from mpu_operator.core.model import (
    Desired,
    Owner,
    Phase,
    Record,
    StopCause,
    TaskState,
    UpdateKind,
    failed_status,
)
from mpu_operator.core.rules import CoolingDown, Free, Gate, InUse, OtherShard, Queued
from mpu_operator.rtc.params import LayoutParams, StartParams, UpdateTaskParams


@dataclass(frozen=True)
class Start:
    """StartMPUTask with ``params`` (the incarnation's TaskId in them). ``retry``: resend the
    start of the TaskId already written ahead, whose first send had no answer; only then is
    "already exists" our own task."""

    params: StartParams
    incarnation: int
    retry: bool = False
    url_index: int = 0  # the stream URL it uses: 0 the primary, 1.. a backup (#11)
    failed_over: bool = False  # it moves off a URL that failed (core/failover.py)

    @property
    def task_id(self) -> str:
        return self.params.task_id


@dataclass(frozen=True)
class Poll:
    """GetMPUTaskStatus of ``task_id`` in ``app_id``."""

    app_id: str
    task_id: str


@dataclass(frozen=True)
class Update:
    """Change a live task without a restart: ``kind`` names the service action that carries
    ``params``, and ``fingerprint`` is what the record notes as applied once it succeeded.
    A new update verb is a new ``UpdateKind`` (and its params type), nothing else here.
    ``also``: the other kinds' fingerprints this call brings up to date (UpdateMPUTask
    carries the layout too)."""

    app_id: str
    task_id: str
    kind: UpdateKind
    params: LayoutParams | UpdateTaskParams  # LAYOUT: LayoutParams; TASK: UpdateTaskParams
    fingerprint: str
    also: tuple[tuple[UpdateKind, str], ...] = ()


@dataclass(frozen=True)
class Stop:
    """StopMPUTask of ``task_id`` in ``app_id``, and why (the restart policy reads it)."""

    app_id: str
    task_id: str
    cause: StopCause


@dataclass(frozen=True)
class Wait:
    """Call nothing; show this and look again at ``until`` (None: when something changes)."""

    phase: Phase
    reason: str
    message: str
    until: datetime | None = None
    stalled: bool = False


@dataclass(frozen=True)
class Finish:
    """Deletion may complete: the task is stopped, never existed, or is to be orphaned.

    ``disowned``: the TaskId the record names belongs to another MPUTask: never stopped.
    """

    orphaned_task: str | None = None
    disowned: bool = False


@dataclass(frozen=True)
class Forget:
    """Call nothing; drop an unconfirmed start whose window passed with no trace of it."""

    task_id: str


@dataclass(frozen=True)
class Acknowledge:
    """Call nothing; note a suspend over a task that had ended, so resuming restarts it."""


#: The decisions that call the service: each carries the whole call.
Call = Start | Poll | Update | Stop
Action = Call | Wait | Finish | Forget | Acknowledge


@dataclass(frozen=True)
class Situation:
    desired: Desired | None  # None: the spec is invalid
    problems: tuple[str, ...]  # why the spec is invalid ("field: rule")
    record: Record
    generation: int
    deleting: bool
    deletion_policy: str  # read even from an invalid spec: deletion must never hang
    gate: Gate  # the URL gate for desired.stream_key (Free when not needed)
    quota_ok: bool
    now: datetime
    poll_at: datetime  # when the next routine poll is due
    recheck_at: datetime  # when to look again at gates other objects may open
    task_id_taken: bool = False  # acting_task_id() belongs to another MPUTask
    start_window: float = 30.0  # Timing.unknown_start_window
    namespace: str = ""  # ours: holders elsewhere are not named to us
    backup_gates: tuple[Gate, ...] = ()  # the URL gate of each backup URL, in order
    failover_cooldown: float = 10.0  # how long a failed URL is skipped (core/failover.py)


def acting_task_id(record: Record, desired: Desired | None) -> str | None:
    """The TaskId the next call would be about: the record's while it names a task that
    may run, else the next incarnation's (None while the spec is invalid)."""
    if record.task_id and record.state is not TaskState.NONE and (
            record.state is not TaskState.STOPPED or desired is None):
        return record.task_id
    if desired is None:
        return None
    return taskid.for_incarnation(desired.task_id_base, record.incarnation + 1,
                                  user_given=desired.task_id_from_spec)


def decide(s: Situation) -> Action:
    if s.deleting:
        return _deleting(s)
    if s.task_id_taken:
        return _taken(s)
    blocked = _blocked(s)
    if blocked is not None:
        return blocked
    scheduled = _scheduled(s)
    if scheduled is not None:
        return scheduled
    s = dataclasses.replace(s, poll_at=schedule.look_by(s.poll_at, s.desired, s.now),
                recheck_at=schedule.look_by(s.recheck_at, s.desired, s.now))
    state = s.record.state
    if state is TaskState.STARTING:
        return _starting(s)
    if state is TaskState.STOPPING:
        return _confirm(s)
    if s.desired is None:
        return _invalid(s)
    if state is TaskState.ACTIVE:
        return _active(s, s.desired)
    return _idle(s, s.desired)


def _task_id(record: Record) -> str:
    assert record.task_id is not None, "a task state other than None implies a TaskId"
    return record.task_id


def _task_app(s: Situation) -> str:
    """The app a call about the recorded task goes to: the one it was started on, so an
    appId edit stops the old task where it runs (only a start goes to the spec's app)."""
    return s.record.app_id or (s.desired.app_id if s.desired else "")


def _poll(s: Situation) -> Poll:
    return Poll(_task_app(s), _task_id(s.record))


def _stop(s: Situation, cause: StopCause) -> Stop:
    return Stop(_task_app(s), _task_id(s.record), cause)


def _start(d: Desired, task_id: str, incarnation: int, *, pick: failover.Pick,
           retry: bool = False) -> Start:
    """A start of ``d``'s parameters under ``task_id``, on the URL ``pick`` chose (a spec
    whose parameters are not all known yet never gets here: it waits with
    ``waiting_reason``)."""
    assert d.start is not None
    params = dataclasses.replace(d.start, task_id=task_id,
                                 stream_url=failover.urls(d)[pick.index])
    return Start(params, incarnation, retry=retry, url_index=pick.index,
                 failed_over=pick.failed_over)


def _taken(s: Situation) -> Wait:
    """Another MPUTask (whichever namespace: not named) owns the TaskId: never call."""
    task_id = acting_task_id(s.record, s.desired)
    return Wait(Phase.PENDING, reasons.TASK_ID_IN_USE,
                f"TaskId {task_id} belongs to another MPUTask of app "
                f"{s.desired.app_id if s.desired else s.record.app_id}; set a different "
                "spec.taskId", s.recheck_at, stalled=True)


def _starting(s: Situation) -> Action:
    """A start was written ahead and maybe sent. If the service has no trace of it, the
    same TaskId is sent again (a late first send then finds it taken: one task, ours),
    unless the spec moved on: then the TaskId is watched until the window has passed."""
    r = s.record
    if r.retry_start:
        d = s.desired
        index = failover.index_of(r, d) if d is not None else None
        if d is not None and d.start is not None and index is not None \
                and d.immutable_fingerprint == r.applied_immutable:
            return _start(d, _task_id(r), r.incarnation, retry=True,
                          pick=failover.Pick(index))  # the URL written ahead, again
        if _window_passed(s):
            return Forget(_task_id(r))
    return _confirm(s)


def _scheduled(s: Situation) -> Action | None:
    """spec.schedule (core/schedule.py): no start before startAt, nothing runs from stopAt.
    A suspend is left to its own branch: it wins over the schedule."""
    d, r = s.desired, s.record
    if d is None or d.suspend:
        return None
    held = schedule.hold(d, r.state, s.now)
    if held is not None:
        return Wait(held.phase, held.reason, held.message, held.until)
    if schedule.must_stop(d, r.state, s.now):
        return _stop(s, StopCause.SCHEDULE_END)
    if r.state is TaskState.STARTING and r.retry_start and schedule.no_resend(d, s.now):
        return Forget(_task_id(r)) if _window_passed(s) else _confirm(s)
    return None


def _window_passed(s: Situation) -> bool:
    since = s.record.unconfirmed_since
    return since is not None and s.now >= since + timedelta(seconds=s.start_window)


def _blocked(s: Situation) -> Wait | None:
    """Back-off after an API error, unless the user changed the spec since (it goes first)."""
    r = s.record
    if r.next_attempt_at is None or s.now >= r.next_attempt_at:
        return None
    if r.error_code is None:
        return None  # a restart back-off, handled where restarts are decided
    if r.error_generation is not None and s.generation != r.error_generation:
        return None
    phase = phase_of_record(r)
    message = f"{r.error_code}: {r.error_message or ''}".strip()
    if r.error_code == reasons.TASK_ID_IN_USE:
        return Wait(Phase.PENDING, reasons.TASK_ID_IN_USE,
                    f"{r.error_message}; set a different spec.taskId (retrying slowly with "
                    "the next TaskId)", r.next_attempt_at, stalled=True)
    if r.error_terminal:
        return Wait(phase if r.state.holds_url else Phase.FAILED, reasons.TERMINAL_ERROR,
                    f"{message}; a person must act (retrying slowly)", r.next_attempt_at,
                    stalled=True)
    return Wait(phase, reasons.API_ERROR, f"{message}; retrying", r.next_attempt_at)


def _invalid(s: Situation) -> Action:
    """An invalid spec never reaches the service; a live task is left as it runs."""
    message = "; ".join(s.problems) or "invalid spec"
    if s.record.state is TaskState.ACTIVE:
        if s.now >= s.poll_at:
            return _poll(s)
        return Wait(phase_of_record(s.record), reasons.INVALID_SPEC,
                    f"{message} (the running task keeps its last valid settings)",
                    s.poll_at, stalled=True)
    return Wait(Phase.FAILED, reasons.INVALID_SPEC, message, None, stalled=True)


def _active(s: Situation, d: Desired) -> Action:
    r = s.record
    if d.suspend:
        return _stop(s, StopCause.SUSPEND)
    if r.applied_immutable != d.immutable_fingerprint or _backup_gone(r, d):
        return _stop(s, StopCause.SPEC_CHANGE)
    task_update = _task_update(s, d)
    if task_update is not None:
        return task_update
    if r.applied_layout != d.layout_fingerprint:
        return Update(_task_app(s), _task_id(r), UpdateKind.LAYOUT, d.layout,
                      d.layout_fingerprint)
    if s.now >= s.poll_at:
        return _poll(s)
    if d.waiting_reason is not None:
        return Wait(phase_of_record(r), d.waiting_reason,
                    f"{d.waiting_message} (the running task goes on with the settings it "
                    "was started with)", s.poll_at, stalled=d.waiting_stalled)
    if r.url_index > 0:
        return _on_backup(s, r)
    if r.remote_status == RemoteStatus.RUNNING:
        return Wait(Phase.RUNNING, reasons.RUNNING,
                    "the service is mixing and pushing the stream", s.poll_at)
    return Wait(Phase.WAITING, reasons.WAITING_FOR_CHANNEL,
                "started; the service waits for someone to join the channel", s.poll_at)


def _backup_gone(r: Record, d: Desired) -> bool:
    """The task runs on a backup URL the spec no longer lists (a Secret that can't be
    read right now does not count): a spec change, back to the primary."""
    return r.url_index > 0 and d.waiting_reason is None \
        and failover.index_of(r, d) is None


def _on_backup(s: Situation, r: Record) -> Wait:
    """Live on a backup URL: Ready (the broadcast is on air), and saying so."""
    what = ("the service is mixing and pushing the stream"
            if r.remote_status == RemoteStatus.RUNNING
            else "started; the service waits for someone to join the channel")
    phase = Phase.RUNNING if r.remote_status == RemoteStatus.RUNNING else Phase.WAITING
    return Wait(phase, reasons.RUNNING_ON_BACKUP,
                f"on backup stream URL {r.url_index} after {r.failovers} failover(s): {what}",
                s.poll_at)


def _task_update(s: Situation, d: Desired) -> Update | None:
    """UpdateMPUTask, with everything it carries, when an overlay or a subscription moved,
    or when the layout moved while panes carry images or texts (UpdateMPULayout would
    drop them). A layout-only change without those stays UpdateMPULayout's."""
    if d.task is None:
        return None
    r = s.record
    wanted = fingerprint.task_fingerprint(d.task)
    layout_moved = r.applied_layout != d.layout_fingerprint
    if _applied_task(r, d.task) == wanted and not (layout_moved and d.task.layout.has_overlays):
        return None
    return Update(_task_app(s), _task_id(r), UpdateKind.TASK, d.task, wanted,
                  also=((UpdateKind.LAYOUT, d.layout_fingerprint),))


def _applied_task(r: Record, task: UpdateTaskParams) -> str:
    """What the task carries of UpdateMPUTask's; a record of a release before it has no
    such fingerprint, and its task carries only what that release sent."""
    if r.applied_task is not None:
        return r.applied_task
    return fingerprint.task_baseline(task)


def in_sync(r: Record, d: Desired) -> bool:
    """Does the live task carry every setting the spec asks for? (status.inSync)"""
    task_ok = d.task is None or _applied_task(r, d.task) == fingerprint.task_fingerprint(d.task)
    return (r.applied_immutable == d.immutable_fingerprint
            and r.applied_layout == d.layout_fingerprint and task_ok)


def wants_restart(r: Record, policy: str) -> bool:
    """Should a new task start, given how the last one ended and the restart policy?"""
    if r.state is TaskState.NONE or r.stop_cause in (StopCause.SPEC_CHANGE, StopCause.SUSPEND,
                                                     StopCause.SCHEDULE_END):
        return True
    if r.stop_cause is StopCause.DELETE:
        return False
    if policy == "Always":
        return True
    if policy == "Never":
        return False
    failed = failed_status(r.remote_status)
    outside_stop = r.stop_cause is StopCause.VANISHED or r.remote_status in (
        RemoteStatus.STOPPED, RemoteStatus.STOPPED_BY_USER)
    return failed or outside_stop


def _idle(s: Situation, d: Desired) -> Action:
    r = s.record
    if d.suspend:
        if r.state is TaskState.STOPPED and r.stop_cause in (StopCause.REMOTE,
                                                             StopCause.VANISHED):
            return Acknowledge()
        return Wait(Phase.SUSPENDED, reasons.SUSPENDED, "suspended: no task runs")
    if not wants_restart(r, d.restart_policy):
        return _ended(r, d)
    restarting = r.state is TaskState.STOPPED
    waiting_phase = Phase.RESTARTING if restarting else Phase.PENDING
    gates = (s.gate, *s.backup_gates)
    pick = failover.pick(r, d, gates, s.now, s.failover_cooldown)
    if not pick.at_once and r.next_attempt_at is not None and s.now < r.next_attempt_at:
        return Wait(Phase.RESTARTING, reasons.BACKING_OFF,
                    f"restart {r.restart_count + 1} backs off after status "
                    f"{r.remote_status}", r.next_attempt_at)
    if d.waiting_reason is not None:
        return Wait(Phase.PENDING, d.waiting_reason, d.waiting_message, s.recheck_at,
                    stalled=d.waiting_stalled)
    gate_wait = _gate_wait(s, waiting_phase, _gate_of(s, gates, pick.index))
    if gate_wait is not None:
        return gate_wait
    if not s.quota_ok:
        return Wait(waiting_phase, reasons.QUOTA_EXHAUSTED,
                    f"app {d.app_id} has reached its concurrent task quota", s.recheck_at)
    incarnation = r.incarnation + 1
    return _start(d, taskid.for_incarnation(d.task_id_base, incarnation,
                                            user_given=d.task_id_from_spec), incarnation,
                  pick=pick)


def _gate_of(s: Situation, gates: tuple[Gate, ...], index: int) -> Gate:
    """URL ``index``'s gate; one the shell did not give holds the start (fail closed)."""
    return gates[index] if index < len(gates) else CoolingDown(s.recheck_at)


def _ended(r: Record, d: Desired) -> Wait:
    code = r.remote_status
    if failed_status(code):
        return Wait(Phase.FAILED, reasons.RESTARTS_DISABLED,
                    f"the task failed (status {code}) and restartPolicy is "
                    f"{d.restart_policy}; toggle spec.suspend to start it again", stalled=True)
    return Wait(Phase.STOPPED, reasons.TASK_ENDED,
                f"the task ended (status {code}); restartPolicy {d.restart_policy} does not "
                "restart it; toggle spec.suspend to start it again")


def _gate_wait(s: Situation, phase: Phase, gate: Gate) -> Wait | None:
    if isinstance(gate, Free):
        return None
    if isinstance(gate, InUse):
        return Wait(phase, reasons.URL_IN_USE,
                    f"the stream URL is in use by {_who(gate.holder, s)}", s.recheck_at)
    if isinstance(gate, CoolingDown):
        return Wait(phase, reasons.URL_COOLING_DOWN,
                    f"the stream URL is cooling down until {_iso(gate.until)} "
                    "(the service forbids reuse within 10 s of a stop)", gate.until)
    if isinstance(gate, OtherShard):
        return Wait(phase, reasons.URL_OTHER_SHARD, gate.message, s.recheck_at)
    assert isinstance(gate, Queued)
    return Wait(phase, reasons.URL_QUEUED,
                f"the stream URL goes first to the older {_who(gate.ahead, s)}", s.recheck_at)


def _who(owner: Owner, s: Situation) -> str:
    """Another object, named only to its own namespace: a tenant learns nothing of others'."""
    if owner.namespace == s.namespace:
        return f"MPUTask {owner.ref}"
    return "MPUTask in another namespace"


def _deleting(s: Situation) -> Action:
    r = s.record
    if s.task_id_taken:
        return Finish(disowned=True)
    if s.deletion_policy == "Orphan":
        return Finish(orphaned_task=r.task_id if r.state.holds_url else None)
    if r.next_attempt_at is not None and s.now < r.next_attempt_at and r.error_code:
        return Wait(Phase.STOPPING,
                    reasons.TERMINAL_ERROR if r.error_terminal else reasons.API_ERROR,
                    f"cannot stop the task yet: {r.error_code}: {r.error_message or ''}; "
                    "set spec.deletionPolicy: Orphan to let go without stopping it",
                    r.next_attempt_at, stalled=r.error_terminal)
    if r.state is TaskState.ACTIVE:
        return _stop(s, StopCause.DELETE)
    if r.state is TaskState.STARTING and r.retry_start and _window_passed(s):
        return Finish()  # no trace of the unconfirmed start, and it can no longer happen
    if r.state in (TaskState.STARTING, TaskState.STOPPING):
        return _confirm(s)
    return Finish()


def _confirm(s: Situation) -> Poll | Wait:
    """A start or stop is confirmed by polling, at the fast cadence."""
    if s.now >= s.poll_at:
        return _poll(s)
    starting = s.record.state is TaskState.STARTING
    verb = "start" if starting else "stop"
    return Wait(phase_of_record(s.record),
                reasons.CONFIRMING_START if starting else reasons.CONFIRMING_STOP,
                f"waiting for the service to confirm the {verb} of task {s.record.task_id}",
                s.poll_at)


def phase_of_record(r: Record) -> Phase:
    """The phase that the recorded task state alone implies."""
    if r.state is TaskState.STARTING:
        return Phase.RESTARTING if r.incarnation > 1 else Phase.STARTING
    if r.state is TaskState.ACTIVE:
        if r.remote_status == RemoteStatus.RUNNING:
            return Phase.RUNNING
        return Phase.WAITING if r.remote_status == RemoteStatus.WAITING else Phase.STARTING
    if r.state is TaskState.STOPPING:
        return Phase.STOPPING
    if r.state is TaskState.STOPPED:
        return Phase.FAILED if failed_status(r.remote_status) else Phase.STOPPED
    return Phase.PENDING


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")
