"""When to poll and when to retry: cadence, jitter, back-off, and the API budget."""

from __future__ import annotations

import hashlib
import math
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
    #: At most this share of the QPS goes to polls that stretch (all but confirming ones).
    #: Routine polls rank last at the limiter, so they may take most of it: whatever a
    #: start, an edit or a confirmation needs is served first, and the limiter's guard
    #: (5 %) plus the rest is left for those without making polls fall behind.
    poll_budget_share: float = 0.85
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
    """Seconds from the last poll to the next. ``jitter_unit`` in [-1, 1]: :func:`stable_jitter`.

    Only polls that confirm a start or a stop run at the fast cadence regardless of load;
    all others stretch with the number of active tasks so that together they use
    ``poll_budget_share`` of the API rate: with 1000 tasks at 10 calls/s, each is polled
    about every 118 s, which is also how long a task failing at the service may go
    unnoticed.
    """
    # The limiter lets whole calls per second through: 10/3 calls/s (a third shard's
    # slice of 10) is 3 a second, so the share is of that.
    whole = math.floor(timing.api_qps) if timing.api_qps >= 1 else timing.api_qps
    budget = max(whole * timing.poll_budget_share, 0.001)
    if is_confirming(record):
        base = timing.fast_poll
    elif is_changing(record, now, timing):
        base = max(timing.fast_poll, active_tasks / budget)
    else:
        base = max(timing.steady_poll, active_tasks / budget)
    return max(0.05, base * (1.0 + timing.jitter * jitter_unit))


def stable_jitter(record: Record) -> float:
    """A jitter unit in [-1, 1], fixed for one poll of one task (a hash of its TaskId and
    last poll), different between tasks and between polls so that tasks started together
    drift apart. Not a fresh random draw at every look: the shell decides again at every
    event, and a poll that happens only once a fresh draw lands in the past comes late
    on average, the more so the more often the task is looked at."""
    last = record.last_polled_at.isoformat() if record.last_polled_at else ""
    digest = hashlib.blake2b(f"{record.task_id}|{last}".encode(), digest_size=4).digest()
    return int.from_bytes(digest) / 0xFFFFFFFF * 2.0 - 1.0  # big-endian


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
