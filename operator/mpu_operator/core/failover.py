"""Backup stream URLs (issue #11): which URL the next incarnation starts on, and when.

The URLs are numbered in the spec's order: 0 the primary (``spec.streamURL``), 1.. the
backups. A task that stopped with a status ``spec.failover.after`` lists (5 CDN failure,
6 stream URL failure) starts again at once on the next URL, skipping URLs that failed
within the back-off window, without the restart back-off: it is another stream, and the
URL rule holds for it like for any URL (only a URL whose gate is free is taken at once).

Definitions, in one place:

- A URL that failed is *cooling* for the restart back-off the task is in
  (``timing.restart_delay(failures)``: 10 s after one quick failure, doubling with each
  consecutive quick failure, capped at ``backoff_max``). When every other URL is cooling
  (every URL failed within the back-off window), the usual back-off applies, and then
  the next URL in turn is taken.
- Only restarts the operator makes by itself move between URLs. A start the user asked
  for (the first one, after a spec change that restarts, after a suspend, after a
  schedule's end) goes to the primary: with ``back: Manual`` this is how a person brings a
  broadcast back (toggle ``spec.suspend``).
- ``back: WhenPrimaryHealthy``: the next restart (whatever its cause) goes to the primary
  once the primary has cooled; a healthy backup is never interrupted to go back.
- ``restartPolicy: Never`` never restarts, so never fails over either.

The stream URL is part of the start parameters, but the immutable fingerprint is the
spec's (over the primary's parameters): a task on a backup carries the fingerprint of the
spec it was started for, so a failover never looks like a spec change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mpu_operator.core.model import Desired, Record, StopCause, TaskState, UrlFailure
from mpu_operator.core.rules import Free, Gate
from mpu_operator.streamurl import stream_key

WHEN_PRIMARY_HEALTHY = "WhenPrimaryHealthy"
#: The stops after which the next start is the user's, not a restart: on the primary.
_USER_STARTS = frozenset({StopCause.SPEC_CHANGE, StopCause.SUSPEND, StopCause.SCHEDULE_END})
#: Enough marks for the primary and four backups, and a few URLs edited away.
MAX_MARKS = 8


@dataclass(frozen=True)
class Pick:
    """The URL the next start uses. ``at_once``: no restart back-off (a failover onto a
    free URL); ``failed_over``: it moves off a failed URL (counted, and an Event)."""

    index: int
    at_once: bool = False
    failed_over: bool = False


def urls(d: Desired) -> tuple[str, ...]:
    """Every URL in failover order, the primary first (with their queries: for starts)."""
    primary = d.start.stream_url if d.start is not None else ""
    return (primary, *d.backup_stream_urls)


def keys(d: Desired) -> tuple[str, ...]:
    """The stream keys of :func:`urls` (no query): how URLs are told apart and held."""
    primary = str(d.stream_key) if d.stream_key is not None else ""
    return (primary, *(str(stream_key(u)) for u in d.backup_stream_urls))


def key_at(d: Desired, index: int) -> str | None:
    """The stream key of URL ``index`` (None: the primary's URL is not known yet)."""
    found = keys(d)[index]
    return found or None


def index_of(r: Record, d: Desired) -> int | None:
    """Where the record's URL is in the spec's list now (None: no longer in it)."""
    found = keys(d)
    if r.stream_key is None:
        return 0
    if r.url_index < len(found) and found[r.url_index] == r.stream_key:
        return r.url_index
    return found.index(r.stream_key) if r.stream_key in found else None


def active_index(r: Record, d: Desired) -> int:
    """The URL the task uses or last used; the primary when it left the spec."""
    found = index_of(r, d)
    return 0 if found is None else found


def failing(r: Record, d: Desired) -> bool:
    """Did the last task stop by itself with a status ``spec.failover.after`` lists?"""
    return (r.state is TaskState.STOPPED and r.stop_cause is StopCause.REMOTE
            and r.remote_status in d.failover_after)


def failure_of(r: Record, key: str) -> UrlFailure | None:
    return next((m for m in r.url_failures if m.key == key), None)


def cooled(r: Record, key: str, now: datetime, cooldown: float) -> bool:
    """Has the URL not failed within the back-off window (``cooldown`` seconds)?"""
    mark = failure_of(r, key)
    return mark is None or now >= mark.at + timedelta(seconds=cooldown)


def order(active: int, count: int, back: str) -> list[int]:
    """The URLs to try after ``active``, in turn and wrapping, ``active`` itself last;
    under WhenPrimaryHealthy the primary first."""
    turn = [(active + step) % count for step in range(1, count + 1)]
    if back == WHEN_PRIMARY_HEALTHY:
        turn.remove(0)
        turn.insert(0, 0)
    return turn


def pick(r: Record, d: Desired, gates: Sequence[Gate], now: datetime,
         cooldown: float) -> Pick:
    """The URL the next start of ``d`` uses. ``gates`` are the URL rule's answers by
    index (a URL without one is never taken at once); ``cooldown`` as defined above."""
    found = keys(d)
    if len(found) < 2 or r.task_id is None or r.stop_cause in _USER_STARTS:
        return Pick(0)
    active = active_index(r, d)
    turn = [i for i in order(active, len(found), d.failover_back)
            if cooled(r, found[i], now, cooldown)]
    if not failing(r, d):
        back = d.failover_back == WHEN_PRIMARY_HEALTHY and 0 in turn
        return Pick(0 if back else active)
    others = [i for i in turn if i != active]
    for i in others:
        if i < len(gates) and isinstance(gates[i], Free):
            return Pick(i, at_once=True, failed_over=True)
    if others:  # held by another MPUTask or cooling down: wait for it like any start
        return Pick(others[0], failed_over=True)
    return Pick(active)  # every URL failed within the back-off window: the usual back-off


def marked(r: Record, now: datetime) -> tuple[UrlFailure, ...]:
    """The record's failure marks with its own URL's failure (status 5/6) noted."""
    if r.stream_key is None or r.remote_status is None:
        return r.url_failures
    mark = UrlFailure(r.stream_key, now, r.remote_status)
    kept = tuple(m for m in r.url_failures if m.key != r.stream_key)
    return (mark, *kept)[:MAX_MARKS]


def moved(r: Record, key: str | None, index: int, failed_over: bool) -> dict[str, Any]:
    """A new incarnation's URL fields: its index, the failover count, and the URL the
    last one released if this one moves off it (it still cools down for everyone)."""
    fields: dict[str, Any] = {"url_index": index,
                              "failovers": r.failovers + (1 if failed_over else 0)}
    if r.state is TaskState.STOPPED and r.stream_key is not None and r.stream_key != key:
        fields.update(released_key=r.stream_key, released_at=r.stopped_at)
    return fields


def releases(r: Record) -> list[tuple[str, datetime]]:
    """URLs the record released other than its own, and when: the URL rule's cooldown
    applies to them (a task that moved on must not let another take them at once)."""
    found = [(m.key, m.at) for m in r.url_failures]
    if r.released_key is not None and r.released_at is not None:
        found.append((r.released_key, r.released_at))
    latest: dict[str, datetime] = {}
    for key, at in found:
        if key != r.stream_key:
            latest[key] = max(at, latest.get(key, at))
    return list(latest.items())


def poll_interval(interval: float, r: Record, d: Desired | None, poll_fast: float,
                  budget_floor: float, jitter: float) -> float:
    """A running task with backups is polled every ``poll_fast`` seconds (the shell gives
    Timing.fast_poll, MPU_POLL_FAST_SECONDS), stretched to ``budget_floor`` (the routine
    polls' share of the API rate), so that a failure is seen in seconds; ``jitter`` is the
    fraction to add (from the caller's RNG)."""
    if d is None or not d.backup_stream_urls or r.state is not TaskState.ACTIVE:
        return interval
    return min(interval, max(0.05, max(poll_fast, budget_floor) * (1.0 + jitter)))
