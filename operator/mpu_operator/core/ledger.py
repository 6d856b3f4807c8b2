"""Who holds which stream URL, cluster-wide: the cluster's word plus our own fresher one.

The kopf index gives every MPUTask's use as last seen in the cluster (populated before any
handler runs, so a restarted operator knows the holders before it starts anything). This
process's own decisions are newer than any watch event, so they override the index for
their owners; and they outlive a deleted object until its URL has cooled down, which the
index (that forgets deleted objects) cannot do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from mpu_operator.core.model import Owner, Record, TaskState
from mpu_operator.core.rules import Gate, UrlUse, quota_free, url_gate
from mpu_operator.core.status import parse_time, record_from_status
from mpu_operator.streamurl import stream_key

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def owner_of(body: Mapping[str, Any]) -> Owner:
    meta = _mapping(body.get("metadata"))
    created = parse_time(meta.get("creationTimestamp")) or EPOCH
    return Owner(created, str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def uses_of(body: Mapping[str, Any], undated: datetime) -> list[UrlUse]:
    """An object's uses: the URL its task holds or last released, and the URL it wants.

    ``undated`` stands in for a stop the status does not date (the operator's start).
    """
    owner = owner_of(body)
    spec = _mapping(body.get("spec"))
    status = _mapping(body.get("status"))
    record = record_from_status(status)
    app_id = str(spec.get("appId") or record.app_id or "")
    held = held_use(owner, record, app_id, undated)
    result: list[UrlUse] = [held] if held else []
    wanted = _wanted_key(spec, status)
    deleting = bool(_mapping(body.get("metadata")).get("deletionTimestamp"))
    internal = _mapping(status.get("internal"))
    fresh = "phase" not in status
    contending = (not record.state.holds_url and not deleting and not spec.get("suspend")
                  and (bool(internal.get("contending")) or fresh))
    if wanted and contending:
        result.append(UrlUse(owner, wanted, app_id, active=False, contending=True))
    return result


def held_use(owner: Owner, record: Record, app_id: str, undated: datetime) -> UrlUse | None:
    """The URL a task holds (or last released) by the record; None if it never took one."""
    if not record.stream_key or record.state is TaskState.NONE:
        return None
    released = (record.stopped_at or undated) if record.state is TaskState.STOPPED else None
    return UrlUse(owner, record.stream_key, record.app_id or app_id,
                  active=record.state.holds_url, released_at=released)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _wanted_key(spec: Mapping[str, Any], status: Mapping[str, Any]) -> str | None:
    url = spec.get("streamURL")
    if isinstance(url, str) and url:
        return str(stream_key(url))
    shown = status.get("streamURL")  # a Secret's URL, as we resolved it last (no query)
    return shown if isinstance(shown, str) and shown else None


class Ledger:
    """The arbitration's memory in this process. Not thread-safe: used from the event loop,
    and a claim is made in the same synchronous step as the decision that needs it."""

    def __init__(self, started_at: datetime, cooldown: timedelta) -> None:
        self.started_at = started_at
        self.cooldown = cooldown
        self._local: dict[Owner, list[UrlUse]] = {}
        self._listeners: list[Callable[[], None]] = []

    def uses(self, indexed: Iterable[UrlUse]) -> list[UrlUse]:
        mine = [u for uses in self._local.values() for u in uses]
        return mine + [u for u in indexed if u.owner not in self._local]

    def record(self, owner: Owner, uses: list[UrlUse]) -> None:
        """This process's latest word on ``owner``; wakes waiters when it frees anything."""
        before = self._local.get(owner, [])
        self._local[owner] = uses
        if (any(u.active for u in before) and not any(u.active for u in uses)) \
                or {u.key for u in before if u.contending} - {u.key for u in uses}:
            self._notify()

    def gate(self, me: Owner, key: str, indexed: Iterable[UrlUse], now: datetime) -> Gate:
        return url_gate(me, key, self.uses(indexed), now, self.cooldown, self.started_at)

    def quota_ok(self, me: Owner, app_id: str, indexed: Iterable[UrlUse], limit: int) -> bool:
        return quota_free(me, app_id, self.uses(indexed), limit)

    def prune(self, alive: set[Owner], now: datetime) -> None:
        """Forget deleted objects once their URLs have cooled down."""
        for owner in [o for o in self._local if o not in alive]:
            uses = self._local[owner]
            if all(not u.active and (u.released_at is None
                                     or u.released_at + self.cooldown < now) for u in uses):
                del self._local[owner]

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()
