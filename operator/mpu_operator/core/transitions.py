"""How each call's outcome changes the record: pure folds, one per outcome.

The shell calls exactly one of these after every API call and persists the result, so a
restarted operator resumes from what the service last told us.
"""

from __future__ import annotations

from datetime import datetime

from mpu_operator.core import failover
from mpu_operator.core import timing as t
from mpu_operator.core.fingerprint import task_fingerprint
from mpu_operator.core.model import (
    Desired,
    Record,
    StopCause,
    TaskState,
    UpdateKind,
    failed_status,
    live_status,
)
from mpu_operator.core.reasons import TASK_ID_IN_USE
from mpu_operator.rtc.codes import ErrorKind

_CLEAR_ERROR = {"error_code": None, "error_message": None, "error_terminal": False,
                "error_generation": None, "next_attempt_at": None, "error_attempts": 0}
_CONFIRMED = {"retry_start": False, "unconfirmed_since": None}


def write_ahead(r: Record, task_id: str, incarnation: int, d: Desired,
                now: datetime, *, url_index: int = 0, failed_over: bool = False) -> Record:
    """Recorded *before* StartMPUTask, so a crash mid-call leaves a TaskId to look for.
    ``url_index``: the URL it starts on (core/failover.py), held from now on."""
    restarted = r.state is TaskState.STOPPED and r.stop_cause in (StopCause.REMOTE,
                                                                   StopCause.VANISHED)
    key = failover.key_at(d, url_index)
    return r.replace(
        **failover.moved(r, key, url_index, failed_over),
        task_id=task_id, incarnation=incarnation, state=TaskState.STARTING,
        remote_status=None, started_at=None, stopped_at=None, changed_at=now,
        stop_cause=None, stop_requested=False,
        applied_immutable=d.immutable_fingerprint, applied_layout=d.layout_fingerprint,
        applied_task=_started_task(d),
        stream_key=key, app_id=d.app_id,
        restart_count=r.restart_count + (1 if restarted else 0),
        credentials_secret=d.credentials_secret,
        **_CLEAR_ERROR, **_CONFIRMED,
    )


def _started_task(d: Desired) -> str | None:
    """What of UpdateMPUTask's the start carries: its own overlays and subscriptions."""
    if d.start is not None:
        return task_fingerprint(d.start.update_params())
    return task_fingerprint(d.task) if d.task is not None else None


def started(r: Record, now: datetime) -> Record:
    return r.replace(state=TaskState.ACTIVE, started_at=now, changed_at=now, **_CLEAR_ERROR,
                     **_CONFIRMED)


def adopted(r: Record, now: datetime) -> Record:
    """The service has the TaskId we wrote ahead and sent (a start we could not confirm):
    it is ours."""
    return r.replace(state=TaskState.ACTIVE, started_at=r.started_at or now, changed_at=now,
                     **_CLEAR_ERROR, **_CONFIRMED)


def start_taken(r: Record, service_code: str, now: datetime, generation: int,
                timing: t.Timing) -> Record:
    """A fresh start found the TaskId taken: the task is someone else's, never adopted.

    Retried slowly (the service may clear an old task) or at once after a spec change;
    the next attempt is a new incarnation, so it uses a new TaskId.
    """
    r = r.replace(state=TaskState.NONE, **_CONFIRMED)
    r = failed_call(r, ErrorKind.TERMINAL, TASK_ID_IN_USE,
                    f"the service already has a task with TaskId {r.task_id} that this "
                    f"MPUTask did not start ({service_code})", now, generation, timing)
    return r


def retry_failed(r: Record, kind: ErrorKind, code: str, message: str, now: datetime,
                 generation: int, timing: t.Timing) -> Record:
    """A resent start failed. An earlier send may still take effect, so the TaskId is
    kept (and the URL held); the next move is a poll, then another resend."""
    return failed_call(r.replace(retry_start=False), kind, code, message, now, generation,
                       timing)


def forget_start(r: Record) -> Record:
    """The unknown start's window passed with no trace of it at the service: it never
    happened, and nothing can still make it happen."""
    return r.replace(state=TaskState.NONE, **_CONFIRMED)


def released(r: Record, now: datetime) -> Record:
    """Deletion lets go of a record that still says it may hold its URL (an unconfirmed
    start whose window passed): from now on it is stopped, so its URL cools down and is
    then free. A record that holds nothing is returned as it is."""
    if not r.state.holds_url:
        return r
    return r.replace(state=TaskState.STOPPED, stopped_at=now, stop_cause=StopCause.DELETE,
                     **_CONFIRMED)


def suspended(r: Record) -> Record:
    """A suspend seen while the task had ended: resuming then starts it again, at once,
    whatever the restart policy said of how it ended."""
    return r.replace(stop_cause=StopCause.SUSPEND, failures=0, **_CLEAR_ERROR)


def polled(r: Record, code: int, now: datetime, timing: t.Timing) -> Record:
    r = r.replace(remote_status=code, last_polled_at=now)
    if live_status(code):
        if r.state is TaskState.STARTING:
            return adopted(r, now)
        return r.replace(**_CLEAR_ERROR)
    return _stopped(r, now, timing, vanished=False)


def vanished(r: Record, now: datetime, timing: t.Timing) -> Record:
    """The service does not know the TaskId (GetMPUTaskStatus / Stop said not found)."""
    r = r.replace(last_polled_at=now)
    if r.state is TaskState.STARTING:
        # Not yet, at least: a start whose answer we never had may still take effect, so
        # the TaskId is resent (the service then has it once), never replaced by a new one.
        return r.replace(retry_start=True, unconfirmed_since=r.unconfirmed_since or now,
                         **_CLEAR_ERROR)
    return _stopped(r, now, timing, vanished=True)


def _stopped(r: Record, now: datetime, timing: t.Timing, *, vanished: bool) -> Record:
    """The task is confirmed stopped. The first time we see it, its stop is dated now (we
    can't know better, and later is the safe side of the URL cooldown)."""
    if r.state is TaskState.STOPPED:
        return r
    r = r.replace(**_CONFIRMED)
    if r.stop_requested:
        return r.replace(state=TaskState.STOPPED, stopped_at=now, **_CLEAR_ERROR)
    if failed_status(r.remote_status):
        r = r.replace(url_failures=failover.marked(r, now))
    ran = (now - r.started_at).total_seconds() if r.started_at else 0.0
    failures = 1 if ran >= timing.healthy_after else r.failures + 1
    return r.replace(
        state=TaskState.STOPPED, stopped_at=now, failures=failures,
        stop_cause=StopCause.VANISHED if vanished else StopCause.REMOTE,
        **{**_CLEAR_ERROR, "next_attempt_at": t.after(now, t.restart_delay(failures, timing))},
    )


#: The record field that holds each update kind's applied fingerprint.
_APPLIED = {UpdateKind.LAYOUT: "applied_layout", UpdateKind.TASK: "applied_task"}


def updated(r: Record, kind: UpdateKind, fingerprint: str, now: datetime,
            also: tuple[tuple[UpdateKind, str], ...] = ()) -> Record:
    """A live update succeeded: the task now carries ``fingerprint`` for what ``kind``
    carries, and each of ``also`` for the other kinds the same call carried (UpdateMPUTask
    sends the layout too)."""
    applied = {**{_APPLIED[k]: f for k, f in also}, _APPLIED[kind]: fingerprint}
    return r.replace(**applied, changed_at=now, **_CLEAR_ERROR)


def stop_sent(r: Record, cause: StopCause, now: datetime) -> Record:
    return r.replace(state=TaskState.STOPPING, stop_requested=True, stop_cause=cause,
                     changed_at=now, **_CLEAR_ERROR)


def stop_not_found(r: Record, cause: StopCause, now: datetime) -> Record:
    """Stopping a task the service doesn't know: it is as stopped as it gets."""
    return r.replace(state=TaskState.STOPPED, stop_requested=True, stop_cause=cause,
                     stopped_at=now, changed_at=now, **_CLEAR_ERROR)


def start_refused(r: Record, kind: ErrorKind, code: str, message: str, now: datetime,
                  generation: int, timing: t.Timing) -> Record:
    """StartMPUTask answered with an error that proves no task was started."""
    r = r.replace(state=TaskState.NONE)
    return failed_call(r, kind, code, message, now, generation, timing)


def failed_call(r: Record, kind: ErrorKind, code: str, message: str, now: datetime,
                generation: int, timing: t.Timing) -> Record:
    """Any call's error: back off (slowly for errors a person must fix)."""
    terminal = kind is ErrorKind.TERMINAL
    attempts = r.error_attempts + 1
    delay = timing.backoff_max if terminal else t.retry_delay(attempts, timing)
    if kind is ErrorKind.CONFLICT:
        delay = max(delay, timing.url_cooldown)
    return r.replace(error_code=code, error_message=message, error_terminal=terminal,
                     error_generation=generation, error_attempts=attempts,
                     next_attempt_at=t.after(now, delay))
