"""Who holds which stream URL and TaskId, cluster-wide: the cluster's word plus our own
fresher one.

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

from mpu_operator.core import failover, taskid
from mpu_operator.core.model import Owner, Record, TaskState
from mpu_operator.core.rules import (
    Gate,
    IdClaim,
    OtherShard,
    UrlUse,
    quota_free,
    task_id_taken,
    url_gate,
)
from mpu_operator.core.shard import Shard, shard_of_key
from mpu_operator.core.status import clamp_future, parse_time, record_from_status
from mpu_operator.streamurl import stream_key

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def owner_of(body: Mapping[str, Any]) -> Owner:
    meta = _mapping(body.get("metadata"))
    created = parse_time(meta.get("creationTimestamp")) or EPOCH
    return Owner(created, str(meta.get("namespace") or ""), str(meta.get("name") or ""),
                 str(meta.get("uid") or ""))


def task_id_base(spec: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    """spec.taskId, or the id derived from namespace, name and uid."""
    given = spec.get("taskId")
    if isinstance(given, str) and given:
        return given
    return taskid.derive_base(str(meta.get("namespace") or ""), str(meta.get("name") or ""),
                              str(meta.get("uid") or ""))


def claim_of(body: Mapping[str, Any]) -> IdClaim:
    """The TaskIds an object may act on, as the cluster shows it."""
    record = record_from_status(_mapping(body.get("status")))
    return claim_for(owner_of(body), _mapping(body.get("spec")),
                     _mapping(body.get("metadata")), record)


def claim_for(owner: Owner, spec: Mapping[str, Any], meta: Mapping[str, Any],
              record: Record) -> IdClaim:
    """From the raw spec, so that an invalid spec still claims (and keeps) its TaskIds."""
    app_id = spec.get("appId")
    current = record.task_id if record.state is not TaskState.NONE else None
    return IdClaim(owner, app_id if isinstance(app_id, str) and app_id else
                   record.app_id or "", task_id_base(spec, meta), current)


def uses_of(body: Mapping[str, Any], undated: datetime,
            now: datetime | None = None) -> list[UrlUse]:
    """An object's uses: the URL its task holds or last released, and the URL it wants.

    ``undated`` stands in for a stop the status does not date (the operator's start);
    times in the status later than ``now`` (another pod's clock) count as ``now``.
    """
    owner = owner_of(body)
    spec = _mapping(body.get("spec"))
    status = _mapping(body.get("status"))
    record = clamp_future(record_from_status(status), now or datetime.now(UTC))
    app_id = str(spec.get("appId") or record.app_id or "")
    result = held_uses(owner, record, app_id, undated)
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


def held_uses(owner: Owner, record: Record, app_id: str, undated: datetime) -> list[UrlUse]:
    """:func:`held_use`, and the URLs the record moved off (a failover): they were
    released when it left them, and cool down like any released URL."""
    held = held_use(owner, record, app_id, undated)
    app = record.app_id or app_id
    return ([held] if held else []) + [
        UrlUse(owner, key, app, active=False, released_at=at)
        for key, at in failover.releases(record)]


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

    def __init__(self, started_at: datetime, cooldown: timedelta,
                 shard: Shard | None = None) -> None:
        self.started_at = started_at
        self.cooldown = cooldown
        self.shard = shard  # None: the only operator, arbiter of every URL
        self._local: dict[Owner, list[UrlUse]] = {}
        #: Shards by label: the latest uses of the objects other shards drive, kept after
        #: such an object is gone until its URL has cooled down (the index forgets it).
        self._foreign: dict[Owner, list[UrlUse]] = {}
        self._claims: dict[Owner, IdClaim] = {}
        self._listeners: list[Callable[[], None]] = []

    def uses(self, indexed: Iterable[UrlUse]) -> list[UrlUse]:
        mine = [u for uses in self._local.values() for u in uses]
        seen = [u for u in indexed if u.owner not in self._local]
        if not self._foreign:
            return mine + seen
        shown = {u.owner for u in seen}
        gone = [u for owner, uses in self._foreign.items() if owner not in shown
                for u in uses]
        return mine + seen + gone

    def note_foreign(self, owner: Owner, uses: list[UrlUse] | None) -> None:
        """Shards by label: ``owner``'s uses when another shard drives it, None when this
        one does (from the index, which sees every object)."""
        if uses is None:
            self._foreign.pop(owner, None)
        else:  # relabelled away from this shard: the other one's word counts from now on
            self._foreign[owner] = uses
            self._local.pop(owner, None)

    def record(self, owner: Owner, uses: list[UrlUse]) -> None:
        """This process's latest word on ``owner``; wakes waiters when it frees anything."""
        if owner in self._foreign:  # relabelled to another shard mid-step: its word counts
            return
        before = self._local.get(owner, [])
        self._local[owner] = uses
        if (any(u.active for u in before) and not any(u.active for u in uses)) \
                or {u.key for u in before if u.contending} - {u.key for u in uses}:
            self._notify()

    def gate(self, me: Owner, key: str, indexed: Iterable[UrlUse], now: datetime) -> Gate:
        if self.shard is not None and self.shard.selector is not None:
            if any(u.key == key and u.owner != me and u.owner in self._foreign
                   and (u.active or u.contending) for u in self.uses(indexed)):
                return OtherShard(None)  # the URL is shared across shards: never race
        elif self.shard is not None and not self.shard.owns_key(key):
            return OtherShard(shard_of_key(key, self.shard.count))
        return url_gate(me, key, self.uses(indexed), now, self.cooldown, self.started_at)

    def quota_ok(self, me: Owner, app_id: str, indexed: Iterable[UrlUse], limit: int) -> bool:
        """Sharded, each shard counts only the tasks on its own URLs (only it starts those)
        against its slice of ``limit``: the slices add up to ``limit``, so no race between
        shards can exceed it."""
        uses = self.uses(indexed)
        if self.shard is None:
            return quota_free(me, app_id, uses, limit)
        shard = self.shard
        if shard.selector is not None:  # the tasks of the objects this shard drives
            own = [u for u in uses if u.owner not in self._foreign]
        else:
            own = [u for u in uses if u.key is not None and shard.owns_key(u.key)]
        return quota_free(me, app_id, own, shard.quota_share(limit))

    def active_count(self, indexed: Iterable[UrlUse]) -> int:
        """The live tasks this process polls: sharded, only its own (their polls share its
        slice of the budget; counting every shard's would stretch its polls k times)."""
        uses = [u for u in self.uses(indexed) if u.active]
        if self.shard is None:
            return len(uses)
        if self.shard.selector is not None:
            return sum(1 for u in uses if u.owner not in self._foreign)
        shard = self.shard
        return sum(1 for u in uses if u.key is not None and shard.owns_key(u.key))

    def claim(self, claim: IdClaim) -> None:
        """This process's latest word on the TaskIds ``claim.owner`` may act on."""
        self._claims[claim.owner] = claim

    def claims(self, indexed: Iterable[IdClaim]) -> list[IdClaim]:
        return [*self._claims.values(), *(c for c in indexed if c.owner not in self._claims)]

    def task_id_taken(self, me: IdClaim, candidate: str, indexed: Iterable[IdClaim]) -> bool:
        return task_id_taken(me, candidate, self.claims(indexed))

    def prune(self, alive: set[Owner], now: datetime) -> None:
        """Forget deleted objects: their TaskIds at once (the cluster no longer shows a
        claim), their URLs once cooled down."""
        for owner in [o for o in self._claims if o not in alive]:
            del self._claims[owner]
        for memory in (self._local, self._foreign):
            for owner in [o for o in memory if o not in alive]:
                if all(not u.active and (u.released_at is None
                                         or u.released_at + self.cooldown < now)
                       for u in memory[owner]):
                    del memory[owner]

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()
