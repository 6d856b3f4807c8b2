"""Recovery: what only a second incarnation, a lost answer or a busy service shows
(issue 7, sections 2, 5 and 6).

No double start when a StartMPUTask's answer is lost but the call lands later; suspend
restarts ended tasks; an invalid edit keeps the task's own credentials; a killed operator
resumes stops, restart counters and back-off from status; a forgotten TaskId, a deleted URL
Secret, identity edits, a user's edit under a poll backlog, a live update that keeps
failing. Every claim is read off the cluster or the RTC emulator's record of its calls.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.operator.conftest import FAST
from tests.operator.harness import (
    APP,
    KIND,
    condition,
    manifest,
    parse,
    status,
    tasks_of,
    url,
    wait_phase,
)
from tests.operator.kit import (
    calls,
    clear_faults,
    gone,
    post_fault,
    secret,
    wait_status,
)

#: Integration scenarios; portable: they run unchanged on a real cluster (make e2e).
pytestmark = [pytest.mark.integration, pytest.mark.portable]


def _now() -> datetime:
    return datetime.now(UTC)


def _no_url_violations(rtc) -> None:
    stats = rtc.stats()
    assert stats["urlRuleViolations"] == 0, stats


# --- §2: never two tasks for one start -------------------------------------------------


@pytest.mark.rtc(fault_hold_seconds=1.0, **FAST)
def test_a_start_whose_answer_is_lost_but_lands_later_makes_exactly_one_task(
        kube, namespace, rtc, operator) -> None:
    # The held call is dropped after 1 s: the client sees no answer (a dropped connection,
    # to the client the same unknown outcome as its read timeout, which is not settable),
    # and the start takes effect 4 s after it arrived, when the operator has long moved on.
    post_fault(rtc, action="StartMPUTask", timeout=True, applied="late", applyAfterSeconds=4)
    kube.create(manifest("late", namespace))
    kube.wait_for(lambda: rtc.stats().get("lateAppliedCalls") == 1, 20,
                  "the late start to take effect at the emulator")
    st = wait_phase(kube, namespace, "late", ("Waiting", "Running"), timeout=20)
    tasks = tasks_of(rtc, "ch-late")
    assert len(tasks) == 1, f"one start made {len(tasks)} tasks: {[t['taskId'] for t in tasks]}"
    assert tasks[0]["taskId"] == st["taskId"] and tasks[0]["status"] in (0, 1)
    stats = rtc.stats()
    # "OK": the late start made the task and the operator adopted it; "Request.ExistTask":
    # the operator's retry of the same TaskId came first. Anything else (StreamURLInUse)
    # means a second TaskId was started while the first start's outcome was unknown.
    outcomes = set(stats["lateApplyOutcomes"])
    assert outcomes <= {"OK", "Request.ExistTask"}, f"the late start met {outcomes}: {stats}"
    assert stats["timeoutsInjected"] == 1 and stats["latePendingCalls"] == 0, stats
    _no_url_violations(rtc)
    kube.delete(KIND, namespace, "late")
    gone(kube, namespace, "late")
    assert rtc.stats()["liveTasks"] == 0, "a task outlived its resource"


# --- §5: recovery bugs -----------------------------------------------------------------


@pytest.mark.rtc(idle_stop_seconds=0.5, **FAST)
@pytest.mark.parametrize("ending", ["channel-ended", "failed"])
def test_toggling_suspend_starts_an_ended_task_again(kube, namespace, rtc, operator,
                                                     ending) -> None:
    kube.create(manifest("again", namespace, restartPolicy="Never"))
    first = wait_phase(kube, namespace, "again", "Waiting")
    if ending == "channel-ended":
        rtc.join(APP, "ch-again", "alice")
        wait_phase(kube, namespace, "again", "Running")
        rtc.leave(APP, "ch-again", "alice")
        ended = wait_phase(kube, namespace, "again", "Stopped", timeout=20)
        assert ended["remoteStatus"] == 4
    else:
        rtc.fail(APP, first["taskId"], 6)
        ended = wait_phase(kube, namespace, "again", "Failed", timeout=20)
        assert ended["remoteStatus"] == 6

    kube.patch(KIND, namespace, "again", {"spec": {"suspend": True}})
    wait_status(kube, namespace, "again", lambda s: s.get("phase") == "Suspended"
                and s.get("observedGeneration") == 2, 20, "Suspended at generation 2")
    kube.patch(KIND, namespace, "again", {"spec": {"suspend": False}})
    st = wait_status(kube, namespace, "again", lambda s: s.get("phase") == "Waiting"
                     and s.get("taskId") != first["taskId"], 20, "a new task after resume")
    old, new = sorted(tasks_of(rtc, "ch-again"), key=lambda t: t["startedAt"])
    assert old["taskId"] == first["taskId"] and old["status"] == ended["remoteStatus"]
    assert new["taskId"] == st["taskId"] and new["status"] == 0
    _no_url_violations(rtc)


@pytest.mark.rtc(credentials={"refid": "refsecret"}, **FAST)
def test_an_invalid_edit_keeps_the_tasks_own_credentials_for_polls_and_delete(
        kube, namespace, rtc, start_operator) -> None:
    # The operator has no default credentials, and the emulator knows only the Secret's
    # key: every call that succeeds was signed with the MPUTask's own credentials.
    start_operator(ALIBABA_CLOUD_ACCESS_KEY_ID="", ALIBABA_CLOUD_ACCESS_KEY_SECRET="")
    kube.create(secret("keys", namespace, accessKeyId="refid", accessKeySecret="refsecret"))
    kube.create(manifest("keyed", namespace, credentialsRef={"name": "keys"}))
    first = wait_phase(kube, namespace, "keyed", "Waiting")

    edited_at = _now()
    kube.patch(KIND, namespace, "keyed", {"spec": {"layout": {"layoutIds": [2, 3]}}})
    st = wait_status(
        kube, namespace, "keyed",
        lambda s: s.get("observedGeneration") == 2 and s.get("lastPolledAt")
        and parse(s["lastPolledAt"]) > edited_at, 20,
        "a poll of the live task after the invalid edit")
    ready = condition(st, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "InvalidSpec"), ready
    assert "layout.layoutIds" in ready["message"]
    assert "credentials" not in ready["message"].lower(), ready["message"]
    [task] = tasks_of(rtc, "ch-keyed")
    assert task["taskId"] == first["taskId"] and task["status"] == 0
    assert task["layoutIds"] == [1, 6]

    kube.delete(KIND, namespace, "keyed")
    gone(kube, namespace, "keyed")
    [task] = tasks_of(rtc, "ch-keyed")
    assert task["status"] == 3
    assert [h["outcome"] for h in calls(task, "StopMPUTask")][:1] == ["OK"]


# --- §6: what only a restart or a second incarnation shows -----------------------------


@pytest.mark.rtc(fault_hold_seconds=5.0, **FAST)
def test_an_operator_killed_mid_stop_finishes_the_stop_after_a_restart(
        kube, namespace, rtc, start_operator) -> None:
    first = start_operator()
    kube.create(manifest("halt", namespace))
    wait_phase(kube, namespace, "halt", "Waiting")
    rtc.fault("StopMPUTask", timeout=True, applied=True)  # it stops; the answer is lost
    kube.delete(KIND, namespace, "halt")
    kube.wait_for(lambda: rtc.stats()["timeoutsInjected"] == 1, 15, "the held Stop call")
    first.kill()
    assert kube.find(KIND, namespace, "halt") is not None, "released before the stop was known"

    start_operator()
    gone(kube, namespace, "halt", timeout=30)
    [task] = tasks_of(rtc, "ch-halt")
    assert task["status"] == 3
    stops = calls(task, "StopMPUTask")
    assert 1 <= len(stops) <= 2 and {h["outcome"] for h in stops} == {"OK"}, stops
    assert calls(task, "StartMPUTask") and len(tasks_of(rtc, "ch-halt")) == 1
    assert rtc.stats()["liveTasks"] == 0


@pytest.mark.rtc(**FAST)
def test_an_operator_killed_while_confirming_a_suspend_resumes_it_as_a_suspend(
        kube, namespace, rtc, start_operator) -> None:
    first = start_operator()
    kube.create(manifest("nap", namespace))
    wait_phase(kube, namespace, "nap", "Waiting")
    # The Stop is answered; every poll that would confirm it fails: status says Stopping.
    rtc.fault("GetMPUTaskStatus", code="InternalError", http=500, count=100)
    kube.patch(KIND, namespace, "nap", {"spec": {"suspend": True}})
    wait_phase(kube, namespace, "nap", "Stopping", timeout=15)
    first.kill()
    clear_faults(rtc)

    start_operator()
    st = wait_phase(kube, namespace, "nap", "Suspended", timeout=20)
    assert st["restartCount"] == 0
    [task] = tasks_of(rtc, "ch-nap")
    assert task["status"] == 3 and len(calls(task, "StopMPUTask")) == 1, task["history"]
    kube.patch(KIND, namespace, "nap", {"spec": {"suspend": False}})
    st = wait_phase(kube, namespace, "nap", "Waiting", timeout=20)
    assert st["restartCount"] == 0, "a suspend was counted as a failure after the restart"
    assert "TaskEnded" not in {e["reason"] for e in kube.events(namespace, "nap")}
    _no_url_violations(rtc)


@pytest.mark.rtc(**FAST)
def test_restart_count_and_back_off_survive_an_operator_restart(
        kube, namespace, rtc, start_operator) -> None:
    # A 3 s cooldown on the operator's side: restart back-off 3 s, then 6 s, so a
    # restarted operator comes up well inside the second one.
    env = {"MPU_URL_COOLDOWN_SECONDS": "3"}
    first = start_operator(**env)
    kube.create(manifest("flap", namespace))
    one = wait_phase(kube, namespace, "flap", "Waiting")
    rtc.fail(APP, one["taskId"], 5)
    two = wait_status(kube, namespace, "flap", lambda s: s.get("restartCount") == 1
                      and s.get("phase") == "Waiting", 20, "the first restart")
    rtc.fail(APP, two["taskId"], 5)
    backing = wait_status(kube, namespace, "flap", lambda s: s.get("taskId") == two["taskId"]
                          and s.get("remoteStatus") == 5 and s.get("nextAttemptAt"), 10,
                          "the second failure and its back-off in status")
    first.kill()
    not_before = parse(backing["nextAttemptAt"])
    assert (not_before - parse(backing["stoppedAt"])).total_seconds() >= 5.0, backing

    start_operator(**env)
    three = wait_status(kube, namespace, "flap", lambda s: s.get("phase") == "Waiting"
                        and s.get("taskId") not in (one["taskId"], two["taskId"]), 30,
                        "the second restart, by the new operator")
    assert three["restartCount"] == 2, "the restart count was lost with the operator"
    started = parse(rtc.task(three["taskId"])["startedAt"])
    assert started >= not_before, \
        f"restarted {(not_before - started).total_seconds():.2f}s before the back-off ended"
    assert len(tasks_of(rtc, "ch-flap")) == 3
    _no_url_violations(rtc)


@pytest.mark.rtc(**FAST)
def test_a_task_the_service_forgot_is_an_outside_stop_and_restarts(kube, namespace, rtc,
                                                                   operator) -> None:
    kube.create(manifest("amnesia", namespace))  # restartPolicy OnFailure (the default)
    first = wait_phase(kube, namespace, "amnesia", "Waiting")
    # The control API has no per-task "forget": reset forgets every task (and counter).
    rtc.reset()
    st = wait_status(kube, namespace, "amnesia", lambda s: s.get("phase") == "Waiting"
                     and s.get("taskId") != first["taskId"], 30, "a restart")
    assert st["restartCount"] == 1
    [task] = rtc.tasks()
    assert task["taskId"] == st["taskId"] and task["status"] == 0
    assert "TaskEnded" in {e["reason"] for e in kube.events(namespace, "amnesia")}
    _no_url_violations(rtc)


def _warned_of_missing_secret(kube, namespace: str, name: str) -> bool:
    st = status(kube, namespace, name)
    reasons = {c.get("reason") for c in st.get("conditions") or []}
    reasons |= {e["reason"] for e in kube.events(namespace, name)}
    return "SecretNotFound" in reasons


@pytest.mark.rtc(**FAST)
def test_a_url_secret_deleted_under_a_live_task_warns_and_never_stops_it(
        kube, namespace, rtc, start_operator) -> None:
    start_operator(MPU_SECRET_CACHE_SECONDS="0")
    kube.create(secret("stream", namespace, url=url("live/kept")))
    body = manifest("kept", namespace)
    del body["spec"]["streamURL"]
    body["spec"]["streamURLFrom"] = {"secretKeyRef": {"name": "stream", "key": "url"}}
    kube.create(body)
    first = wait_phase(kube, namespace, "kept", "Waiting")

    deleted_at = _now()
    kube.delete("secrets", namespace, "stream")
    kube.wait_for(lambda: _warned_of_missing_secret(kube, namespace, "kept"), 15,
                  "a SecretNotFound condition or Event")
    st = wait_status(kube, namespace, "kept", lambda s: s.get("lastPolledAt")
                     and parse(s["lastPolledAt"]) > deleted_at, 15,
                     "a poll after the Secret went")
    assert st["taskId"] == first["taskId"] and st["phase"] == "Waiting"

    kube.create(secret("stream", namespace, url=url("live/kept")))
    st = wait_status(kube, namespace, "kept", lambda s: condition(s, "Ready").get("status")
                     == "True" and all(c.get("reason") != "SecretNotFound"
                                       for c in s.get("conditions") or []), 20,
                     "the warning cleared once the Secret is back")
    assert st["taskId"] == first["taskId"]
    [task] = tasks_of(rtc, "ch-kept")
    assert task["taskId"] == first["taskId"] and task["status"] == 0
    assert calls(task, "StopMPUTask") == [], "the broadcast was stopped"


@pytest.mark.rtc(**FAST)
@pytest.mark.parametrize(("field", "old", "new"), [("taskId", "tid-one", "tid-two"),
                                                    ("appId", APP, "app-other")])
def test_editing_the_task_identity_restarts_under_the_new_one(kube, namespace, rtc, operator,
                                                              field, old, new) -> None:
    kube.create(manifest("ident", namespace, **{field: old}))
    first = wait_phase(kube, namespace, "ident", "Waiting")
    kube.patch(KIND, namespace, "ident", {"spec": {field: new}})
    st = wait_status(kube, namespace, "ident", lambda s: s.get("phase") == "Waiting"
                     and s.get("observedGeneration") == 2
                     and s.get("taskId") != first["taskId"], 30, "a restart on the new identity")
    old_task = rtc.task(first["taskId"], APP)
    assert old_task["status"] == 3, "the old task was left running"
    assert [h["outcome"] for h in calls(old_task, "StopMPUTask")][:1] == ["OK"]
    new_app = new if field == "appId" else APP
    new_task = rtc.task(st["taskId"], new_app)
    assert new_task["status"] == 0 and new_task["channelId"] == "ch-ident"
    if field == "taskId":
        assert st["taskId"] == new or st["taskId"].startswith(new + "-"), st["taskId"]
    assert rtc.stats()["liveTasks"] == 1
    _no_url_violations(rtc)


LOAD = 20
QPS = 1  # 20 queued polls are 20 s of backlog: a loaded machine's slow reaction stays small
EDITS = 4


def _polls_since(rtc, since: datetime) -> list[tuple[datetime, str]]:
    """(time, taskId) of every GetMPUTaskStatus the emulator received after ``since``."""
    return sorted((parse(h["time"]), t["taskId"]) for t in rtc.tasks()
                  for h in calls(t, "GetMPUTaskStatus") if parse(h["time"]) > since)


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


@pytest.mark.rtc(max_concurrent_tasks=LOAD + 5, **FAST)
def test_a_users_edit_overtakes_a_backlog_of_routine_polls(kube, namespace, rtc,
                                                           start_operator) -> None:
    # The API stand-in (kmock) scans its whole request log on every request: look at all
    # the objects with one LIST, and not 50 times a second.
    kube.poll_interval = 0.25
    quota = {"MPU_MAX_TASKS_PER_APP": str(LOAD + 5)}
    first = start_operator(MPU_API_QPS="30", **quota)
    names = [f"load-{i:02d}" for i in range(LOAD)]
    for name in names:
        kube.create(manifest(name, namespace))
    kube.wait_for(lambda: [(o.get("status") or {}).get("phase") for o in kube.list(
        KIND, namespace)] == ["Waiting"] * LOAD, 60, f"all {LOAD} tasks Waiting")
    first.kill()

    # An operator that was away longer than a poll interval comes back to every task due
    # at once: a backlog of 20 routine polls, 20 s long at 1 call/s.
    away = _iso(_now() - timedelta(minutes=2))
    for name in names:
        kube.patch(KIND, namespace, name, {"status": {"lastPolledAt": away}}, status=True)
    ids = {o["status"]["taskId"]: o["metadata"]["name"] for o in kube.list(KIND, namespace)}
    restarted_at = _now()
    start_operator(MPU_API_QPS=str(QPS), **quota)
    kube.wait_for(lambda: len(_polls_since(rtc, restarted_at)) >= 2, 40,
                  "the poll backlog to start draining")

    # Edit four tasks whose polls are still queued: each edit must go before the queue
    # (priority), and must not wait for its own task's queued poll either (preemption).
    polled = {t for _, t in _polls_since(rtc, restarted_at)}
    edited = sorted(t for t in ids if t not in polled)[::4][:EDITS]
    edited_at = _now()
    for task_id in edited:
        kube.patch(KIND, namespace, ids[task_id],
                   {"spec": {"layout": {"layoutIds": [1, 2, 6]}}})

    def all_updated() -> datetime | None:
        times = [calls(rtc.task(t), "UpdateMPULayout")[:1] for t in edited]
        return max(parse(u[0]["time"]) for u in times) if all(times) else None
    last_update = kube.wait_for(all_updated, 40, "every edit at the emulator")
    polls = _polls_since(rtc, restarted_at)
    queued = set(ids) - {t for when, t in polls if when <= edited_at} - set(edited)
    ahead = [t for when, t in polls if edited_at < when < last_update and t in queued]
    # Counted at the emulator, not by the clock: how many of the other tasks' queued polls
    # reached the service before the last edit did. Without priority, or without
    # preemption, nearly all of them; a busy machine's slow reaction lets a few by.
    assert len(edited) == EDITS and len(queued) >= 8, (edited, queued)
    assert len(ahead) <= len(queued) // 2, \
        f"{len(ahead)} of {len(queued)} queued routine polls went before the users' edits"
    assert all(rtc.task(t)["layoutIds"] == [1, 2, 6] for t in edited)


@pytest.mark.rtc(**FAST)
def test_a_live_update_that_keeps_failing_is_not_ready_until_it_lands(kube, namespace, rtc,
                                                                      operator) -> None:
    kube.create(manifest("stuck", namespace))
    first = wait_phase(kube, namespace, "stuck", "Waiting")
    rtc.fault("UpdateMPULayout", code="InternalError", http=500, count=100)
    kube.patch(KIND, namespace, "stuck", {"spec": {"layout": {"layoutIds": [1, 2, 6]}}})
    st = wait_status(kube, namespace, "stuck", lambda s: s.get("observedGeneration") == 2
                     and condition(s, "Ready").get("reason") == "APIError", 20,
                     "Ready to name the failing update")
    assert condition(st, "Ready")["status"] == "False"
    assert condition(st, "Reconciling")["status"] == "True"
    assert st["taskId"] == first["taskId"] and st["phase"] in ("Waiting", "Running")
    [task] = tasks_of(rtc, "ch-stuck")
    assert task["status"] == 0 and task["layoutIds"] == [1, 6]
    assert rtc.stats()["errors"].get("InternalError", 0) >= 1

    clear_faults(rtc)
    st = wait_status(kube, namespace, "stuck",
                     lambda s: condition(s, "Ready").get("status") == "True", 30,
                     "Ready once the update lands")
    [task] = tasks_of(rtc, "ch-stuck")
    assert task["layoutIds"] == [1, 2, 6] and task["taskId"] == first["taskId"]
    assert task["status"] == 0 and calls(task, "StopMPUTask") == []
