"""Every field of ``Record`` survives the trip through ``status`` (and through JSON).

The operator keeps no state but the object's status: a field that does not come back is
forgotten by the next reconcile or a restarted operator (a reset back-off, a lost
``stopRequested`` that turns our own stop into a "failure"). The fields are iterated with
``dataclasses.fields`` so that a field added later is covered without touching this file;
a field of a type with no strategy below fails loudly instead of being skipped.
"""

from __future__ import annotations

import dataclasses
import json
import time
import types
import typing
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpu_operator.core.model import Record, StopCause, TaskState, UrlFailure
from mpu_operator.core.status import record_from_status, record_to_status

HINTS = typing.get_type_hints(Record)
FIELDS = [f.name for f in dataclasses.fields(Record)]

#: Offsets of the zones a datetime may come in with: it must come back as the same instant.
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))])
_BASE: dict[Any, st.SearchStrategy[Any]] = {
    str: st.text(min_size=1, max_size=20),
    int: st.integers(min_value=0, max_value=2**31),
    bool: st.booleans(),
    datetime: st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                           timezones=ZONES),
}
_BASE[tuple[UrlFailure, ...]] = st.lists(
    st.builds(UrlFailure, _BASE[str], _BASE[datetime], _BASE[int]),
    max_size=3).map(tuple)


def strategy_for(hint: Any) -> st.SearchStrategy[Any]:
    """Values of a field's type; ``X | None`` also gives None."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return st.one_of(*(strategy_for(arg) for arg in typing.get_args(hint)))
    if hint is type(None):
        return st.none()
    if isinstance(hint, type) and issubclass(hint, Enum):
        return st.sampled_from(list(hint))
    if hint in _BASE:
        return _BASE[hint]
    raise AssertionError(f"no strategy for Record field type {hint!r}: add one to _BASE")


def _non_default(hint: Any) -> st.SearchStrategy[Any]:
    """A value other than the falsy default: what a lost field would turn into."""
    return strategy_for(hint).filter(lambda v: v not in (None, 0, False, TaskState.NONE, ()))


RECORDS = st.builds(Record, **{name: strategy_for(HINTS[name]) for name in FIELDS})


def through_json(status: dict[str, Any]) -> dict[str, Any]:
    """What the API server hands back: plain JSON (raises on anything else)."""
    result: dict[str, Any] = json.loads(json.dumps(status, allow_nan=False))
    return result


@settings(max_examples=200, deadline=None)
@given(RECORDS)
def test_every_record_comes_back_from_its_status(record: Record) -> None:
    assert record_from_status(through_json(record_to_status(record))) == record


@pytest.mark.parametrize("name", FIELDS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_each_field_alone_comes_back(name: str, data: st.DataObject) -> None:
    """One field set, all others at their defaults: nothing else may mask it."""
    value = data.draw(_non_default(HINTS[name]), label=name)
    record = Record(**{name: value})
    back = record_from_status(through_json(record_to_status(record)))
    assert getattr(back, name) == value
    assert back == record


def sample(hint: Any) -> Any:
    """One fixed non-default value of a field's type."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return sample(next(a for a in typing.get_args(hint) if a is not type(None)))
    if isinstance(hint, type) and issubclass(hint, Enum):
        return list(hint)[-1]
    fixed = {str: "x", int: 7, bool: True, datetime: datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
             tuple[UrlFailure, ...]: (UrlFailure("rtmp://h/p", datetime(2026, 1, 2, tzinfo=UTC),
                                                 5),)}
    assert hint in fixed, f"no sample for Record field type {hint!r}"
    return fixed[hint]


@pytest.mark.parametrize("name", FIELDS)
def test_each_field_shows_in_the_status(name: str) -> None:
    """A changed field changes the written status: it is persisted, not just defaulted."""
    value = sample(HINTS[name])
    assert record_to_status(Record(**{name: value})) != record_to_status(Record())


def test_the_status_layout_is_the_documented_one() -> None:
    """Users (and kubectl columns) read the top-level keys; the rest is ``internal``."""
    status = record_to_status(Record())
    assert set(status) == {"taskId", "incarnation", "remoteStatus", "remoteStatusText",
                           "restartCount", "startedAt", "stoppedAt", "lastPolledAt",
                           "nextAttemptAt", "activeStreamURL", "failovers", "internal"}
    assert set(status["internal"]) == {
        "state", "changedAt", "stopCause", "stopRequested", "appliedImmutable",
        "appliedLayout", "appliedTask", "streamKey", "appId", "failures", "errorCode",
        "errorMessage",
        "errorTerminal", "errorGeneration", "errorAttempts", "retryStart",
        "unconfirmedSince", "credentialsSecret", "urlIndex", "urlFailures", "releasedKey",
        "releasedAt"}


def test_a_written_status_reads_back_field_by_field() -> None:
    """Hand-written status (as an older operator wrote it) gives the expected record."""
    status = {
        "taskId": "ns-a-1", "incarnation": 3, "remoteStatus": 5, "restartCount": 2,
        "startedAt": "2026-11-25T12:00:00Z", "stoppedAt": "2026-11-25T12:01:00.500000Z",
        "lastPolledAt": "2026-11-25T12:01:01+00:00", "nextAttemptAt": "2026-11-25T13:01:00",
        "internal": {"state": "Stopped", "changedAt": "2026-11-25T12:00:59Z",
                     "stopCause": "Remote", "stopRequested": True, "appliedImmutable": "i",
                     "appliedLayout": "l", "streamKey": "rtmp://h/p", "appId": "app",
                     "failures": 4, "errorCode": "E", "errorMessage": "m",
                     "errorTerminal": True, "errorGeneration": 7, "errorAttempts": 6},
    }
    t = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert record_from_status(status) == Record(
        task_id="ns-a-1", incarnation=3, state=TaskState.STOPPED, remote_status=5,
        started_at=t, stopped_at=t + timedelta(seconds=60.5),
        last_polled_at=t + timedelta(seconds=61), changed_at=t + timedelta(seconds=59),
        next_attempt_at=t + timedelta(hours=1, minutes=1), stop_cause=StopCause.REMOTE,
        stop_requested=True, applied_immutable="i", applied_layout="l",
        stream_key="rtmp://h/p", app_id="app", restart_count=2, failures=4, error_code="E",
        error_message="m", error_terminal=True, error_generation=7, error_attempts=6)


@pytest.mark.parametrize("junk", [True, False, "3", 2.5, [1], {"a": 1}, ""])
def test_counters_of_the_wrong_type_read_as_zero(junk: object) -> None:
    status = {"incarnation": junk, "restartCount": junk, "remoteStatus": junk,
              "internal": {"failures": junk, "errorAttempts": junk, "errorGeneration": junk,
                           "changedAt": junk}}
    record = record_from_status(status)
    assert (record.incarnation, record.restart_count, record.failures,
            record.error_attempts) == (0, 0, 0, 0)
    assert (record.remote_status, record.error_generation, record.changed_at) == \
        (None, None, None)


@pytest.mark.parametrize("junk", [5, True, "", ["a"], {"a": "b"}])
def test_texts_of_the_wrong_type_read_as_unknown(junk: object) -> None:
    record = record_from_status({"taskId": junk, "internal": {
        "errorCode": junk, "errorMessage": junk, "streamKey": junk, "appId": junk,
        "appliedImmutable": junk, "appliedLayout": junk, "state": junk, "stopCause": junk}})
    assert record == Record()


def test_timestamps_are_written_in_utc_with_a_z() -> None:
    shanghai = datetime(2026, 11, 25, 20, 0, 0, 250, tzinfo=timezone(timedelta(hours=8)))
    status = record_to_status(Record(started_at=shanghai))
    assert status["startedAt"] == "2026-11-25T12:00:00.000250Z"


def test_timestamps_are_written_in_utc_whatever_the_local_zone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        local_noon = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
        assert record_to_status(Record(stopped_at=local_noon))["stoppedAt"] == \
            "2026-11-25T12:00:00.000000Z"
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-25T12:00:00Z", datetime(2026, 11, 25, 12, tzinfo=UTC)),
    ("2026-11-25T12:00:00", datetime(2026, 11, 25, 12, tzinfo=UTC)),  # naive means UTC
    ("2026-11-25T14:00:00+02:00", datetime(2026, 11, 25, 12, tzinfo=UTC)),
    ("2026-11-25T12:00:00.5Z", datetime(2026, 11, 25, 12, 0, 0, 500000, tzinfo=UTC)),
])
def test_timestamps_are_read_in_the_forms_kubernetes_and_we_write(
        text: str, expected: datetime) -> None:
    parsed = record_from_status({"startedAt": text}).started_at
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is not None


@pytest.mark.parametrize("junk", ["", "yesterday", "2026-13-01T00:00:00Z", 1700000000, None])
def test_unreadable_timestamps_read_as_unknown(junk: object) -> None:
    assert record_from_status({"startedAt": junk}).started_at is None
