"""The service's stream-URL rules, its concurrency quota and TaskId ownership, enforced
cluster-wide by us.

A URL is held by one MPUTask from its Start call until its task is confirmed stopped and
the cooldown (10 s) has passed; URLs compare by scheme/host/port/path. Of those waiting,
the oldest (creationTimestamp, then namespace/name) goes first, whoever is reconciled
first. The service documents no error for breaking these rules, so we must never try.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from mpu_operator.core.model import Owner


@dataclass(frozen=True)
class UrlUse:
    """What one MPUTask does with its URL and its app's quota, as far as the rules care."""

    owner: Owner
    key: str | None  # str(StreamKey); None while unknown (URL Secret unreadable)
    app_id: str
    active: bool  # a task of it may be live: counts against the URL and the quota
    released_at: datetime | None = None  # last confirmed stop, for the cooldown
    contending: bool = False  # ready to start but for the URL/quota


@dataclass(frozen=True)
class Free:
    pass


@dataclass(frozen=True)
class InUse:
    holder: Owner


@dataclass(frozen=True)
class CoolingDown:
    until: datetime


@dataclass(frozen=True)
class Queued:
    ahead: Owner


@dataclass(frozen=True)
class OtherShard:
    """The URL is arbitrated by another operator shard (``MPU_SHARD``): only it may start
    on it, so this one hands the object over (see core/shard.py). ``shard`` None: shards
    by label (``MPU_SHARD_SELECTOR``), and another shard's MPUTask uses the URL too."""

    shard: int | None

    @property
    def message(self) -> str:
        if self.shard is None:
            return ("the stream URL is also used by an MPUTask of another operator shard "
                    "(MPU_SHARD_SELECTOR): MPUTasks that share a stream URL must carry the "
                    "same shard label; nothing starts on it until they do")
        return (f"the stream URL is arbitrated by operator shard {self.shard}: handing this "
                "MPUTask over to it")


Gate = Free | InUse | CoolingDown | Queued | OtherShard


def url_gate(
    me: Owner,
    key: str,
    uses: Iterable[UrlUse],
    now: datetime,
    cooldown: timedelta,
    undated_release: datetime,
) -> Gate:
    """May ``me`` start a task on ``key`` now?

    ``undated_release`` is when we assume a URL was last released when nothing dates it
    (the operator's start: a stop we did not see may have happened just before).
    """
    same = [u for u in uses if u.key == key]
    holders = [u.owner for u in same if u.owner != me and u.active]
    if holders:  # one, unless the cluster was broken before us: name the oldest, always
        return InUse(min(holders))
    releases = [u.released_at for u in same if u.released_at is not None]
    last_release = max(releases) if releases else undated_release
    if now < last_release + cooldown:
        return CoolingDown(last_release + cooldown)
    ahead = [u.owner for u in same if u.contending and u.owner != me and u.owner < me]
    if ahead:
        return Queued(min(ahead))
    return Free()


def quota_free(me: Owner, holders: Collection[Owner], limit: int) -> bool:
    """Is there room under the per-app concurrency quota for one more task of ``me``?
    ``holders``: the MPUTasks whose task of the app may be live (``me`` among them or not)."""
    return len(holders) - (me in holders) < limit


@dataclass(frozen=True)
class IdClaim:
    """The TaskIds one MPUTask may act on: every incarnation of its base, and the one its
    record holds (the service knows a TaskId by (appId, TaskId), whoever asks)."""

    owner: Owner
    app_id: str
    base: str
    current: str | None  # the TaskId the record names (None: it never wrote one ahead)


def task_id_taken(me: IdClaim, candidate: str, claims: Iterable[IdClaim]) -> bool:
    """Does ``candidate`` (the TaskId ``me`` would act on) belong to another MPUTask?

    A TaskId another object's record names is that object's, unless ``me`` names it too
    (a task both adopted before this rule): then the older keeps it. A TaskId that is not
    yet anyone's goes to the older of the objects whose base it belongs to. Namespaces do
    not matter: the service's TaskIds are per app, not per namespace.
    """
    holding = me.current == candidate
    for other in claims:
        if other.owner == me.owner or other.app_id != me.app_id:
            continue
        older = other.owner.seniority < me.owner.seniority
        if other.current == candidate and (older or not holding):
            return True
        if not holding and older and other.base in (candidate, me.base):
            return True
    return False
