"""TaskIds and timing: the service's id rules, and the API budget."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from mpu_operator.core import taskid
from mpu_operator.core.model import Record, TaskState
from mpu_operator.core.timing import Timing, poll_interval, restart_delay

from .fixtures import at

VALID = re.compile(r"^[A-Za-z0-9_-]{1,55}$")


@given(st.text(min_size=1, max_size=253), st.text(min_size=1, max_size=253),
       st.uuids().map(str), st.integers(1, 10**6))
def test_derived_ids_are_always_valid_and_distinct_per_incarnation(ns, name, uid, n) -> None:
    base = taskid.derive_base(ns, name, uid)
    this = taskid.for_incarnation(base, n, user_given=False)
    nxt = taskid.for_incarnation(base, n + 1, user_given=False)
    assert VALID.match(this) and len(this.encode()) <= 55 and this != nxt


def test_derived_ids_are_deterministic_and_differ_by_uid() -> None:
    assert taskid.derive_base("ns", "show", "u1") == "ns-show-bb82030d"  # sha256("u1")[:8]
    assert taskid.derive_base("ns", "show", "u1") != taskid.derive_base("ns", "show", "u2")


def test_a_users_id_is_kept_then_suffixed() -> None:
    user = "x" * 55
    assert taskid.for_incarnation(user, 1, user_given=True) == user
    second = taskid.for_incarnation(user, 2, user_given=True)
    assert second.endswith("-2") and len(second) == 55


def test_steady_polls_stretch_to_keep_inside_the_api_budget() -> None:
    timing = Timing(steady_poll=30, api_qps=10, poll_budget_share=0.5, jitter=0)
    steady = Record(task_id="t", state=TaskState.ACTIVE, remote_status=1, changed_at=at(-999))
    assert poll_interval(steady, at(0), timing, 10, 0.0) == 30
    assert poll_interval(steady, at(0), timing, 1000, 0.0) == 200  # 1000 tasks / 5 per s


def test_changing_tasks_poll_fast_with_jitter() -> None:
    timing = Timing(fast_poll=2, jitter=0.1)
    starting = Record(task_id="t", state=TaskState.STARTING)
    assert poll_interval(starting, at(0), timing, 1, 1.0) == 2.2
    assert poll_interval(starting, at(0), timing, 1, -1.0) == 1.8


def test_restart_delay_never_beats_the_url_cooldown_and_is_capped() -> None:
    timing = Timing(url_cooldown=10, backoff_max=60)
    assert [restart_delay(n, timing) for n in (1, 2, 3, 4, 5)] == [10, 20, 40, 60, 60]


def test_only_confirming_polls_ignore_the_budget() -> None:
    timing = Timing(fast_poll=1, steady_poll=30, api_qps=10, poll_budget_share=0.5, jitter=0)
    fresh = Record(task_id="t", state=TaskState.ACTIVE, remote_status=None)
    just_changed = Record(task_id="t", state=TaskState.ACTIVE, remote_status=0,
                          changed_at=at(-5))
    assert poll_interval(fresh, at(0), timing, 400, 0.0) == 1  # confirming a start
    assert poll_interval(just_changed, at(0), timing, 2, 0.0) == 1
    assert poll_interval(just_changed, at(0), timing, 400, 0.0) == 80  # 400 / 5 per s
