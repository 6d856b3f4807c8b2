"""The daemon's sleep towards a Wait's ``until``: never longer than LONGEST_SLEEP, so a
startAt days (or centuries) ahead neither overflows nor oversleeps a wall-clock step, and
exactly the remaining time when it is near."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mpu_operator.controller.handlers import LONGEST_SLEEP, _delay

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


@pytest.mark.parametrize(("until", "want"), [
    (NOW + timedelta(seconds=7.5), 7.5),  # near: exactly then
    (NOW + timedelta(seconds=LONGEST_SLEEP), LONGEST_SLEEP),
    (NOW + timedelta(days=3), LONGEST_SLEEP),  # far: look again, measure again
    (datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC), LONGEST_SLEEP),
    (NOW, 0.0),
    (NOW - timedelta(days=1), 0.0),  # past: at once, never negative
])
def test_delay_is_the_time_left_capped(until: datetime, want: float) -> None:
    assert _delay(until, NOW) == want


def test_the_cap_is_a_routine_recheck_not_a_busy_loop() -> None:
    assert 60.0 <= LONGEST_SLEEP <= 600.0
