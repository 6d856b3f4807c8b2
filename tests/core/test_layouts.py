"""core/layouts.py: every decision as a table row, the outcomes, names, digests, users and
the status round trip. Pure: no servers, no clock."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from mpu_operator.core import layouts as cl

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(seconds=30)
DESIRED = cl.Desired("app", "h1")
NAME = "ns.stage.abcd1234"
MADE = cl.Recorded(layout_id=10001, layout_name=NAME, app_id="app", applied_hash="h1")
WRITTEN_AHEAD = cl.Recorded(layout_name=NAME, app_id="app")
FAILING = replace(MADE, applied_hash="old", failures=2, error="ModifyMPULayout: InternalError",
                  retry_at=LATER)
NOTHING = cl.Recorded()


def situation(recorded: cl.Recorded = NOTHING, *, desired: cl.Desired | None = DESIRED,
              users: tuple[str, ...] = (), deleting: bool = False, now: datetime = NOW,
              problem: str = "") -> cl.Situation:
    return cl.Situation(desired=desired, problem=problem, recorded=recorded, users=users,
                        deleting=deleting, name=NAME, now=now)


@pytest.mark.parametrize(("case", "expected"), [
    # living
    (situation(), cl.Create("app", NAME)),
    (situation(WRITTEN_AHEAD), cl.Find("app", NAME)),
    (situation(replace(WRITTEN_AHEAD, app_id=None)), cl.Find("app", NAME)),
    (situation(MADE), cl.Wait(cl.CREATED, "layout 10001 is created and up to date",
                              ready=True)),
    (situation(replace(MADE, applied_hash=None)), cl.Modify("app", 10001, NAME)),
    (situation(replace(MADE, applied_hash="old")), cl.Modify("app", 10001, NAME)),
    (situation(replace(MADE, layout_name=None, applied_hash="old")),
     cl.Modify("app", 10001, NAME)),
    (situation(replace(MADE, layout_name="kept", applied_hash="old")),
     cl.Modify("app", 10001, "kept")),
    (situation(MADE, users=("a",)), cl.Wait(cl.CREATED, "layout 10001 is created and up to "
                                                        "date", ready=True)),
    (situation(desired=None, problem="audioMixCount: must be at most 6"),
     cl.Wait(cl.INVALID_SPEC, "audioMixCount: must be at most 6", stalled=True)),
    (situation(MADE, desired=None, problem="p"), cl.Wait(cl.INVALID_SPEC, "p", stalled=True)),
    (situation(replace(MADE, app_id="other")),
     cl.Wait(cl.APP_ID_CHANGED, "layout 10001 belongs to app other; appId cannot change "
                                "(create another MPULayout)", stalled=True)),
    (situation(replace(MADE, app_id=None, applied_hash="x")), cl.Modify("app", 10001, NAME)),
    (situation(FAILING), cl.Wait(cl.CALL_FAILED, "ModifyMPULayout: InternalError; retrying "
                                                 "after 2 failure(s)", until=LATER)),
    (situation(FAILING, now=LATER), cl.Modify("app", 10001, NAME)),
    (situation(replace(FAILING, applied_hash="h1"), now=LATER),
     cl.Wait(cl.CREATED, "layout 10001 is created and up to date", ready=True)),
    (situation(replace(FAILING, error=None)),
     cl.Wait(cl.CALL_FAILED, "the last call failed; retrying after 2 failure(s)",
             until=LATER)),
    # deleting
    (situation(deleting=True), cl.Finish()),
    (situation(deleting=True, desired=None), cl.Finish()),
    (situation(MADE, deleting=True), cl.Delete("app", 10001)),
    (situation(MADE, deleting=True, desired=None), cl.Delete("app", 10001)),
    (situation(replace(MADE, app_id=None), deleting=True), cl.Delete("app", 10001)),
    (situation(replace(MADE, app_id="first"), deleting=True), cl.Delete("first", 10001)),
    (situation(WRITTEN_AHEAD, deleting=True), cl.Find("app", NAME)),
    (situation(replace(MADE, app_id=None), deleting=True, desired=None), cl.Finish()),
    (situation(MADE, deleting=True, users=("b", "a")),
     cl.Wait(cl.HELD, "deletion waits: MPUTasks b, a still refer to it")),
    (situation(deleting=True, users=("a",)),
     cl.Wait(cl.HELD, "deletion waits: MPUTask a still refers to it"
             .replace("refers", "refer"))),
    (situation(FAILING, deleting=True),
     cl.Wait(cl.CALL_FAILED, "ModifyMPULayout: InternalError; retrying after 2 failure(s)",
             until=LATER)),
    (situation(FAILING, deleting=True, now=LATER), cl.Delete("app", 10001)),
    (situation(FAILING, deleting=True, now=LATER + timedelta(days=1)),
     cl.Delete("app", 10001)),
])
def test_decide(case: cl.Situation, expected: cl.Action) -> None:
    assert cl.decide(case) == expected


def test_the_write_ahead_then_the_answer() -> None:
    ahead = cl.before_create(replace(MADE, layout_id=None, applied_hash="stale"),
                             cl.Create("app2", "n2"))
    assert ahead == cl.Recorded(layout_name="n2", app_id="app2")
    done = cl.created(replace(ahead, failures=3, error="e", retry_at=LATER), 7, "h")
    assert done == cl.Recorded(layout_id=7, layout_name="n2", app_id="app2", applied_hash="h")


def test_the_write_ahead_forgets_an_old_id() -> None:
    assert cl.before_create(MADE, cl.Create("app", "n")).layout_id is None


def test_found_and_not_found() -> None:
    assert cl.found(MADE, None).layout_id is None
    failing = replace(WRITTEN_AHEAD, failures=1, error="e", retry_at=LATER, applied_hash="x")
    assert cl.found(failing, 9) == replace(WRITTEN_AHEAD, layout_id=9)
    assert cl.found(failing, None) == cl.Recorded(app_id="app")
    # a name dropped means a create may now be sent, with a fresh write-ahead
    assert cl.decide(situation(cl.found(failing, None))) == cl.Create("app", NAME)
    assert cl.decide(situation(cl.found(failing, 9))) == cl.Modify("app", 9, NAME)


def test_modified_gone_failed() -> None:
    assert cl.modified(FAILING, "h9") == replace(MADE, applied_hash="h9")
    assert cl.modified(FAILING, "h1") == MADE
    assert cl.gone(FAILING) == cl.Recorded()
    once = cl.failed(MADE, "CreateMPULayout: X", NOW)
    assert once == replace(MADE, failures=1, error="CreateMPULayout: X",
                           retry_at=NOW + timedelta(seconds=2))
    assert cl.failed(once, "Y", NOW).retry_at == NOW + timedelta(seconds=4)


@pytest.mark.parametrize(("failures", "seconds"), [
    (-1, 0), (0, 0), (1, 2), (2, 4), (3, 8), (8, 256), (9, 300), (17, 300), (100, 300)])
def test_retry_after(failures: int, seconds: float) -> None:
    assert cl.retry_after(failures) == timedelta(seconds=seconds)


def test_service_name() -> None:
    assert cl.service_name("ns", "stage", "0A1B2C3D-4e5f-6789") == "ns.stage.0a1b2c3d"
    assert cl.service_name("Ns", "a_b c", "x!y") == "ns.a-b-c.xy"
    long = cl.service_name("n" * 63, "m" * 253, "u" * 36)
    assert len(long) == cl.MAX_SERVICE_NAME and long.endswith(".uuuuuuuu")
    assert long.startswith("n" * 63 + ".mmm")
    # unique per object: the uid decides, whatever the names
    assert cl.service_name("a", "b", "12345678-90") != cl.service_name("a", "b", "12345679-90")


def test_params_hash() -> None:
    one = cl.params_hash({"A": "1", "B": "2"})
    assert one == cl.params_hash({"B": "2", "A": "1"})
    assert one != cl.params_hash({"A": "1", "B": "3"})
    assert one != cl.params_hash({"A": "12", "B": ""})
    assert len(one) == 16 and int(one, 16) >= 0


def test_users_of_counts_only_the_same_namespace() -> None:
    refs = [("a", "show", "stage"), ("a", "other", "backdrop"), ("b", "intruder", "stage"),
            ("a", "encore", "stage"), ("a", "show", "stage")]
    assert cl.users_of("a", "stage", refs) == ("encore", "show")
    assert cl.users_of("b", "stage", refs) == ("intruder",)
    assert cl.users_of("c", "stage", refs) == ()


@pytest.mark.parametrize(("spec", "names"), [
    ({"layout": {"layoutRefs": [{"name": "a"}, {"name": "b"}]}}, ("a", "b")),
    ({"layout": {"layoutRefs": [{"name": ""}, {"name": 3}, "a", {}, {"name": "c"}]}}, ("c",)),
    ({"layout": {"layoutRefs": "a"}}, ()),
    ({"layout": {"layoutRefs": {"name": "a"}}}, ()),
    ({"layout": {"layoutIds": [1]}}, ()),
    ({"layout": []}, ()),
    ({}, ()),
    ([], ()),
])
def test_layout_refs_from_a_raw_spec(spec: Any, names: tuple[str, ...]) -> None:
    assert cl.layout_refs(spec) == names


def test_used_by() -> None:
    assert cl.used_by(["a"]) == "MPUTask a"
    assert cl.used_by(["a", "b"]) == "MPUTasks a, b"
    many = [f"t{i}" for i in range(12)]
    assert cl.used_by(many) == "MPUTasks " + ", ".join(many[:10]) + " and 2 more"
    assert cl.used_by(many[:10]) == "MPUTasks " + ", ".join(many[:10])
    assert cl.used_by(many[:11]) == "MPUTasks " + ", ".join(many[:10]) + " and 1 more"


def test_status_round_trip() -> None:
    status = cl.render(FAILING, None, (), generation=3, previous=None, now=NOW)
    assert cl.record_from_status(status) == FAILING
    assert cl.record_from_status(cl.render(cl.Recorded(), None, (), generation=1,
                                           previous=None, now=NOW)) == cl.Recorded()


@pytest.mark.parametrize("junk", [
    None, [], {"layoutId": "7"}, {"layoutId": True}, {"layoutId": 0}, {"layoutId": -3},
    {"failures": "2"}, {"failures": False}, {"failures": True}, {"failures": -3},
    {"layoutName": ""}, {"layoutName": 5},
    {"retryAt": "soon"}, {"retryAt": 5}, {"appId": ["x"]}])
def test_junk_status_reads_as_nothing(junk: Any) -> None:
    assert cl.record_from_status(junk) == cl.Recorded()


def test_status_reads_good_values() -> None:
    read = cl.record_from_status({"layoutId": 5, "failures": 1, "retryAt": "2026-01-01T12:00:30",
                                  "appliedHash": "h", "error": "e"})
    assert read == cl.Recorded(layout_id=5, failures=1, retry_at=LATER, applied_hash="h",
                               error="e")


def test_status_times_keep_their_zone() -> None:
    read = cl.record_from_status({"retryAt": "2026-01-01T20:00:30+08:00"})
    assert read.retry_at == LATER and read.retry_at.utcoffset() == timedelta(hours=8)
    assert cl.record_from_status({"retryAt": "2026-01-01T12:00:30Z"}).retry_at == LATER


def test_status_times_are_written_in_utc_whatever_the_local_zone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        east = NOW.astimezone(timezone(timedelta(hours=8)))
        status = cl.render(replace(MADE, retry_at=east), None, (), generation=1,
                           previous=None, now=east)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert status["retryAt"] == "2026-01-01T12:00:00Z"
    assert status["conditions"][0]["lastTransitionTime"] == "2026-01-01T12:00:00Z"


def test_in_use_keeps_its_transition_time() -> None:
    first = cl.render(MADE, None, ("a",), generation=1, previous=None, now=NOW)
    again = cl.render(MADE, None, ("a", "b"), generation=1, previous=first, now=LATER)
    assert again["conditions"][1]["lastTransitionTime"] == "2026-01-01T12:00:00Z"
    assert again["conditions"][1]["message"] == "used by MPUTasks a, b"


def test_render() -> None:
    wait = cl.Wait(cl.CREATED, "ok", ready=True)
    status = cl.render(MADE, wait, ("show",), generation=4, previous=None, now=NOW)
    assert status == {
        "observedGeneration": 4, "layoutId": 10001, "layoutName": NAME, "appId": "app",
        "appliedHash": "h1", "failures": 0, "error": None, "retryAt": None,
        "conditions": [
            {"type": "Ready", "status": "True", "reason": "Created", "message": "ok",
             "observedGeneration": 4, "lastTransitionTime": "2026-01-01T12:00:00Z"},
            {"type": "InUse", "status": "True", "reason": "UsedByMPUTasks",
             "message": "used by MPUTask show", "observedGeneration": 4,
             "lastTransitionTime": "2026-01-01T12:00:00Z"}]}
    # the same statuses later keep their transition times; a changed one moves
    later = cl.render(MADE, wait, (), generation=5, previous=status, now=LATER)
    ready, in_use = later["conditions"]
    assert ready["lastTransitionTime"] == "2026-01-01T12:00:00Z"
    assert (in_use["status"], in_use["reason"], in_use["lastTransitionTime"]) == (
        "False", "NotUsed", "2026-01-01T12:00:30Z")
    assert in_use["message"] == "no MPUTask of this namespace refers to it"


def test_render_while_a_call_is_under_way() -> None:
    creating = cl.render(WRITTEN_AHEAD, None, (), generation=1, previous=None, now=NOW)
    assert creating["conditions"][0]["status"] == "False"
    assert creating["conditions"][0]["reason"] == cl.CREATING
    modifying = cl.render(MADE, None, (), generation=1,
                          previous={"conditions": ["junk", {"type": "Ready"}]}, now=NOW)
    assert modifying["conditions"][0]["reason"] == cl.MODIFYING
    assert modifying["conditions"][0]["message"] == "working"


@pytest.mark.parametrize(("body", "expected"), [
    ({"spec": {"panes": [{}, {}]}, "status": {"layoutId": 7, "conditions": [
        {"type": "InUse", "status": "True"}, {"type": "Ready", "status": "True"}]}},
     cl.KnownLayout(7, 2, True)),
    ({"spec": {"panes": [{}]}, "status": {"layoutId": 7, "conditions": [
        {"type": "Ready", "status": "False"}, {"type": "InUse", "status": "True"}]}},
     cl.KnownLayout(7, 1, False)),
    ({"spec": {"panes": "x"}, "status": {"conditions": "junk"}}, cl.KnownLayout(None, 0, False)),
    ({"spec": [], "status": None}, cl.KnownLayout(None, 0, False)),
    ({"status": {"conditions": ["junk", {"type": "Ready", "status": "True"}]}},
     cl.KnownLayout(None, 0, True)),
])
def test_known_layout(body: dict[str, Any], expected: cl.KnownLayout) -> None:
    assert cl.known_layout(body) == expected
