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
from mpu_operator.core.model import Owner, TaskState
from mpu_operator.core.rules import CoolingDown, Free, InUse, OtherShard, Queued, UrlUse
from mpu_operator.core.shard import (
    MAX_SHARDS,
    LabelSelector,
    Shard,
    parse_selector,
    parse_shard,
    route_key,
    shard_of,
    shard_of_key,
)

from .fixtures import at, shows

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
    assert ledger.gate(me, mine, at(0)) == Free()
    assert ledger.gate(me, theirs, at(0)) == OtherShard(1)
    holder = owner_of(body("holder"))
    shows(ledger, UrlUse(holder, mine, "app", active=True))
    assert ledger.gate(me, mine, at(0)) == InUse(holder)


def test_a_sharded_quota_counts_only_its_own_urls_against_its_slice() -> None:
    ledger = Ledger(at(-3600), TEN, shard=Shard(0, 2))
    me = owner_of(body("me"))
    others = [UrlUse(owner_of(body(f"o{n}")), key_in(1, 2, f"rtmp://h/{n}/"), "app",
                     active=True) for n in range(5)]
    shows(ledger, *others)
    assert ledger.quota_ok(me, "app", 4)  # shard 1's tasks count in shard 1
    own = [UrlUse(owner_of(body(f"m{n}")), key_in(0, 2, f"rtmp://h/{n}/"), "app",
                  active=True) for n in range(2)]
    shows(ledger, own[0])
    assert ledger.quota_ok(me, "app", 4)
    shows(ledger, own[1])
    assert not ledger.quota_ok(me, "app", 4)  # slice 2 of 4: full
    assert ledger.quota_ok(me, "other", 4)
    ledger.unobserve(own[0].owner)
    assert ledger.quota_ok(me, "app", 4)
    unsharded = shows(Ledger(at(-3600), TEN), *others)
    assert not unsharded.quota_ok(me, "app", 4)


# -- shards by label (MPU_SHARD_SELECTOR) ---------------------------------------------------

URL_KEY = "rtmp://push.example.com/live/x"


def labelled(name: str, team: str | None, **kw: Any) -> dict[str, Any]:
    obj = body(name, **kw)
    if team is not None:
        obj["metadata"]["labels"] = {"team": team}
    return obj


def by_label(value: str = "a") -> Shard:
    return Shard(0, 2, LabelSelector("team", frozenset({value})))


@pytest.mark.parametrize(("text", "key", "values"), [
    ("team=a", "team", {"a"}), ("team==a", "team", {"a"}), (" team = a ", "team", {"a"}),
    ("mpu.example.com/shard in (a, b-2,c.3)", "mpu.example.com/shard", {"a", "b-2", "c.3"})])
def test_parse_selector(text: str, key: str, values: set[str]) -> None:
    assert parse_selector(text) == LabelSelector(key, frozenset(values))


def test_a_selector_shard_drives_exactly_the_objects_its_label_picks() -> None:
    shards = [by_label("a"), Shard(1, 2, parse_selector("team in (b, c)"))]
    for team, driver in (("a", 0), ("b", 1), ("c", 1)):
        obj = labelled("t", team)
        assert [s.owns(obj) for s in shards] == [driver == 0, driver == 1]
    for junk in (labelled("t", None), labelled("t", "d"), {"metadata": {"labels": "x"}}, {}):
        assert not any(s.owns(junk) for s in shards)  # driven by none: shows no status
    assert str(shards[1]) == "1/2 by label team in (b, c)"


def _foreign(ledger: Ledger, name: str, *uses: UrlUse) -> None:
    ledger.note_foreign(owner_of(body(name)), list(uses))


def test_a_url_another_shard_uses_is_never_started_by_label() -> None:
    """No arbiter per URL across label shards: a live or waiting use of the URL by an
    object of another shard blocks it (both sides wait, visibly), instead of a race."""
    ledger = Ledger(at(-3600), TEN, shard=by_label())
    me = owner_of(body("me"))
    theirs = owner_of(body("theirs"))
    for use in (UrlUse(theirs, URL_KEY, "app", active=True),
                UrlUse(theirs, URL_KEY, "app", active=False, contending=True)):
        _foreign(ledger, "theirs", use)
        shows(ledger, use)
        gate = ledger.gate(me, URL_KEY, at(0))
        assert gate == OtherShard(None)
        assert "must carry the same shard label" in gate.message
    assert ledger.gate(me, "rtmp://push.example.com/live/other", at(0)) == Free()
    _foreign(ledger, "theirs", UrlUse(theirs, URL_KEY, "app", active=False))
    shows(ledger, UrlUse(theirs, URL_KEY, "app", active=False))
    assert ledger.gate(me, URL_KEY, at(0)) == Free()  # neither live nor waiting
    shows(ledger, UrlUse(me, URL_KEY, "app", active=True))
    assert ledger.gate(me, URL_KEY, at(0)) == Free()  # its own use is not another shard's


def test_a_url_only_this_shard_uses_is_arbitrated_as_by_one_operator() -> None:
    ledger = Ledger(at(-3600), TEN, shard=by_label())
    me = Owner(at(-60), "ns", "me")
    holder, older = Owner(at(-600), "ns", "holder"), Owner(at(-120), "ns", "older")
    ledger.note_foreign(holder, None)  # relabelled to this shard: ours again
    shows(ledger, UrlUse(holder, URL_KEY, "app", active=True))
    assert ledger.gate(me, URL_KEY, at(0)) == InUse(holder)
    ledger.unobserve(holder)
    shows(ledger, UrlUse(older, URL_KEY, "app", active=False, contending=True))
    assert ledger.gate(me, URL_KEY, at(0)) == Queued(older)


def test_a_gone_foreign_objects_stop_still_cools_the_url_down() -> None:
    """The index forgets a deleted object, so another shard's stop would be forgotten too:
    the ledger keeps it until the URL has cooled down."""
    ledger = Ledger(at(-3600), TEN, shard=by_label())
    me = owner_of(body("me"))
    stopped = UrlUse(owner_of(body("theirs")), URL_KEY, "app", active=False,
                     released_at=at(-2))
    _foreign(ledger, "theirs", stopped)
    shows(ledger, stopped, alive=[me])
    ledger.unobserve(stopped.owner)  # deleted: kept, still cooling down
    ledger.prune(at(0))
    assert ledger.gate(me, URL_KEY, at(0)) == CoolingDown(at(8))
    ledger.prune(at(9))
    assert ledger.gate(me, URL_KEY, at(9)) == Free()
    assert ledger.uses() == []  # cooled down: forgotten, memory does not grow


def test_an_object_relabelled_to_another_shard_leaves_this_ones_memory() -> None:
    ledger = Ledger(at(-3600), TEN, shard=by_label())
    moved = owner_of(body("moved"))
    ledger.record(moved, [UrlUse(moved, URL_KEY, "app", active=True)])
    stopped = UrlUse(moved, URL_KEY, "app", active=False, released_at=at(-60))
    ledger.note_foreign(moved, [stopped])
    shows(ledger, stopped)
    assert ledger.uses() == [stopped]  # its new shard's word, not our old one
    ledger.record(moved, [UrlUse(moved, URL_KEY, "app", active=True)])  # a step in flight
    assert ledger.uses() == [stopped]
    ledger.note_foreign(moved, None)  # labelled back: ours again
    ledger.record(moved, [UrlUse(moved, URL_KEY, "app", active=True)])
    assert [u.active for u in ledger.uses()] == [True]


def test_a_label_shards_quota_counts_the_objects_it_drives() -> None:
    ledger = Ledger(at(-3600), TEN, shard=by_label())
    me = owner_of(body("me"))
    theirs = [UrlUse(owner_of(body(f"o{n}")), f"{URL_KEY}{n}", "app", active=True)
              for n in range(5)]
    for use in theirs:
        ledger.note_foreign(use.owner, [use])
    shows(ledger, *theirs)
    assert ledger.quota_ok(me, "app", 4)  # another shard's, in its own slice
    own = [UrlUse(owner_of(body(f"m{n}")), f"{URL_KEY}m{n}", "app", active=True)
           for n in range(2)]
    shows(ledger, own[0])
    assert ledger.quota_ok(me, "app", 4)
    shows(ledger, own[1])
    assert not ledger.quota_ok(me, "app", 4)  # slice 2 of 4: full
    ledger.note_foreign(own[1].owner, [own[1]])  # relabelled away: its shard counts it
    assert ledger.quota_ok(me, "app", 4)


def test_a_shard_spreads_its_polls_over_its_own_tasks_only() -> None:
    """Its slice of the budget polls its own tasks: counting every shard's would stretch
    each poll k times (seen in make bench --shards 2: 0.3 steady calls/s of 10)."""
    own = [UrlUse(owner_of(body(f"m{n}")), key_in(0, 2, f"rtmp://h/{n}/"), "app",
                  active=True) for n in range(2)]
    other = [UrlUse(owner_of(body(f"o{n}")), key_in(1, 2, f"rtmp://h/{n}/"), "app",
                    active=True) for n in range(3)]
    idle = [UrlUse(owner_of(body("idle")), key_in(0, 2, "rtmp://h/i/"), "app", active=False)]
    uses = own + other + idle
    assert shows(Ledger(at(-3600), TEN), *uses).active_count() == 5
    assert shows(Ledger(at(-3600), TEN, shard=Shard(0, 2)), *uses).active_count() == 2
    assert shows(Ledger(at(-3600), TEN, shard=Shard(1, 2)), *uses).active_count() == 3
    labelled = Ledger(at(-3600), TEN, shard=by_label())
    for use in other:
        labelled.note_foreign(use.owner, [use])
    assert shows(labelled, *uses).active_count() == 2
    labelled.note_foreign(other[0].owner, None)  # relabelled to this shard
    assert labelled.active_count() == 3
    labelled.unobserve(own[0].owner)
    assert labelled.active_count() == 2
