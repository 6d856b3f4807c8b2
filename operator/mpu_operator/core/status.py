"""What users see in ``.status``, and the round trip of our record through it.

Conditions follow kstatus: ``Ready`` when the declared state is reached and nothing is
wrong, ``Reconciling``/``Stalled`` only True when abnormal, ``lastTransitionTime`` moves
only when a condition's status changes. Status says what is true: phases follow the
service's answers, never our hopes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from mpu_operator.catalogue import RemoteStatus, status_meaning
from mpu_operator.core import reasons
from mpu_operator.core.model import Phase, Record, StopCause, TaskState, UrlFailure

_WORKING = {Phase.PENDING, Phase.STARTING, Phase.RESTARTING, Phase.STOPPING}


@dataclass(frozen=True)
class View:
    """The human side of one decision: phase, reason, message, and whether it is stuck."""

    phase: Phase
    reason: str
    message: str
    stalled: bool = False
    suspend: bool = False
    contending: bool = False  # waiting only for the URL or quota (for the arbitration)
    in_sync: bool = True  # the running task carries the current spec


def iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    return when.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def record_to_status(r: Record) -> dict[str, Any]:
    """The record's fields: user-facing ones at the top, bookkeeping under ``internal``."""
    return {
        "taskId": r.task_id,
        "incarnation": r.incarnation,
        "remoteStatus": r.remote_status,
        "remoteStatusText": _remote_text(r.remote_status),
        "restartCount": r.restart_count,
        "startedAt": iso(r.started_at),
        "stoppedAt": iso(r.stopped_at),
        "lastPolledAt": iso(r.last_polled_at),
        "nextAttemptAt": iso(r.next_attempt_at),
        # The URL the task holds (no query: a stream key), and how often it failed over.
        "activeStreamURL": r.stream_key if r.state.holds_url else None,
        "failovers": r.failovers,
        "internal": {
            "state": r.state.value,
            "changedAt": iso(r.changed_at),
            "stopCause": r.stop_cause.value if r.stop_cause else None,
            "stopRequested": r.stop_requested,
            "appliedImmutable": r.applied_immutable,
            "appliedLayout": r.applied_layout,
            "appliedTask": r.applied_task,
            "streamKey": r.stream_key,
            "appId": r.app_id,
            "failures": r.failures,
            "errorCode": r.error_code,
            "errorMessage": r.error_message,
            "errorTerminal": r.error_terminal,
            "errorGeneration": r.error_generation,
            "errorAttempts": r.error_attempts,
            "retryStart": r.retry_start,
            "unconfirmedSince": iso(r.unconfirmed_since),
            "credentialsSecret": r.credentials_secret,
            "urlIndex": r.url_index,
            "urlFailures": [{"streamKey": m.key, "at": iso(m.at), "status": m.status}
                            for m in r.url_failures],
            "releasedKey": r.released_key,
            "releasedAt": iso(r.released_at),
        },
    }


def record_from_status(status: Mapping[str, Any] | None) -> Record:
    """Rebuild the record from a status written by any earlier operator (tolerant of junk)."""
    status = status if isinstance(status, Mapping) else {}
    inner = status.get("internal")
    inner = inner if isinstance(inner, Mapping) else {}
    return Record(
        task_id=_str(status.get("taskId")),
        incarnation=_int(status.get("incarnation")) or 0,
        state=_enum(TaskState, inner.get("state"), TaskState.NONE),
        remote_status=_int(status.get("remoteStatus")),
        started_at=parse_time(status.get("startedAt")),
        stopped_at=parse_time(status.get("stoppedAt")),
        last_polled_at=parse_time(status.get("lastPolledAt")),
        next_attempt_at=parse_time(status.get("nextAttemptAt")),
        restart_count=_int(status.get("restartCount")) or 0,
        changed_at=parse_time(inner.get("changedAt")),
        stop_cause=_enum(StopCause, inner.get("stopCause"), None),
        stop_requested=bool(inner.get("stopRequested")),
        applied_immutable=_str(inner.get("appliedImmutable")),
        applied_layout=_str(inner.get("appliedLayout")),
        applied_task=_str(inner.get("appliedTask")),  # absent before UpdateMPUTask: None
        stream_key=_str(inner.get("streamKey")),
        app_id=_str(inner.get("appId")),
        failures=_int(inner.get("failures")) or 0,
        error_code=_str(inner.get("errorCode")),
        error_message=_str(inner.get("errorMessage")),
        error_terminal=bool(inner.get("errorTerminal")),
        error_generation=_int(inner.get("errorGeneration")),
        error_attempts=_int(inner.get("errorAttempts")) or 0,
        retry_start=bool(inner.get("retryStart")),
        unconfirmed_since=parse_time(inner.get("unconfirmedSince")),
        credentials_secret=_str(inner.get("credentialsSecret")),
        url_index=_int(inner.get("urlIndex")) or 0,
        url_failures=_url_failures(inner.get("urlFailures")),
        failovers=_int(status.get("failovers")) or 0,
        released_key=_str(inner.get("releasedKey")),
        released_at=parse_time(inner.get("releasedAt")),
    )


def _url_failures(value: object) -> tuple[UrlFailure, ...]:
    """The failure marks; absent (a record of an older operator) or junk: none."""
    items = value if isinstance(value, list) else []
    marks = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        key, at, code = _str(item.get("streamKey")), parse_time(item.get("at")), \
            _int(item.get("status"))
        if key is not None and at is not None and code is not None:
            marks.append(UrlFailure(key, at, code))
    return tuple(marks)


#: The record's times that date the past; read back from status, none may lie ahead.
_PAST_TIMES = ("started_at", "stopped_at", "last_polled_at", "changed_at",
               "unconfirmed_since", "released_at")


def clamp_future(r: Record, now: datetime, *, horizon: float = 3600.0) -> Record:
    """A record read from status, with times from a clock ahead of ours pulled back.

    A status may have been written by another pod whose clock runs ahead: a future
    ``lastPolledAt`` would silence polling and a future ``stoppedAt`` would stretch the URL
    cooldown, so past times count as ``now`` at the latest. ``nextAttemptAt`` lies ahead
    by design; it is held to ``horizon`` seconds (the longest back-off) from now.
    """
    changes: dict[str, datetime] = {
        name: now for name in _PAST_TIMES
        if (value := getattr(r, name)) is not None and value > now
    }
    latest = now + timedelta(seconds=horizon)
    if r.next_attempt_at is not None and r.next_attempt_at > latest:
        changes["next_attempt_at"] = latest
    return r.replace(**changes) if changes else r


def render(r: Record, view: View, *, generation: int, stream_url: str | None,
           previous: Mapping[str, Any] | None, now: datetime) -> dict[str, Any]:
    """The whole status to write: record, phase, message, conditions."""
    status = record_to_status(r)
    status["internal"]["contending"] = view.contending
    status.update({
        "observedGeneration": generation,
        "phase": view.phase.value,
        "message": view.message,
        "streamURL": stream_url,
        "conditions": conditions(r, view, generation, previous, now),
    })
    return status


def conditions(r: Record, view: View, generation: int, previous: Mapping[str, Any] | None,
               now: datetime) -> list[dict[str, Any]]:
    streaming = r.state is TaskState.ACTIVE and r.remote_status == RemoteStatus.RUNNING
    active_ok = view.phase in (Phase.RUNNING, Phase.WAITING) and not view.suspend
    # A broadcast that ended as its restartPolicy says is done, like a finished Job: Ready,
    # so that GitOps tools and `kubectl wait` stop waiting for it.
    ended_ok = view.phase is Phase.STOPPED and not view.suspend
    # Waiting for spec.schedule.startAt is what the spec asks for now: Ready, like Suspended.
    scheduled_ok = view.phase is Phase.SCHEDULED and not view.suspend
    ready = not view.stalled and view.in_sync and (
        active_ok or ended_ok or scheduled_ok or (view.phase is Phase.SUSPENDED and view.suspend))
    wanted = [
        ("Ready", ready, view.reason, view.message),
        ("Streaming", streaming,
         reasons.RUNNING if streaming else reasons.NOT_STREAMING,
         "the service reports the stream running" if streaming else
         f"the service reports: {_remote_text(r.remote_status) or 'no task'}"),
        ("Reconciling", (view.phase in _WORKING or not view.in_sync) and not view.stalled,
         view.reason, view.message),
        ("Stalled", view.stalled, view.reason, view.message),
    ]
    old = _by_type(previous)
    result = []
    for ctype, value, reason, message in wanted:
        status = "True" if value else "False"
        prior = old.get(ctype, {})
        changed = prior.get("status") != status
        result.append({
            "type": ctype, "status": status, "reason": reason, "message": message,
            "observedGeneration": generation,
            "lastTransitionTime": iso(now) if changed or not prior.get("lastTransitionTime")
            else prior["lastTransitionTime"],
        })
    return result


def _by_type(previous: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    items = (previous or {}).get("conditions") if isinstance(previous, Mapping) else None
    if not isinstance(items, list):
        return {}
    return {c["type"]: c for c in items if isinstance(c, Mapping) and "type" in c}


def _remote_text(code: int | None) -> str | None:
    return None if code is None else status_meaning(code)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _enum(cls: Any, value: object, default: Any) -> Any:
    try:
        return cls(value)
    except ValueError:
        return default
