"""TaskIds spelt out exactly, and the edges of the timing rules (boundaries, floors)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mpu_operator.core import taskid
from mpu_operator.core.model import Record, TaskState
from mpu_operator.core.timing import (
    Timing,
    after,
    is_changing,
    is_confirming,
    poll_interval,
    restart_delay,
    retry_delay,
    seconds_until,
    stable_jitter,
)

from .fixtures import T0, at

# sha256("u").hexdigest()[:8], sha256("uid-1").hexdigest()[:8]
U = "0bfe935e"
UID_1 = "4a49acf8"


@pytest.mark.parametrize(("namespace", "name", "uid", "expected"), [
    ("ns", "show", "u", f"ns-show-{U}"),
    ("ns", "show!", "u", f"ns-show-{U}"),  # a trailing invalid character is cut, not kept
    ("-ns", "a.b c", "u", f"ns-a-b-c-{U}"),  # runs of invalid characters become one '-'
    ("prod", "live_01", "uid-1", f"prod-live_01-{UID_1}"),
    ("", "", "u", U),  # nothing usable left: the digest alone, no leading '-'
    ("", "!!!", "u", U),
    (" ", " x ", "u", f"x-{U}"),
    ("X", "showX", "u", f"X-showX-{U}"),  # only '-' is trimmed
])
def test_derived_bases_are_exact(namespace: str, name: str, uid: str, expected: str) -> None:
    assert taskid.derive_base(namespace, name, uid) == expected


def test_a_long_name_is_cut_to_leave_room_for_a_suffix() -> None:
    base = taskid.derive_base("n" * 30, "m" * 60, "u")
    assert base == "n" * 30 + "-" + "m" * 9 + f"-{U}"  # 40 characters of head
    assert len(base) == 49
    assert taskid.for_incarnation(base, 99999, user_given=False) == base + "-99999"


@pytest.mark.parametrize(("base", "n", "user_given", "expected"), [
    ("mine", 1, True, "mine"),
    ("mine", 0, True, "mine"),
    ("mine", 2, True, "mine-2"),
    ("derived", 1, False, "derived-1"),
    ("derived", 12, False, "derived-12"),
    ("x" * 55, 10, True, "x" * 52 + "-10"),
])
def test_task_ids_per_incarnation(base: str, n: int, user_given: bool, expected: str) -> None:
    assert taskid.for_incarnation(base, n, user_given=user_given) == expected


def test_a_start_or_stop_in_flight_is_confirming_and_changing() -> None:
    timing = Timing()
    for state in (TaskState.STARTING, TaskState.STOPPING):
        record = Record(task_id="t", state=state, changed_at=at(-3600))
        assert is_confirming(record) and is_changing(record, at(0), timing)
    unpolled = Record(task_id="t", state=TaskState.ACTIVE, remote_status=None)
    assert is_confirming(unpolled) and is_changing(unpolled, at(0), timing)


def test_the_fast_window_ends_exactly_after_its_length() -> None:
    timing = Timing(fast_window=30)
    record = Record(task_id="t", state=TaskState.ACTIVE, remote_status=1, changed_at=at(0))
    assert is_changing(record, at(29.999), timing)
    assert not is_changing(record, at(30), timing)
    assert not is_changing(record.replace(changed_at=None), at(0), timing)
    assert not is_confirming(record)


def test_a_budget_under_one_call_per_second_still_stretches_polls() -> None:
    timing = Timing(steady_poll=30, api_qps=1, poll_budget_share=0.5, jitter=0)
    steady = Record(task_id="t", state=TaskState.ACTIVE, remote_status=1)
    assert poll_interval(steady, at(0), timing, 100, 0.0) == 200  # 100 tasks / 0.5 per s


def test_a_zero_budget_does_not_divide_by_zero() -> None:
    timing = Timing(steady_poll=30, api_qps=0, jitter=0)
    steady = Record(task_id="t", state=TaskState.ACTIVE, remote_status=1)
    assert poll_interval(steady, at(0), timing, 1, 0.0) == 1000  # 1 task / 0.001 per s


def test_polls_never_come_faster_than_every_50_ms() -> None:
    timing = Timing(fast_poll=0.01, jitter=0)
    assert poll_interval(Record(task_id="t", state=TaskState.STARTING), at(0), timing, 1,
                         0.0) == 0.05


def test_restart_back_off_has_a_one_second_floor_without_a_cooldown() -> None:
    timing = Timing(url_cooldown=0, backoff_max=300)
    assert [restart_delay(n, timing) for n in (0, 1, 2, 3)] == [1, 1, 2, 4]


def test_retry_back_off_doubles_from_one_second_and_is_capped() -> None:
    timing = Timing(backoff_max=5)
    assert [retry_delay(n, timing) for n in (0, 1, 2, 3, 4)] == [1, 1, 2, 4, 5]


def test_seconds_until() -> None:
    assert seconds_until(None, T0) == 0.0
    assert seconds_until(at(2.5), T0) == 2.5
    assert seconds_until(at(-2.5), T0) == 0.0
    assert after(T0, 1.5) == T0 + timedelta(seconds=1.5)


def test_the_jitter_of_one_poll_is_fixed_however_often_the_task_is_looked_at() -> None:
    """A fresh draw at every look pushed polls late (make bench: steady polling far under
    its budget); one poll's jitter is a function of the task and its last poll."""
    record = Record(task_id="t", state=TaskState.ACTIVE, remote_status=1,
                    last_polled_at=at(0))
    assert stable_jitter(record) == stable_jitter(record.replace(changed_at=at(5)))
    assert stable_jitter(record) != stable_jitter(record.replace(last_polled_at=at(1)))
    assert stable_jitter(record) != stable_jitter(record.replace(task_id="u"))
    assert stable_jitter(record) != stable_jitter(record.replace(last_polled_at=None))


def test_jitter_units_spread_over_minus_one_to_one() -> None:
    units = [stable_jitter(Record(task_id=f"t{i}", last_polled_at=at(i))) for i in range(2000)]
    assert all(-1.0 <= u <= 1.0 for u in units)
    assert min(units) < -0.95 and max(units) > 0.95  # the whole range, both signs
    assert abs(sum(units) / len(units)) < 0.05  # centred: polls neither early nor late
    assert sum(u < 0 for u in units) == pytest.approx(1000, abs=100)


def test_the_jitter_unit_is_the_hash_scaled() -> None:
    # blake2b("t|", digest_size=4) and blake2b("t|1970-01-01T00:00:00+00:00", ...)
    import hashlib
    for last, key in ((None, "t|"), (T0, f"t|{T0.isoformat()}")):
        raw = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "big")
        expected = raw / 0xFFFFFFFF * 2.0 - 1.0
        assert stable_jitter(Record(task_id="t", last_polled_at=last)) == expected


def test_by_default_steady_polls_take_most_of_the_budget() -> None:
    """1000 tasks at 10 calls/s: each polled about every 118 s (issue 9: "about every
    100 s"), not every 200 s as with half the budget."""
    timing = Timing(steady_poll=5, api_qps=10, jitter=0)
    steady = Record(task_id="t", state=TaskState.ACTIVE, remote_status=1)
    assert poll_interval(steady, at(0), timing, 1000, 0.0) == pytest.approx(1000 / 8.5)


def test_the_poll_budget_is_a_share_of_whole_calls_per_second() -> None:
    """A shard's slice of 10 calls/s over 3 shards is 3 a second at the limiter: polls
    take 85 % of 3, not of 3.33 (which would be 94 % of what the limiter lets through)."""
    timing = Timing(steady_poll=5, api_qps=10 / 3, jitter=0)
    steady = Record(task_id="t", state=TaskState.ACTIVE, remote_status=1)
    assert poll_interval(steady, at(0), timing, 300, 0.0) == pytest.approx(300 / 2.55)
    slow = Timing(steady_poll=5, api_qps=0.5, poll_budget_share=0.5, jitter=0)
    assert poll_interval(steady, at(0), slow, 10, 0.0) == pytest.approx(40)
    # Between 1 and 2 calls/s the limiter lets one whole call a second through, not 1.5.
    between = Timing(steady_poll=5, api_qps=1.5, poll_budget_share=0.5, jitter=0)
    assert poll_interval(steady, at(0), between, 10, 0.0) == pytest.approx(20)
