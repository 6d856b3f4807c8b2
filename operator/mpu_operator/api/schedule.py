"""``spec.schedule``: when a broadcast starts and when it ends.

Times are RFC 3339 with a timezone (``2026-12-31T20:00:00Z``, ``...T21:00:00+01:00``): a
time without one means a different instant on every machine, so it is refused rather than
guessed. The CRD carries the same rule as a pattern (the API server's own ``date-time``
format accepts zone-less times), and the order of the two times as a CEL rule.

This module imports nothing from :mod:`mpu_operator.api.spec` (which imports it): the spec
model uses :class:`ScheduleSpec` as one of its fields.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

#: RFC 3339 date-time with a mandatory timezone, as the CRD's pattern (upper-case T and Z,
#: as Kubernetes writes them; fractions up to nanoseconds).
TIME_PATTERN = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
                r"(Z|[+-][0-9]{2}:[0-9]{2})$")
#: The longest time the pattern allows (nanoseconds and an offset): 35 characters.
MAX_TIME_LENGTH = 35
#: Years a schedule may name. Nobody plans a broadcast a millennium ahead, and staying far
#: from datetime's year 9999 keeps every sum of a time and a delay clear of overflow.
MIN_YEAR, MAX_YEAR = 1970, 2999

_TIME = re.compile(TIME_PATTERN)
_EXAMPLE = "e.g. 2026-12-31T20:00:00Z or 2026-12-31T21:00:00+01:00"


def time_problem(value: str) -> str | None:
    """The rule an RFC 3339 time breaks, or None. Never quotes the value."""
    if not _TIME.fullmatch(value):
        return f"must be an RFC 3339 time with a timezone ({_EXAMPLE})"
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return f"must be a real date and time, with an offset under 24 hours ({_EXAMPLE})"
    if not MIN_YEAR <= when.year <= MAX_YEAR:
        return f"must be in the years {MIN_YEAR} to {MAX_YEAR}"
    return None


def parse_time(value: str | None) -> datetime | None:
    """A checked time as an aware UTC datetime (None stays None)."""
    return None if value is None else _utc(value)


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _check_time(value: str) -> str:
    problem = time_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


Time = Annotated[str, Field(min_length=1, max_length=MAX_TIME_LENGTH,
                            json_schema_extra={"format": "date-time",
                                               "pattern": TIME_PATTERN}),
                 AfterValidator(_check_time)]


class ScheduleSpec(BaseModel):
    """When the broadcast runs; either time may be left out."""

    # The spec's common configuration (strict, no unknown fields, no input in errors).
    model_config = ConfigDict(
        strict=True, extra="forbid", validate_by_alias=True, validate_by_name=True,
        frozen=True, hide_input_in_errors=True,
        json_schema_extra={"x-kubernetes-validations": [{
            "rule": "!has(self.startAt) || !has(self.stopAt) || self.stopAt > self.startAt",
            "message": "stopAt must be after startAt",
        }]})

    start_at: Time | None = Field(
        default=None, alias="startAt",
        description="When to start the task (RFC 3339 with a timezone, e.g. "
                    "2026-12-31T20:00:00Z). Until then the phase is Scheduled and no task "
                    "exists; the task starts at this time, never before, when the stream "
                    "URL is free. A task already running is not stopped when it moves "
                    "later. Omitted: start at once.")
    stop_at: Time | None = Field(
        default=None, alias="stopAt",
        description="When to stop the task (RFC 3339 with a timezone), whatever the "
                    "channel is doing; after it the phase is Stopped (ScheduleEnded) and "
                    "nothing restarts. Must be after startAt. Omitted: run until deleted "
                    "or suspended.")

    @field_validator("start_at", "stop_at", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        """Optional means "may be left out", not "may be null": the schema has no nullable."""
        if value is None:
            raise PydanticCustomError("not_null", "must not be null")
        return value

    @field_validator("stop_at")
    @classmethod
    def _after_start(cls, value: str, info: ValidationInfo) -> str:
        start = info.data.get("start_at")
        if isinstance(start, str) and _utc(value) <= _utc(start):
            raise ValueError("must be after schedule.startAt")
        return value

    def start_time(self) -> datetime | None:
        return parse_time(self.start_at)

    def stop_time(self) -> datetime | None:
        return parse_time(self.stop_at)
