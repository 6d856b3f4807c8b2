"""Sharding spelt out to the letter: the hand-over Wait (whole, with its message and time),
a shard's own task not counted against its own quota slice, the exact refusals of a bad
``i/k``, and the routing key read from raw bodies with missing and junk fields.

Expected values are written out, never computed with the code under test: the shard
numbers are SHA-256 values pinned once (``rtmp://push.example.com/live/3`` and ``/4`` are
shard 0 of 2, ``/0`` is shard 1 of 2).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from mpu_operator.core.decide import Wait, decide
from mpu_operator.core.ledger import Ledger, owner_of
from mpu_operator.core.model import Phase, Record
from mpu_operator.core.rules import OtherShard, UrlUse
from mpu_operator.core.shard import (
    Shard,
    parse_selector,
    parse_shard,
    route_key,
    shard_of_key,
)

from .fixtures import at, shows, situation

TEN = timedelta(seconds=10)
MINE_3 = "rtmp://push.example.com/live/3"  # shard 0 of 2
MINE_4 = "rtmp://push.example.com/live/4"  # shard 0 of 2
THEIRS = "rtmp://push.example.com/live/0"  # shard 1 of 2
PARSE_RULE = "must be i/k with whole numbers 0 <= i < k <= 64, e.g. 0/2"


def _body(name: str = "a", **parts: Any) -> dict[str, Any]:
    return {"metadata": {"namespace": "ns", "name": name,
                         "creationTimestamp": "2026-11-25T11:00:00Z"},
            "spec": {"appId": "app"}, "status": {}, **parts}


# --- the hand-over Wait -----------------------------------------------------------------

def test_a_url_of_another_shard_waits_whole_for_the_hand_over() -> None:
    action = decide(situation(Record(), gate=OtherShard(7)))
    assert action == Wait(
        Phase.PENDING, "StreamURLInOtherShard",
        "the stream URL is arbitrated by operator shard 7: handing this MPUTask over to it",
        at(5))


def test_the_hand_over_wait_rechecks_at_the_recheck_time_not_the_poll_time() -> None:
    action = decide(situation(Record(), gate=OtherShard(1), now=100.0, poll_in=60.0))
    assert isinstance(action, Wait)
    assert (action.phase, action.reason, action.until) == \
        (Phase.PENDING, "StreamURLInOtherShard", at(105))


# --- the quota slice --------------------------------------------------------------------

def test_the_pinned_keys_are_where_the_tests_say() -> None:
    assert [shard_of_key(k, 2) for k in (MINE_3, MINE_4, THEIRS)] == [0, 0, 1]
    assert [shard_of_key(k, 64) for k in (MINE_3, THEIRS)] == [36, 9]
    assert shard_of_key("héllo", 64) == 5  # non-ASCII text hashes its UTF-8 bytes
    assert shard_of_key("héllo", 1 << 30) == 218729029


def test_a_shards_quota_slice_does_not_count_the_asking_objects_own_task() -> None:
    """Shard 0 of 2 has slice 1 of a quota of 2. The object asking already runs the one
    task on its own URL (a restart): there is room, as without shards."""
    ledger = Ledger(at(-3600), TEN, shard=Shard(0, 2))
    me = owner_of(_body("me"))
    shows(ledger, UrlUse(me, MINE_3, "app", active=True))
    assert ledger.quota_ok(me, "app", 2) is True
    shows(ledger, UrlUse(owner_of(_body("other")), MINE_4, "app", active=True))
    assert ledger.quota_ok(me, "app", 2) is False


# --- i/k refused with the exact rule ----------------------------------------------------

@pytest.mark.parametrize("text", ["2/2", "1/1", "64/64", "001/2", "0/064", "000/1"])
def test_parse_shard_refuses_with_the_whole_rule(text: str) -> None:
    """``i == k`` and three-digit numbers are refused by the parser itself, with its own
    message (not by Shard's check)."""
    with pytest.raises(ValueError, match=f"^{re.escape(PARSE_RULE)}$"):
        parse_shard(text)


@pytest.mark.parametrize(("index", "count"), [(2, 2), (0, 0), (64, 64), (-1, 2), (0, 65)])
def test_a_shard_out_of_range_is_refused_naming_itself_and_the_rule(index: int,
                                                                     count: int) -> None:
    with pytest.raises(ValueError) as caught:
        Shard(index, count)
    assert str(caught.value) == f"shard {index}/{count}: must be i/k with 0 <= i < k <= 64"


def test_the_widest_shard_is_allowed() -> None:
    assert Shard(63, 64).count == 64
    assert str(parse_shard("63/64")) == "63/64"


# --- the routing key from junk ----------------------------------------------------------

@pytest.mark.parametrize("url", [123, ["rtmp://h/x"], {"secret": "s"}, True, ""])
def test_a_stream_url_that_is_not_text_routes_by_name(url: object) -> None:
    assert route_key(_body(spec={"streamURL": url})) == "ns/a"


@pytest.mark.parametrize("shown", [42, ["rtmp://h/y"], {"u": 1}, ""])
def test_a_shown_url_that_is_not_text_routes_by_name(shown: object) -> None:
    assert route_key(_body(status={"streamURL": shown})) == "ns/a"


def test_missing_namespace_or_name_leave_their_side_empty() -> None:
    assert route_key({"metadata": {"name": "a"}}) == "/a"
    assert route_key({"metadata": {"namespace": "ns"}}) == "ns/"
    assert route_key({"metadata": {"namespace": "", "name": None}}) == "/"
    assert route_key({}) == "/"


@pytest.mark.parametrize("junk", [None, "text", 5, ["spec"]])
def test_sections_that_are_not_mappings_are_read_as_empty(junk: object) -> None:
    assert route_key({"metadata": junk, "spec": junk, "status": junk}) == "/"
    assert route_key(_body(spec=junk, status=junk)) == "ns/a"


# --- shards by label (MPU_SHARD_SELECTOR) -------------------------------------------------

SELECTOR_RULE = ("must be key=value or key in (v1, v2): one label key (all shards name the "
                 "same key, each with its own values), values of letters, digits, '-', '_' "
                 "and '.' (at most 63)")


@pytest.mark.parametrize("text", [
    "k=" + "v" * 63, "k" * 63 + "=v", "a" * 253 + "/k=v", "a.b-c/k_1.x=v", "k=A_b.c-9",
    "k in (a)", "k in(a,b)", "k  in  ( a ,b )"])
def test_the_widest_selectors_are_allowed(text: str) -> None:
    selector = parse_selector(text)
    assert parse_selector(str(selector)) == selector


@pytest.mark.parametrize("text", [
    "k=" + "v" * 64, "k" * 64 + "=v", "a" * 254 + "/k=v", "A.b/k=v", "-a/k=v", "/k=v",
    "k=v-", "k=.v", "k=v,w=x", "k in (a) ,", "kin (a)", "k in a", "k=v=w", "k==", "=v",
    "k in (a b)", "k  =  ", "k=v\nw"])
def test_parse_selector_refuses_with_the_whole_rule(text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_selector(text)
    assert str(info.value) == SELECTOR_RULE


def test_the_selector_wait_is_whole() -> None:
    ledger = Ledger(at(-3600), TEN, shard=Shard(0, 2, parse_selector("team=a")))
    theirs = owner_of(_body("theirs"))
    use = UrlUse(theirs, MINE_3, "app", active=True)
    ledger.note_foreign(theirs, [use])
    shows(ledger, use)
    gate = ledger.gate(owner_of(_body("me")), MINE_3, at(0))
    action = decide(situation(Record(), gate=gate))
    assert action == Wait(Phase.PENDING, "StreamURLInOtherShard",
                          "the stream URL is also used by an MPUTask of another operator "
                          "shard (MPU_SHARD_SELECTOR): MPUTasks that share a stream URL must "
                          "carry the same shard label; nothing starts on it until they do",
                          at(5))


def test_a_label_shard_may_start_on_any_url_it_alone_uses() -> None:
    shard = Shard(1, 2, parse_selector("team=b"))
    assert shard.owns_key(MINE_3) and shard.owns_key(THEIRS)
    assert shard.owns({"metadata": {"labels": {"team": "b"}}})
    assert not shard.owns({"metadata": {"labels": {"team": "B"}}})
    assert not shard.owns({"metadata": {"labels": {"other": "b"}}})
