"""Who holds which stream URL and TaskId, cluster-wide: the cluster's word plus our own
fresher one.

The kopf index handler tells the ledger every MPUTask's uses as last seen in the cluster
(kopf runs it for every listed object before any daemon, so a restarted operator knows
the holders before it starts anything). This process's own decisions are newer than any
watch event, so they override the cluster's word for their owners; and they outlive a
deleted object until its URL has cooled down, which the cluster's word (gone with the
object) cannot do.
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
    """The arbitration's memory in this process, kept indexed by URL, app and TaskId.

    Three voices speak about each MPUTask: the cluster (``observe``, from the kopf index
    handler on every event, until ``unobserve`` on DELETED), this process, whose word is
    fresher than any watch event (``record``, ``claim``), and, sharded by label, the shard
    that drives it (``note_foreign``). The uses in effect are this process's word, else the
    cluster's, else the other shard's; they are indexed as they change, so a decision costs
    in proportion to the objects that share its URL, quota or TaskId, not to the thousand
    in the cluster (a merged list rebuilt per decision made a start-up of N objects cost
    N² and left the operator CPU-bound). This process's word outlives a deleted object
    until its URL has cooled down, which the cluster's (that forgets deleted objects)
    cannot do.

    Not thread-safe: used from the event loop, and a claim is made in the same synchronous
    step as the decision that needs it.
    """

    def __init__(self, started_at: datetime, cooldown: timedelta,
                 shard: Shard | None = None) -> None:
        self.started_at = started_at
        self.cooldown = cooldown
        self.shard = shard  # None: the only operator, arbiter of every URL
        self._seen: dict[Owner, tuple[UrlUse, ...]] = {}
        self._seen_claims: dict[Owner, IdClaim] = {}
        self._local: dict[Owner, tuple[UrlUse, ...]] = {}
        #: Shards by label: the latest uses of the objects other shards drive, kept after
        #: such an object is gone until its URL has cooled down.
        self._foreign: dict[Owner, tuple[UrlUse, ...]] = {}
        self._claims: dict[Owner, IdClaim] = {}
        #: Owners this process has a word on that the cluster does not show: prune's work.
        self._unseen: set[Owner] = set()
        self._in_effect: dict[Owner, tuple[UrlUse, ...]] = {}
        self._by_key: dict[str, dict[Owner, tuple[UrlUse, ...]]] = {}
        self._counted: dict[Owner, tuple[int, frozenset[str]]] = {}
        self._holders: dict[str, set[Owner]] = {}  # app -> owners of counted live tasks
        self._active = 0  # counted live tasks
        self._claim_in_effect: dict[Owner, IdClaim] = {}
        self._naming: dict[tuple[str, str | None], set[Owner]] = {}  # (app, TaskId) -> claimants
        self._listeners: list[Callable[[], None]] = []

    # ------------------------------------------------------------------ who says what

    def observe(self, owner: Owner, uses: Iterable[UrlUse],
                claim: IdClaim | None = None) -> None:
        """The cluster's word on ``owner``, as its latest watch event shows it."""
        self._seen[owner] = tuple(uses)
        if claim is not None:
            self._seen_claims[owner] = claim
        self._unseen.discard(owner)
        self._refresh(owner)
        self._refresh_claim(owner)

    def unobserve(self, owner: Owner) -> None:
        """``owner`` is gone from the cluster: only this process's word on it remains."""
        self._seen.pop(owner, None)
        self._seen_claims.pop(owner, None)
        self._track(owner)
        self._refresh(owner)
        self._refresh_claim(owner)

    def note_foreign(self, owner: Owner, uses: Iterable[UrlUse] | None) -> None:
        """Shards by label: ``owner``'s uses when another shard drives it, None when this
        one does (from the index, which sees every object)."""
        if uses is None:
            self._foreign.pop(owner, None)
        else:  # relabelled away from this shard: the other one's word counts from now on
            self._foreign[owner] = tuple(uses)
            self._local.pop(owner, None)
        self._refresh(owner)  # (the index handler observes it next; unobserve tracks it)

    def record(self, owner: Owner, uses: Iterable[UrlUse]) -> None:
        """This process's latest word on ``owner``; wakes waiters when it frees anything."""
        if owner in self._foreign:  # relabelled to another shard mid-step: its word counts
            return
        before = self._local.get(owner, ())
        after = self._local[owner] = tuple(uses)
        self._track(owner)
        self._refresh(owner)
        if (any(u.active for u in before) and not any(u.active for u in after)) \
                or {u.key for u in before if u.contending} - {u.key for u in after}:
            self._notify()

    def claim(self, claim: IdClaim) -> None:
        """This process's latest word on the TaskIds ``claim.owner`` may act on."""
        self._claims[claim.owner] = claim
        self._track(claim.owner)
        self._refresh_claim(claim.owner)

    # ------------------------------------------------------------------ the questions

    def gate(self, me: Owner, key: str, now: datetime) -> Gate:
        same = self.uses_at(key)
        if self.shard is not None and self.shard.selector is not None:
            if any(u.owner != me and u.owner in self._foreign
                   and (u.active or u.contending) for u in same):
                return OtherShard(None)  # the URL is shared across shards: never race
        elif self.shard is not None and not self.shard.owns_key(key):
            return OtherShard(shard_of_key(key, self.shard.count))
        return url_gate(me, key, same, now, self.cooldown, self.started_at)

    def quota_ok(self, me: Owner, app_id: str, limit: int) -> bool:
        """Sharded, each shard counts only the tasks it starts (on its own URLs, or of the
        objects it drives) against its slice of ``limit``: the slices add up to
        ``limit``, so no race between shards can exceed it."""
        share = limit if self.shard is None else self.shard.quota_share(limit)
        return quota_free(me, self._holders.get(app_id, set()), share)

    def active_count(self) -> int:
        """The live tasks this process polls: sharded, only its own (their polls share its
        slice of the budget; counting every shard's would stretch its polls k times)."""
        return self._active

    def task_id_taken(self, me: IdClaim, candidate: str) -> bool:
        near = self._naming.get((me.app_id, candidate), set()) | self._naming.get(
            (me.app_id, me.base), set())
        return task_id_taken(me, candidate, [self._claim_in_effect[o] for o in near])

    def uses_at(self, key: str) -> list[UrlUse]:
        """The uses in effect of one URL."""
        return [u for uses in self._by_key.get(key, {}).values() for u in uses]

    def uses(self) -> list[UrlUse]:
        """Every use in effect."""
        return [u for uses in self._in_effect.values() for u in uses]

    def claims(self) -> list[IdClaim]:
        """Every claim in effect: this process's, else the cluster's."""
        return list(self._claim_in_effect.values())

    # ------------------------------------------------------------------ housekeeping

    def prune(self, now: datetime) -> None:
        """Forget deleted objects: their TaskIds at once (the cluster no longer shows a
        claim), their URLs once cooled down."""
        for owner in list(self._unseen):
            dropped = self._claims.pop(owner, None) is not None
            for memory in (self._local, self._foreign):
                if owner in memory and all(
                        not u.active and (u.released_at is None
                                          or u.released_at + self.cooldown < now)
                        for u in memory[owner]):
                    del memory[owner]
                    dropped = True
            if owner not in self._local and owner not in self._foreign:
                self._unseen.discard(owner)
            if dropped:
                self._refresh(owner)
                self._refresh_claim(owner)

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    def _track(self, owner: Owner) -> None:
        if owner not in self._seen:
            self._unseen.add(owner)

    def _refresh(self, owner: Owner) -> None:
        """Re-index ``owner``'s uses in effect after any word on it changed."""
        self._unindex(owner)
        uses: tuple[UrlUse, ...] | None
        if owner in self._local:
            uses = self._local[owner]
        elif owner in self._seen:
            uses = self._seen[owner]
        else:
            uses = self._foreign.get(owner)
        if not uses:
            return
        self._in_effect[owner] = uses
        for key in {u.key for u in uses if u.key is not None}:
            self._by_key.setdefault(key, {})[owner] = tuple(u for u in uses if u.key == key)
        counted = [u for u in uses if u.active and self._counts(owner, u)]
        apps = frozenset(u.app_id for u in counted)
        self._counted[owner] = (len(counted), apps)
        self._active += len(counted)
        for app in apps:
            self._holders.setdefault(app, set()).add(owner)

    def _unindex(self, owner: Owner) -> None:
        for key in {u.key for u in self._in_effect.pop(owner, ()) if u.key is not None}:
            same = self._by_key[key]
            del same[owner]
            if not same:
                del self._by_key[key]
        count, apps = self._counted.pop(owner, (0, frozenset()))
        self._active -= count
        for app in apps:
            holders = self._holders[app]
            holders.discard(owner)
            if not holders:
                del self._holders[app]

    def _counts(self, owner: Owner, use: UrlUse) -> bool:
        """Does a live ``use`` count against this process's quota slice and poll budget?
        Sharded, only the tasks it starts do."""
        if self.shard is None:
            return True
        if self.shard.selector is not None:
            return owner not in self._foreign
        return use.key is not None and self.shard.owns_key(use.key)

    def _refresh_claim(self, owner: Owner) -> None:
        for name in _names(self._claim_in_effect.pop(owner, None)):
            claimants = self._naming[name]
            claimants.discard(owner)
            if not claimants:
                del self._naming[name]
        claim = self._claims.get(owner) or self._seen_claims.get(owner)
        if claim is None:
            return
        self._claim_in_effect[owner] = claim
        for name in _names(claim):
            self._naming.setdefault(name, set()).add(owner)


def _names(claim: IdClaim | None) -> set[tuple[str, str | None]]:
    """The (app, TaskId) pairs a claim speaks for: its base, and the TaskId it holds (None
    when it holds none: no TaskId asked about is None)."""
    if claim is None:
        return set()
    return {(claim.app_id, claim.base), (claim.app_id, claim.current)}
