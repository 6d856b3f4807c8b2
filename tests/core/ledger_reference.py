"""The ledger as it was before it kept indices: every question answered from lists merged
anew (O(N) per question). Kept as the reference the indexed ``Ledger`` must agree with,
answer for answer, whatever sequence of words it hears (test_ledger_model.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from mpu_operator.core.model import Owner
from mpu_operator.core.rules import Gate, IdClaim, OtherShard, UrlUse, task_id_taken, url_gate
from mpu_operator.core.shard import Shard, shard_of_key


def _quota_free(me: Owner, app_id: str, uses: Iterable[UrlUse], limit: int) -> bool:
    active = {u.owner for u in uses if u.app_id == app_id and u.active and u.owner != me}
    return len(active) < limit


class ReferenceLedger:
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
            return _quota_free(me, app_id, uses, limit)
        shard = self.shard
        if shard.selector is not None:  # the tasks of the objects this shard drives
            own = [u for u in uses if u.owner not in self._foreign]
        else:
            own = [u for u in uses if u.key is not None and shard.owns_key(u.key)]
        return _quota_free(me, app_id, own, shard.quota_share(limit))

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
