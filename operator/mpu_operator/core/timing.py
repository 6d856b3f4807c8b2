"""When to poll and when to retry: cadence, jitter, back-off, and the API budget."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from mpu_operator.core.model import Record, TaskState


@dataclass(frozen=True)
class Timing:
    steady_poll: float = 30.0  # seconds between polls of a steady task
    fast_poll: float = 2.0  # while a task is starting, stopping or just changed
    fast_window: float = 30.0  # how long after a change a task counts as changing
    jitter: float = 0.1  # +- fraction of the interval
    url_cooldown: float = 10.0  # the service's stream-URL rule
    backoff_max: float = 300.0  # cap of the restart and retry back-off
    healthy_after: float = 300.0  # a task that ran this long resets the back-off
    api_qps: float = 10.0
    poll_budget_share: float = 0.5  # at most this share of the QPS goes to routine polls
    #: How long a start whose outcome is unknown may still take effect at the service:
    #: until then its TaskId is kept (resent, or polled while the spec moved on).
    unknown_start_window: float = 30.0


def is_confirming(record: Record) -> bool:
    """A user's change (start, stop) awaits the service's word: poll at once, urgently."""
    return record.state in (TaskState.STARTING, TaskState.STOPPING) or (
        record.state is TaskState.ACTIVE and record.remote_status is None)


def is_changing(record: Record, now: datetime, timing: Timing) -> bool:
    if is_confirming(record):
        return True
    return record.changed_at is not None and (now - record.changed_at).total_seconds() \
        < timing.fast_window


def poll_interval(record: Record, now: datetime, timing: Timing, active_tasks: int,
                  jitter_unit: float) -> float:
    """Seconds until the next poll. ``jitter_unit`` in [-1, 1] comes from the caller's RNG.

    Only polls that confirm a user's change run at the fast cadence regardless of load;
    all others stretch with the number of active tasks so that together they use at most
    ``poll_budget_share`` of the API rate, leaving room for users' changes.
    """
    budget = max(timing.api_qps * timing.poll_budget_share, 0.001)
    if is_confirming(record):
        base = timing.fast_poll
    elif is_changing(record, now, timing):
        base = max(timing.fast_poll, active_tasks / budget)
    else:
        base = max(timing.steady_poll, active_tasks / budget)
    return max(0.05, base * (1.0 + timing.jitter * jitter_unit))


def restart_delay(failures: int, timing: Timing) -> float:
    """Exponential back-off for restarts: 10 s, 20 s, 40 s … capped; never under the
    URL cooldown, since a restart on the same URL must wait that long anyway."""
    base = max(timing.url_cooldown, 1.0)
    return min(timing.backoff_max, base * (2 ** max(failures - 1, 0)))


def retry_delay(attempts: int, timing: Timing) -> float:
    """Back-off for retryable API errors: 1 s, 2 s, 4 s … capped."""
    return min(timing.backoff_max, 2.0 ** max(attempts - 1, 0))


def seconds_until(when: datetime | None, now: datetime) -> float:
    return 0.0 if when is None else max(0.0, (when - now).total_seconds())


def after(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)
