"""The stream-URL rules and the quota, as pure gates."""

from __future__ import annotations

from datetime import timedelta

from mpu_operator.core.ledger import Ledger, uses_of
from mpu_operator.core.model import Owner, Record, TaskState
from mpu_operator.core.rules import CoolingDown, Free, InUse, Queued, UrlUse, quota_free, url_gate
from mpu_operator.core.status import record_to_status

from .fixtures import at, shows

KEY = "rtmp://push.example.com/live/show"
OLD = Owner(at(-100), "a", "old")
NEW = Owner(at(-10), "b", "new")
TWIN = Owner(at(-10), "a", "twin")  # same age as NEW: namespace/name decides
TEN = timedelta(seconds=10)
LONG_AGO = at(-3600)


def gate(me, uses, now=0.0, undated=LONG_AGO):
    return url_gate(me, KEY, uses, at(now), TEN, undated)


def test_a_free_url_is_free() -> None:
    assert gate(NEW, []) == Free()


def test_a_live_task_of_another_holds_the_url() -> None:
    assert gate(NEW, [UrlUse(OLD, KEY, "app", active=True)]) == InUse(OLD)


def test_my_own_live_use_does_not_block_me() -> None:
    assert gate(NEW, [UrlUse(NEW, KEY, "app", active=True)]) == Free()


def test_other_urls_do_not_matter() -> None:
    assert gate(NEW, [UrlUse(OLD, KEY + "2", "app", active=True)]) == Free()


def test_ten_seconds_after_a_stop_the_url_is_still_cooling() -> None:
    uses = [UrlUse(OLD, KEY, "app", active=False, released_at=at(0))]
    assert gate(NEW, uses, now=9.999) == CoolingDown(at(10))
    assert gate(NEW, uses, now=10.0) == Free()


def test_my_own_stop_cools_down_for_me_too() -> None:
    uses = [UrlUse(NEW, KEY, "app", active=False, released_at=at(0))]
    assert gate(NEW, uses, now=5) == CoolingDown(at(10))


def test_an_undated_release_counts_from_the_operator_start() -> None:
    assert gate(NEW, [], now=3, undated=at(0)) == CoolingDown(at(10))
    assert gate(NEW, [], now=10, undated=at(0)) == Free()


def test_the_older_contender_goes_first_whoever_asks_first() -> None:
    uses = [UrlUse(OLD, KEY, "app", active=False, contending=True),
            UrlUse(NEW, KEY, "app", active=False, contending=True)]
    assert gate(NEW, uses) == Queued(OLD)
    assert gate(OLD, uses) == Free()


def test_same_age_is_decided_by_namespace_then_name() -> None:
    uses = [UrlUse(NEW, KEY, "app", active=False, contending=True),
            UrlUse(TWIN, KEY, "app", active=False, contending=True)]
    assert gate(NEW, uses) == Queued(TWIN)  # "a/twin" < "b/new"
    assert gate(TWIN, uses) == Free()


def test_quota_counts_other_live_tasks_of_the_same_app() -> None:
    uses = [UrlUse(Owner(at(-i), "n", f"t{i}"), f"{KEY}{i}", "app", active=True)
            for i in range(3)]
    holders = {u.owner for u in uses}
    assert quota_free(NEW, holders, 4)
    assert not quota_free(NEW, holders, 3)
    assert quota_free(NEW, set(), 1)
    assert not quota_free(NEW, set(), 0)


def test_quota_does_not_count_the_asking_objects_own_task() -> None:
    holders = {NEW, OLD}
    assert quota_free(NEW, holders, 2)
    assert not quota_free(TWIN, holders, 2)
    assert not quota_free(NEW, holders, 1)


def _body(owner: Owner, record: Record | None = None, *, spec_extra=None, phase=None,
          deleting=False, contending=False) -> dict:
    status = record_to_status(record) if record else {}
    if record is not None or phase:
        status["phase"] = phase or "Running"
        status["internal"]["contending"] = contending
    meta = {"namespace": owner.namespace, "name": owner.name,
            "creationTimestamp": owner.created.isoformat().replace("+00:00", "Z")}
    if deleting:
        meta["deletionTimestamp"] = at(0).isoformat()
    spec = {"appId": "app", "streamURL": KEY + "?auth_key=x", **(spec_extra or {})}
    return {"metadata": meta, "spec": spec, "status": status}


def test_a_fresh_object_contends_for_its_inline_url() -> None:
    [use] = uses_of(_body(NEW), LONG_AGO)
    assert (use.key, use.contending, use.active) == (KEY, True, False)


def test_suspended_or_deleting_objects_do_not_contend() -> None:
    assert uses_of(_body(NEW, spec_extra={"suspend": True}), LONG_AGO) == []
    assert uses_of(_body(NEW, deleting=True), LONG_AGO) == []


def test_an_active_record_holds_its_url() -> None:
    record = Record(task_id="t", state=TaskState.ACTIVE, stream_key=KEY, app_id="app")
    [use] = uses_of(_body(OLD, record), LONG_AGO)
    assert use.active and use.key == KEY


def test_a_stopped_record_without_a_date_is_released_at_the_operator_start() -> None:
    record = Record(task_id="t", state=TaskState.STOPPED, stream_key=KEY, app_id="app")
    [use] = uses_of(_body(OLD, record), at(-2))
    assert use.released_at == at(-2) and not use.active


def test_ledger_claims_override_the_stale_index() -> None:
    ledger = Ledger(LONG_AGO, TEN)
    shows(ledger, *uses_of(_body(OLD), LONG_AGO))  # the index still shows OLD as fresh
    ledger.record(OLD, [UrlUse(OLD, KEY, "app", active=True)])
    assert ledger.gate(NEW, KEY, at(0)) == InUse(OLD)


def test_ledger_remembers_a_deleted_holders_release_until_it_cools() -> None:
    ledger = Ledger(LONG_AGO, TEN)
    ledger.record(OLD, [UrlUse(OLD, KEY, "app", active=False, released_at=at(0))])
    ledger.prune(now=at(5))
    assert ledger.gate(NEW, KEY, at(5)) == CoolingDown(at(10))
    ledger.prune(now=at(11))
    assert ledger.gate(NEW, KEY, at(11)) == Free()


def test_ledger_wakes_listeners_when_a_url_is_released() -> None:
    ledger = Ledger(LONG_AGO, TEN)
    woken: list[int] = []
    unsubscribe = ledger.subscribe(lambda: woken.append(1))
    ledger.record(OLD, [UrlUse(OLD, KEY, "app", active=True)])
    assert woken == []
    ledger.record(OLD, [UrlUse(OLD, KEY, "app", active=False, released_at=at(0))])
    assert woken == [1]
    unsubscribe()
    ledger.record(OLD, [])
    assert woken == [1]
