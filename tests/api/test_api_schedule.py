"""spec.schedule: what is accepted, and a clear problem naming the field for the rest."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from mpu_operator.api import crd, parse_spec
from mpu_operator.api.schedule import TIME_PATTERN, ScheduleSpec

TZ = "must be an RFC 3339 time with a timezone (e.g. 2026-12-31T20:00:00Z or " \
     "2026-12-31T21:00:00+01:00)"
REAL = "must be a real date and time, with an offset under 24 hours (e.g. " \
       "2026-12-31T20:00:00Z or 2026-12-31T21:00:00+01:00)"


def problems(valid: dict[str, Any], schedule: Any) -> list[str]:
    return [str(p) for p in parse_spec({**valid, "schedule": schedule}).errors]


@pytest.mark.parametrize(("schedule", "start", "stop"), [
    ({"startAt": "2026-12-31T20:00:00Z"}, datetime(2026, 12, 31, 20, tzinfo=UTC), None),
    ({"stopAt": "2026-12-31T21:00:00+01:00"}, None, datetime(2026, 12, 31, 20, tzinfo=UTC)),
    ({"startAt": "2026-12-31T20:00:00.5-05:30", "stopAt": "2027-01-01T02:00:00.500001Z"},
     datetime(2027, 1, 1, 1, 30, 0, 500000, tzinfo=UTC),
     datetime(2027, 1, 1, 2, 0, 0, 500001, tzinfo=UTC)),
    ({"startAt": "2026-12-31T20:00:00.123456789Z"},
     datetime(2026, 12, 31, 20, 0, 0, 123456, tzinfo=UTC), None),
    ({}, None, None),
])
def test_times_are_read_as_utc(valid, schedule, start, stop) -> None:
    result = parse_spec({**valid, "schedule": schedule})
    assert result.ok, result.errors
    assert result.spec is not None and result.spec.schedule is not None
    assert (result.spec.schedule.start_time(), result.spec.schedule.stop_time()) == (start, stop)


def test_no_schedule_is_none(valid) -> None:
    result = parse_spec(valid)
    assert result.spec is not None and result.spec.schedule is None


@pytest.mark.parametrize(("schedule", "want"), [
    ({"startAt": "2026-12-31T20:00:00"}, f"schedule.startAt: {TZ}"),  # no timezone
    ({"startAt": "2026-12-31"}, f"schedule.startAt: {TZ}"),
    ({"startAt": "2026-12-31T20:00Z"}, f"schedule.startAt: {TZ}"),
    ({"startAt": "2026-12-31 20:00:00Z"}, f"schedule.startAt: {TZ}"),
    ({"startAt": "2026-12-31t20:00:00z"}, f"schedule.startAt: {TZ}"),
    ({"startAt": "2026-12-31T20:00:00Z\n"}, f"schedule.startAt: {TZ}"),  # control chars
    ({"startAt": "2026-12-31T20:00:00\x00Z"}, f"schedule.startAt: {TZ}"),
    ({"startAt": "\u202e2026-12-31T20:00:00Z"}, f"schedule.startAt: {TZ}"),
    ({"startAt": "２０２６-12-31T20:00:00Z"}, f"schedule.startAt: {TZ}"),  # no Unicode digits
    ({"startAt": "+99999-12-31T20:00:00Z"}, f"schedule.startAt: {TZ}"),  # huge years
    ({"startAt": "9" * 10_000}, "schedule.startAt: must be at most 35 characters"),
    ({"startAt": "9999-12-31T23:59:59-01:00"},
     "schedule.startAt: must be in the years 1970 to 2999"),
    ({"stopAt": "3000-01-01T00:00:00Z"}, "schedule.stopAt: must be in the years 1970 to 2999"),
    ({"stopAt": "0001-01-01T00:00:00Z"}, "schedule.stopAt: must be in the years 1970 to 2999"),
    ({"stopAt": "0000-01-01T00:00:00Z"}, f"schedule.stopAt: {REAL}"),
    ({"stopAt": "2026-02-30T00:00:00Z"}, f"schedule.stopAt: {REAL}"),
    ({"stopAt": "2026-12-31T24:00:00Z"}, f"schedule.stopAt: {REAL}"),
    ({"stopAt": "2026-12-31T23:59:60Z"}, f"schedule.stopAt: {REAL}"),
    ({"stopAt": "2026-12-31T20:00:00+24:00"}, f"schedule.stopAt: {REAL}"),
    ({"startAt": "2026-12-31T20:00:00Z", "stopAt": "2026-12-31T20:00:00Z"},
     "schedule.stopAt: must be after schedule.startAt"),
    ({"startAt": "2026-12-31T20:00:00Z", "stopAt": "2026-12-31T21:00:00+01:00"},
     "schedule.stopAt: must be after schedule.startAt"),  # the same instant
    ({"startAt": "2026-12-31T20:00:00Z", "stopAt": "2026-12-31T19:59:59Z"},
     "schedule.stopAt: must be after schedule.startAt"),
    ({"startAt": None}, "schedule.startAt: must not be null"),
    ({"startAt": 1767211200}, "schedule.startAt: must be a string"),
    ({"startsAt": "2026-12-31T20:00:00Z"},
     "schedule.startsAt: unknown field (did you mean startAt?)"),
    ("2026-12-31T20:00:00Z", "schedule: must be an object"),
    (None, "schedule: must not be null"),
])
def test_hostile_values_get_one_clear_problem(valid, schedule, want) -> None:
    assert problems(valid, schedule) == [want]


def test_a_problem_never_echoes_the_value(valid) -> None:
    for value in ("2026-12-31T20:00:00SECRET", "SECRET", "2026-12-31T20:00:00Z SECRET"):
        assert all("SECRET" not in p for p in problems(valid, {"startAt": value}))


def test_a_bad_start_at_does_not_add_an_order_problem(valid) -> None:
    assert problems(valid, {"startAt": "x", "stopAt": "2026-12-31T20:00:00Z"}) == [
        f"schedule.startAt: {TZ}"]


def test_the_crd_carries_the_pattern_and_the_order_rule() -> None:
    spec = crd.build_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    schedule = spec["spec"]["properties"]["schedule"]
    for name in ("startAt", "stopAt"):
        node = schedule["properties"][name]
        assert (node["type"], node["format"], node["pattern"], node["maxLength"]) == (
            "string", "date-time", TIME_PATTERN, 35)
    assert schedule["x-kubernetes-validations"] == [{
        "rule": "!has(self.startAt) || !has(self.stopAt) || self.stopAt > self.startAt",
        "message": "stopAt must be after startAt"}]


def test_the_model_is_frozen_and_strict() -> None:
    model = ScheduleSpec.model_validate({"startAt": "2026-12-31T20:00:00Z"})
    with pytest.raises(ValidationError):
        model.start_at = "2027-01-01T00:00:00Z"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        ScheduleSpec.model_validate({"startAt": datetime(2026, 1, 1, tzinfo=UTC)})
