"""The ledger read from hand-written objects: who an object is, which URL it holds or
wants, and what this process remembers, forgets and wakes others for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mpu_operator.core.ledger import EPOCH, Ledger, held_use, owner_of, uses_of
from mpu_operator.core.model import Record, TaskState
from mpu_operator.core.rules import CoolingDown, Free, IdClaim, InUse, UrlUse

from .fixtures import at, shows

KEY = "rtmp://push.example.com/live/show"
TEN = timedelta(seconds=10)
LONG_AGO = at(-3600)


def body(name: str = "a", *, spec: dict[str, Any] | None = None,
         status: dict[str, Any] | None = None, **meta: Any) -> dict[str, Any]:
    return {"metadata": {"namespace": "ns", "name": name,
                         "creationTimestamp": "2026-11-25T11:00:00Z", **meta},
            "spec": {"appId": "app", "streamURL": KEY + "?auth_key=s3cret"} if spec is None
            else spec,
            "status": status or {}}


OLD = owner_of(body("old", creationTimestamp="2026-11-25T10:00:00Z"))
NEW = owner_of(body("new"))


def test_an_owner_is_read_from_the_metadata() -> None:
    owner = owner_of(body("show"))
    assert (owner.created, owner.namespace, owner.name) == (
        datetime(2026, 11, 25, 11, tzinfo=UTC), "ns", "show")
    assert owner.ref == "ns/show"
    assert OLD < NEW


@pytest.mark.parametrize("junk", [{}, {"metadata": None}, {"metadata": "x"},
                                  {"metadata": {"creationTimestamp": "soon"}}])
def test_an_owner_without_metadata_is_the_oldest_nobody(junk: dict[str, Any]) -> None:
    owner = owner_of(junk)
    assert (owner.created, owner.namespace, owner.name) == (EPOCH, "", "")


def test_a_fresh_object_wants_its_url_without_the_query() -> None:
    [use] = uses_of(body(), LONG_AGO)
    assert use == UrlUse(owner_of(body()), KEY, "app", active=False, contending=True)


def test_a_secret_url_is_known_by_the_status_it_showed() -> None:
    spec = {"appId": "app", "streamURLFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}
    status = {"phase": "Pending", "streamURL": KEY, "internal": {"contending": True}}
    [use] = uses_of(body(spec=spec, status=status), LONG_AGO)
    assert (use.key, use.app_id, use.contending, use.active) == (KEY, "app", True, False)


@pytest.mark.parametrize("url", ["", 5, None])
def test_an_unusable_inline_url_falls_back_to_the_shown_one(url: object) -> None:
    spec = {"appId": "app", "streamURL": url}
    [use] = uses_of(body(spec=spec, status={"streamURL": KEY}), LONG_AGO)
    assert use.key == KEY


@pytest.mark.parametrize("shown", ["", 5, None])
def test_no_url_at_all_wants_nothing(shown: object) -> None:
    spec = {"appId": "app"}
    assert uses_of(body(spec=spec, status={"streamURL": shown}), LONG_AGO) == []


def test_a_reconciled_object_contends_only_when_its_status_says_so() -> None:
    waiting = {"phase": "Pending", "internal": {"contending": True}}
    settled = {"phase": "Failed", "internal": {"contending": False}}
    assert [u.contending for u in uses_of(body(status=waiting), LONG_AGO)] == [True]
    assert uses_of(body(status=settled), LONG_AGO) == []
    assert uses_of(body(status={"phase": "Failed", "internal": "junk"}), LONG_AGO) == []


def test_the_app_id_comes_from_the_spec_then_the_record() -> None:
    spec = {"streamURL": KEY}
    held = {"phase": "Running", "taskId": "t",
            "internal": {"state": "Active", "streamKey": KEY, "appId": "recorded"}}
    uses = uses_of(body(spec=spec, status=held), LONG_AGO)
    assert [(u.app_id, u.active) for u in uses] == [("recorded", True)]
    [fresh] = uses_of(body(spec=spec), LONG_AGO)
    assert fresh.app_id == ""


def test_a_held_url_without_a_recorded_app_counts_for_the_specs() -> None:
    status = {"phase": "Running", "taskId": "t", "internal": {"state": "Active", "streamKey": KEY}}
    [use] = uses_of(body(status=status), LONG_AGO)
    assert (use.app_id, use.active) == ("app", True)


def test_a_held_url_is_counted_for_its_recorded_app_and_owner() -> None:
    status = {"phase": "Running", "taskId": "t",
              "internal": {"state": "Active", "streamKey": KEY, "appId": "app"}}
    [use] = uses_of(body(status=status), LONG_AGO)
    assert use == UrlUse(owner_of(body()), KEY, "app", active=True)


@pytest.mark.parametrize(("state", "active", "released"), [
    (TaskState.STARTING, True, None),
    (TaskState.ACTIVE, True, None),
    (TaskState.STOPPING, True, None),
    (TaskState.STOPPED, False, at(-5)),
])
def test_held_use_by_state(state: TaskState, active: bool, released: datetime | None) -> None:
    record = Record(task_id="t", state=state, stream_key=KEY, app_id="rec",
                    stopped_at=at(-5))
    assert held_use(NEW, record, "spec-app", LONG_AGO) == UrlUse(
        NEW, KEY, "rec", active=active, released_at=released)


def test_held_use_falls_back_to_the_given_app_and_the_undated_stop() -> None:
    record = Record(task_id="t", state=TaskState.STOPPED, stream_key=KEY)
    assert held_use(NEW, record, "spec-app", at(-7)) == UrlUse(
        NEW, KEY, "spec-app", active=False, released_at=at(-7))


@pytest.mark.parametrize("record", [
    Record(task_id="t", state=TaskState.ACTIVE, stream_key=None),
    Record(task_id="t", state=TaskState.NONE, stream_key=KEY),
    Record(),
])
def test_no_url_held_without_a_key_or_a_task(record: Record) -> None:
    assert held_use(NEW, record, "app", LONG_AGO) is None


def test_my_own_claim_does_not_block_me_in_the_ledger() -> None:
    ledger = Ledger(LONG_AGO, TEN)
    ledger.record(NEW, [UrlUse(NEW, KEY, "app", active=True)])
    assert ledger.gate(NEW, KEY, at(0)) == Free()
    assert ledger.gate(OLD, KEY, at(0)) == InUse(NEW)


def test_the_index_counts_for_objects_the_ledger_has_no_word_on() -> None:
    ledger = Ledger(LONG_AGO, TEN)
    ledger.record(NEW, [])
    shows(ledger, UrlUse(OLD, KEY, "app", active=True), UrlUse(NEW, KEY, "app", active=True))
    assert ledger.uses() == [UrlUse(OLD, KEY, "app", active=True)]
    assert ledger.gate(NEW, KEY, at(0)) == InUse(OLD)
    assert ledger.active_count() == 1


def test_the_quota_counts_ledger_and_index_but_not_me() -> None:
    ledger = Ledger(LONG_AGO, TEN)
    ledger.record(NEW, [UrlUse(NEW, KEY + "/1", "app", active=True)])
    shows(ledger, UrlUse(OLD, KEY, "app", active=True))
    assert ledger.quota_ok(NEW, "app", 2)
    assert not ledger.quota_ok(NEW, "app", 1)
    assert not ledger.quota_ok(OLD, "app", 1)  # NEW's claim counts against OLD
    assert ledger.quota_ok(OLD, "other", 1)


def test_prune_forgets_deleted_objects_once_cooled_and_keeps_the_living() -> None:
    ledger = Ledger(LONG_AGO, TEN)
    gone_cooled = UrlUse(OLD, KEY + "/a", "app", active=False, released_at=at(-11))
    alive = UrlUse(NEW, KEY + "/b", "app", active=False, released_at=at(-100))
    ledger.record(OLD, [gone_cooled])
    ledger.record(NEW, [alive])
    shows(ledger, alive=[NEW])
    ledger.prune(now=at(0))
    assert ledger.uses() == [alive]


def test_prune_keeps_a_deleted_objects_live_or_cooling_url() -> None:
    ledger = Ledger(LONG_AGO, TEN)
    live = UrlUse(OLD, KEY + "/a", "app", active=True)
    cooling = UrlUse(NEW, KEY + "/b", "app", active=False, released_at=at(-10))  # exactly 10 s
    ledger.record(OLD, [live])
    ledger.record(NEW, [cooling])
    ledger.prune(now=at(0))
    assert ledger.uses() == [live, cooling]
    assert ledger.gate(NEW, KEY + "/b", at(-1)) == CoolingDown(at(0))


def test_prune_forgets_a_deleted_object_that_never_held_anything() -> None:
    ledger = Ledger(LONG_AGO, TEN)
    ledger.record(OLD, [UrlUse(OLD, KEY, "app", active=False, contending=True)])
    ledger.prune(now=at(0))
    assert ledger.uses() == []


def test_listeners_wake_only_when_something_is_freed() -> None:
    ledger = Ledger(LONG_AGO, TEN)
    woken: list[str] = []
    ledger.subscribe(lambda: woken.append("x"))
    ledger.record(OLD, [UrlUse(OLD, KEY, "app", active=False)])  # nothing was held
    ledger.record(NEW, [UrlUse(NEW, KEY, "app", active=False, contending=True)])
    assert woken == []
    ledger.record(NEW, [UrlUse(NEW, KEY, "app", active=False, contending=True)])  # same want
    assert woken == []
    ledger.record(NEW, [])  # gave up contending: the next in the queue may go
    assert woken == ["x"]


def test_an_unsubscribed_listener_is_not_woken() -> None:
    ledger = Ledger(LONG_AGO, TEN)
    woken: list[str] = []
    unsubscribe = ledger.subscribe(lambda: woken.append("x"))
    ledger.record(OLD, [UrlUse(OLD, KEY, "app", active=True)])
    unsubscribe()
    ledger.record(OLD, [UrlUse(OLD, KEY, "app", active=False, released_at=at(0))])
    assert woken == []


def test_prune_leaves_nothing_behind_once_everything_is_forgotten() -> None:
    """Deleted objects cost nothing once forgotten: prune looks only at the objects the
    cluster no longer shows, and that set must shrink back, or every decision would scan
    every object ever deleted."""
    ledger = Ledger(LONG_AGO, TEN)
    for n in range(3):
        owner = owner_of(body(f"gone{n}"))
        ledger.observe(owner, [])
        ledger.record(owner, [UrlUse(owner, f"{KEY}/{n}", "app", active=False,
                                     released_at=at(-20))])
        ledger.unobserve(owner)
    ledger.claim(IdClaim(OLD, "app", "X", None))  # a claim of an object never shown
    assert len(ledger._unseen) == 4
    ledger.prune(now=at(0))
    assert ledger.uses() == [] and ledger.claims() == []
    assert ledger._unseen == set()
