"""Backup stream URLs (issue #11): a task the CDN (5) or the stream URL (6) stopped starts
again at once on the next URL; back to the primary under WhenPrimaryHealthy; the usual
back-off when every URL failed; the URL rule across MPUTasks whose backups overlap; an
operator killed mid-failover. Duplicates, leaks and URL-rule violations are counted at the
RTC emulator. (Not the leader failover of test_failover.py.)

Needs spec.backupStreamURLs and spec.failover (the API side of #11, branch failapi).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.operator.conftest import FAST
from tests.operator.harness import (
    APP,
    KIND,
    condition,
    manifest,
    status,
    tasks_of,
    url,
    wait_phase,
)
from tests.operator.kit import summary, wait_status

#: Integration scenarios; portable: they run unchanged on a real cluster (make e2e).
pytestmark = [pytest.mark.integration, pytest.mark.portable]

HOST = "rtmp://push.example.com/"


def _key(path: str) -> str:
    """A test URL as status and the emulator show it: no query."""
    return HOST + path


def _with_backups(name: str, namespace: str, *backups: str, **spec: Any) -> dict[str, Any]:
    return manifest(name, namespace, backupStreamURLs=[url(b) for b in backups], **spec)


def _no_violations(rtc) -> None:
    stats = rtc.stats()
    assert stats["urlRuleViolations"] == 0, stats
    assert stats["quotaRefusals"] == 0, stats


def _on(kube, namespace: str, name: str, key: str, failovers: int,
        timeout: float = 40) -> dict[str, Any]:
    """Wait until the task is live on ``key`` after ``failovers`` failovers."""
    return wait_status(kube, namespace, name, lambda st: st.get("activeStreamURL") == key
                       and st.get("failovers") == failovers
                       and st.get("phase") in ("Waiting", "Running"), timeout,
                       f"live on {key} after {failovers} failover(s)")


def _live(rtc, channel: str) -> list[dict[str, Any]]:
    return [t for t in tasks_of(rtc, channel) if t["status"] in (0, 1)]


@pytest.mark.rtc(**FAST)
@pytest.mark.parametrize("code", [5, 6], ids=["cdn-failure", "url-failure"])
def test_a_failed_task_starts_again_at_once_on_the_backup(kube, namespace, rtc, operator,
                                                          code) -> None:
    kube.create(_with_backups("fo", namespace, "live/fo-b1", "live/fo-b2"))
    first = wait_phase(kube, namespace, "fo", "Waiting", timeout=40)
    assert first["activeStreamURL"] == _key("live/fo") and first["failovers"] == 0
    assert condition(first, "Ready")["reason"] == "WaitingForChannel"

    rtc.fail(APP, first["taskId"], code)
    st = _on(kube, namespace, "fo", _key("live/fo-b1"), 1)
    ready = condition(st, "Ready")
    assert (ready["status"], ready["reason"]) == ("True", "RunningOnBackup"), summary(st)
    assert st["streamURL"] == _key("live/fo"), "streamURL is the spec's, the primary"
    tasks = tasks_of(rtc, "ch-fo")
    assert [(t["streamURL"], t["status"]) for t in tasks] == [
        (_key("live/fo"), code), (_key("live/fo-b1"), 0)]
    assert tasks[1]["taskId"] == st["taskId"] != first["taskId"]
    events = [e for e in kube.events(namespace, "fo") if e["reason"] == "FailedOver"]
    assert len(events) == 1 and "backup stream URL 1" in events[0]["message"]
    assert f"status {code}" in events[0]["message"]
    _no_violations(rtc)

    kube.delete(KIND, namespace, "fo")
    kube.wait_for(lambda: kube.find(KIND, namespace, "fo") is None, 20, "the object to go")
    assert rtc.stats()["liveTasks"] == 0, "a task outlived its resource"


@pytest.mark.rtc(**FAST)
def test_a_failure_after_does_not_list_is_the_usual_restart_on_the_same_url(
        kube, namespace, rtc, operator) -> None:
    kube.create(_with_backups("cdnonly", namespace, "live/cdnonly-b1",
                              failover={"after": ["CDNFailure"]}))
    first = wait_phase(kube, namespace, "cdnonly", "Waiting", timeout=40)
    rtc.fail(APP, first["taskId"], 6)
    st = wait_status(kube, namespace, "cdnonly", lambda s: s.get("restartCount") == 1
                     and s.get("phase") == "Waiting", 40, "a restart")
    assert (st["activeStreamURL"], st["failovers"]) == (_key("live/cdnonly"), 0)
    _no_violations(rtc)


@pytest.mark.rtc(idle_stop_seconds=0.5, **FAST)
def test_when_primary_healthy_the_next_restart_goes_back_to_the_primary(
        kube, namespace, rtc, operator) -> None:
    kube.create(_with_backups("back", namespace, "live/back-b1", restartPolicy="Always",
                              failover={"back": "WhenPrimaryHealthy"}))
    rtc.join(APP, "ch-back", "alice")
    first = wait_phase(kube, namespace, "back", "Running", timeout=40)
    rtc.fail(APP, first["taskId"], 5)
    _on(kube, namespace, "back", _key("live/back-b1"), 1)
    wait_status(kube, namespace, "back", lambda st: st.get("phase") == "Running"
                and st.get("activeStreamURL") == _key("live/back-b1"), 20,
                "the backup running (someone is in the channel)")
    # The channel ends: the backup task stops by itself (4); the restart goes back.
    rtc.leave(APP, "ch-back", "alice")
    st = _on(kube, namespace, "back", _key("live/back"), 1)
    assert condition(st, "Ready")["reason"] == "WaitingForChannel"
    assert [t["streamURL"] for t in tasks_of(rtc, "ch-back")] == [
        _key("live/back"), _key("live/back-b1"), _key("live/back")]
    _no_violations(rtc)


def test_when_every_url_failed_the_usual_back_off_applies(kube, namespace, rtc,
                                                          operator) -> None:
    """The service's real 10 s cooldown: two quick failures back off 20 s (the test
    operator's MPU_RESTART_BACKOFF_MAX_SECONDS), longer than the test takes to fail the
    backup, so the back-off is seen for certain."""
    kube.create(_with_backups("allfail", namespace, "live/allfail-b1"))
    first = wait_phase(kube, namespace, "allfail", "Waiting", timeout=40)
    rtc.fail(APP, first["taskId"], 5)
    backup = _on(kube, namespace, "allfail", _key("live/allfail-b1"), 1)
    rtc.fail(APP, backup["taskId"], 6)
    st = wait_phase(kube, namespace, "allfail", "Restarting", timeout=20, reason="BackingOff")
    assert len(tasks_of(rtc, "ch-allfail")) == 2, "started again within the back-off"
    assert st["nextAttemptAt"]
    # After the back-off, the next URL in turn: the primary again.
    again = _on(kube, namespace, "allfail", _key("live/allfail"), 2, timeout=60)
    assert again["restartCount"] == 2
    assert [t["streamURL"] for t in tasks_of(rtc, "ch-allfail")] == [
        _key("live/allfail"), _key("live/allfail-b1"), _key("live/allfail")]
    _no_violations(rtc)


def test_two_tasks_whose_backups_overlap_keep_the_url_rule(kube, namespace, rtc,
                                                           operator) -> None:
    """With the service's real 10 s cooldown. A moves off the shared backup at once (to
    its second backup): the shared URL stays cooling for B all the same (a lost release
    would let B start there at once: a violation at the emulator)."""
    kube.create(_with_backups("ova", namespace, "live/shared-backup", "live/ova-b2"))
    kube.create(_with_backups("ovb", namespace, "live/shared-backup"))
    a = wait_phase(kube, namespace, "ova", "Waiting", timeout=40)
    b = wait_phase(kube, namespace, "ovb", "Waiting", timeout=40)
    rtc.fail(APP, a["taskId"], 5)
    a = _on(kube, namespace, "ova", _key("live/shared-backup"), 1)
    rtc.fail(APP, b["taskId"], 5)
    # B's only other URL is held by A: B waits for it, whatever the back-off says.
    wait_status(kube, namespace, "ovb", lambda st: condition(st, "Ready").get("reason")
                == "StreamURLInUse", 40, "B waits for the shared backup")
    assert not _live(rtc, "ch-ovb")
    # A's shared backup fails too: A moves on to its own second backup at once, and B
    # gets the shared one once it has cooled down.
    rtc.fail(APP, a["taskId"], 6)
    _on(kube, namespace, "ova", _key("live/ova-b2"), 2, timeout=60)
    _on(kube, namespace, "ovb", _key("live/shared-backup"), 1, timeout=60)
    live = [t["streamURL"] for t in rtc.tasks() if t["status"] in (0, 1)]
    assert sorted(live) == [_key("live/ova-b2"), _key("live/shared-backup")]
    _no_violations(rtc)


def _started_on_backup(kube, namespace: str, name: str):
    st = status(kube, namespace, name)
    inner = st.get("internal") or {}
    return st if inner.get("state") == "Starting" and inner.get("urlIndex") == 1 else None


@pytest.mark.rtc(**FAST)
@pytest.mark.parametrize("service_saw_it", [True, False], ids=["started", "not-started"])
def test_an_operator_killed_mid_failover_neither_duplicates_nor_leaks(
        kube, namespace, rtc, start_operator, service_saw_it) -> None:
    first_operator = start_operator()
    kube.create(_with_backups("crashfo", namespace, "live/crashfo-b1"))
    first = wait_phase(kube, namespace, "crashfo", "Waiting", timeout=40)
    rtc.fault("StartMPUTask", timeout=True, applied=service_saw_it)
    rtc.fail(APP, first["taskId"], 5)
    written = kube.wait_for(lambda: _started_on_backup(kube, namespace, "crashfo"), 30,
                            "the failover's write-ahead on the backup")
    kube.wait_for(lambda: rtc.stats()["timeoutsInjected"] == 1, 10, "the held Start call")
    first_operator.kill()
    assert len(_live(rtc, "ch-crashfo")) == (1 if service_saw_it else 0)

    start_operator()
    st = _on(kube, namespace, "crashfo", _key("live/crashfo-b1"), 1)
    tasks = tasks_of(rtc, "ch-crashfo")
    assert len(tasks) == 2, f"expected the failed task and one more, got {tasks}"
    assert [(t["taskId"], t["streamURL"]) for t in _live(rtc, "ch-crashfo")] == [
        (st["taskId"], _key("live/crashfo-b1"))], "one live task, on the URL written ahead"
    assert st["taskId"] == written["taskId"], "the TaskId written ahead, not a new one"
    _no_violations(rtc)
    kube.delete(KIND, namespace, "crashfo")
    kube.wait_for(lambda: kube.find(KIND, namespace, "crashfo") is None, 20,
                  "the object to go")
    assert rtc.stats()["liveTasks"] == 0, "a task outlived its resource"
