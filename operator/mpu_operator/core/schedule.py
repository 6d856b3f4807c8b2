"""``spec.schedule``: when a task may start and when it must end. Pure functions of the
desired times, the recorded task state and now; :func:`mpu_operator.core.decide.decide`
turns their answers into actions (this module sits below it and imports no action).

The rules, in the order they apply:

- ``spec.suspend`` wins: a suspended MPUTask is Suspended whatever the schedule says
  (decide leaves it to its own branch), and resuming obeys the schedule again.
- Before ``startAt`` nothing starts. With no task live the phase is ``Scheduled`` (Ready:
  the object is what its spec asks for right now) and the operator looks again exactly at
  ``startAt``. A task already live (started, starting or stopping) is left alone: the
  schedule says when to start, and moving ``startAt`` later is not a request to stop. A
  task that stops for any reason before ``startAt`` (an immutable edit, say) starts again
  only at ``startAt``.
- From ``stopAt`` on nothing runs: a live task is stopped (cause ``ScheduleEnded``),
  whatever the channel is doing, a start is never sent (nor resent), and with no task live
  the phase is ``Stopped``, reason ``ScheduleEnded`` (Ready, like a finished Job).
- Between the two, the usual rules apply (URL rule, quota, restart policy); every wait is
  cut short at ``stopAt`` so that the stop happens on time.

Moving ``stopAt`` later after the end opens the window again: a task stopped by the
schedule then starts again (like a resume), as any spec change is acted on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mpu_operator.core.model import Desired, Phase, TaskState
from mpu_operator.core.reasons import SCHEDULE_ENDED, SCHEDULED


@dataclass(frozen=True)
class Hold:
    """No task may run now and none is live: show this and look again at ``until``."""

    phase: Phase
    reason: str
    message: str
    until: datetime | None = None


def before_start(d: Desired, now: datetime) -> bool:
    return d.start_at is not None and now < d.start_at


def ended(d: Desired, now: datetime) -> bool:
    return d.stop_at is not None and now >= d.stop_at


def hold(d: Desired, state: TaskState, now: datetime) -> Hold | None:
    """What to show instead of starting, when the schedule forbids a start now and no task
    is live (a live one is stopped, or left to run: see :func:`must_stop`)."""
    if state not in (TaskState.NONE, TaskState.STOPPED):
        return None
    if ended(d, now):
        assert d.stop_at is not None
        return Hold(Phase.STOPPED, SCHEDULE_ENDED,
                    f"the schedule ended at {iso(d.stop_at)}: no task runs (move "
                    "spec.schedule.stopAt later to run again)")
    if before_start(d, now):
        assert d.start_at is not None
        until = f" until {iso(d.stop_at)}" if d.stop_at is not None else ""
        note = f" (to fix before then: {d.waiting_message})" if d.waiting_reason else ""
        return Hold(Phase.SCHEDULED, SCHEDULED,
                    f"scheduled to start at {iso(d.start_at)}{until}{note}", d.start_at)
    return None


def must_stop(d: Desired, state: TaskState, now: datetime) -> bool:
    """A live task past ``stopAt``: stop it (a start or stop in flight is confirmed first)."""
    return state is TaskState.ACTIVE and ended(d, now)


def no_resend(d: Desired, now: datetime) -> bool:
    """An unconfirmed start must not be sent again: the schedule has ended."""
    return ended(d, now)


def look_by(when: datetime, d: Desired | None, now: datetime) -> datetime:
    """``when``, or ``stopAt`` when that comes first and is still ahead: a wait never
    outlasts the schedule's end, so the stop is on time whatever else was waited for."""
    if d is not None and d.stop_at is not None and now < d.stop_at:
        return min(when, d.stop_at)
    return when


def iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")
