"""Sharding (MPU_SHARD=i/k): a stable hash, the routing key that puts every object on one
URL into one shard, the hand-over gate, and quota slices that add up to the quota."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from mpu_operator.core.ledger import Ledger, owner_of
from mpu_operator.core.model import TaskState
from mpu_operator.core.rules import Free, InUse, OtherShard, UrlUse
from mpu_operator.core.shard import (
    MAX_SHARDS,
    Shard,
    parse_shard,
    route_key,
    shard_of,
    shard_of_key,
)

from .fixtures import at

TEN = timedelta(seconds=10)


def key_in(shard: int, count: int, prefix: str = "rtmp://push.example.com/live/") -> str:
    """A stream key that hashes to ``shard`` of ``count``."""
    return next(f"{prefix}{n}" for n in range(1000)
                if shard_of_key(f"{prefix}{n}", count) == shard)


def body(name: str = "a", *, url: str | None = "rtmp://push.example.com/live/x?auth=s",
         status: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"appId": "app"}
    if url is not None:
        spec["streamURL"] = url
    return {"metadata": {"namespace": "ns", "name": name,
                         "creationTimestamp": "2026-11-25T11:00:00Z"},
            "spec": spec, "status": status or {}}


def test_the_hash_is_sha256_and_the_same_in_every_process() -> None:
    # Pinned values: a change (or Python's salted hash()) would move live objects.
    assert [shard_of("live", f"show-{n}", 64) for n in range(8)] == \
        [28, 24, 53, 31, 8, 8, 48, 42]
    code = ("from mpu_operator.core.shard import shard_of;"
            "print([shard_of('live', f'show-{n}', 64) for n in range(8)])")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={"PYTHONHASHSEED": "123"})
    assert other.stdout.strip() == str([shard_of("live", f"show-{n}", 64) for n in range(8)])
    assert shard_of_key("ns/a", 1 << 30) == int.from_bytes(
        __import__("hashlib").sha256(b"ns/a").digest()[:8], "big") % (1 << 30)


def test_objects_spread_over_the_shards() -> None:
    counts = Counter(shard_of("ns", f"task-{n}", 4) for n in range(4000))
    assert set(counts) == {0, 1, 2, 3}
    assert all(850 < c < 1150 for c in counts.values()), counts


@pytest.mark.parametrize(("text", "shard"), [
    ("0/1", Shard(0, 1)), ("1/2", Shard(1, 2)), (" 63 / 64 ", Shard(63, 64))])
def test_parse_shard(text: str, shard: Shard) -> None:
    assert parse_shard(text) == shard


@pytest.mark.parametrize("text", [
    "", "2", "2/2", "3/2", "0/0", "0/65", "-1/2", "a/b", "1/2/3", "1.0/2", "０/2", "0/100"])
def test_bad_shards_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="0 <= i < k <= 64"):
        parse_shard(text)
    assert MAX_SHARDS == 64


def test_the_route_is_the_wanted_url_not_the_query_nor_the_name() -> None:
    a = body("a", url="rtmp://push.example.com/live/x?auth=one")
    b = body("b", url="rtmp://push.example.com:1935/live/x?auth=two")
    assert route_key(a) == route_key(b) == "rtmp://push.example.com/live/x"


def test_a_secret_url_routes_by_name_until_resolved_then_by_the_shown_url() -> None:
    fresh = body("a", url=None)
    assert route_key(fresh) == "ns/a"
    shown = body("a", url=None, status={"streamURL": "rtmp://push.example.com/live/y"})
    assert route_key(shown) == "rtmp://push.example.com/live/y"


@pytest.mark.parametrize(("state", "holds"), [
    (TaskState.STARTING, True), (TaskState.ACTIVE, True), (TaskState.STOPPING, True),
    (TaskState.STOPPED, False), (TaskState.NONE, False)])
def test_a_held_url_keeps_the_object_where_it_was_started(state: TaskState,
                                                          holds: bool) -> None:
    """The spec now names another URL, but the task on the old one may be live: the shard
    that started it keeps it until it is confirmed stopped."""
    status = {"internal": {"state": state.value, "streamKey": "rtmp://old.example.com/a"}}
    got = route_key(body("a", url="rtmp://new.example.com/b", status=status))
    assert got == ("rtmp://old.example.com/a" if holds else "rtmp://new.example.com/b")


def test_every_shard_agrees_who_owns_an_object() -> None:
    objects = [body(f"t{n}", url=f"rtmp://h/live/{n % 7}") for n in range(50)]
    for obj in objects:
        owners = [i for i in range(3) if Shard(i, 3).owns(obj)]
        assert len(owners) == 1


@pytest.mark.parametrize("limit", [1, 2, 3, 10, 11, 64])
@pytest.mark.parametrize("count", [1, 2, 3, 4, 64])
def test_quota_slices_add_up_to_the_quota(limit: int, count: int) -> None:
    shares = [Shard(i, count).quota_share(limit) for i in range(count)]
    assert sum(shares) == limit and max(shares) - min(shares) <= 1


def test_a_shard_starts_only_on_its_own_urls() -> None:
    mine, theirs = key_in(0, 2), key_in(1, 2)
    ledger = Ledger(at(-3600), TEN, shard=Shard(0, 2))
    me = owner_of(body("me"))
    assert ledger.gate(me, mine, [], at(0)) == Free()
    assert ledger.gate(me, theirs, [], at(0)) == OtherShard(1)
    holder = owner_of(body("holder"))
    assert ledger.gate(me, mine, [UrlUse(holder, mine, "app", active=True)], at(0)) == \
        InUse(holder)


def test_a_sharded_quota_counts_only_its_own_urls_against_its_slice() -> None:
    ledger = Ledger(at(-3600), TEN, shard=Shard(0, 2))
    me = owner_of(body("me"))
    others = [UrlUse(owner_of(body(f"o{n}")), key_in(1, 2, f"rtmp://h/{n}/"), "app",
                     active=True) for n in range(5)]
    assert ledger.quota_ok(me, "app", others, 4)  # shard 1's tasks count in shard 1
    own = [UrlUse(owner_of(body(f"m{n}")), key_in(0, 2, f"rtmp://h/{n}/"), "app",
                  active=True) for n in range(2)]
    assert not ledger.quota_ok(me, "app", own, 4)  # slice 2 of 4: full
    assert ledger.quota_ok(me, "app", own[:1], 4)
    assert ledger.quota_ok(me, "other", own, 4)
    unsharded = Ledger(at(-3600), TEN)
    assert not unsharded.quota_ok(me, "app", others, 4)
