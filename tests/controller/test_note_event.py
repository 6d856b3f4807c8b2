"""The echo of a daemon's own status write wakes nobody; a user's change and anyone
else's status do."""

from __future__ import annotations

from typing import Any

from mpu_operator.controller.reconciler import ObjectState, note_event

Status = dict[str, Any]


def _body(generation: int, status: Status | None, **meta: Any) -> dict[str, Any]:
    return {"metadata": {"generation": generation, **meta}, "status": status}


def test_the_echo_of_our_own_status_write_does_not_wake_the_daemon() -> None:
    obj = ObjectState()
    note_event(obj, _body(1, None))  # the first event: a new generation
    assert obj.urgent.is_set() and obj.wake.is_set()
    obj.urgent.clear()
    obj.wake.clear()
    obj.last_status = {"phase": "Starting"}
    note_event(obj, _body(1, {"phase": "Starting"}))  # our own write, echoed
    assert not obj.wake.is_set() and not obj.urgent.is_set()
    note_event(obj, _body(1, {"phase": "Running"}))  # someone else's word: look again
    assert obj.wake.is_set() and not obj.urgent.is_set()
    obj.wake.clear()
    note_event(obj, _body(2, {"phase": "Starting"}))  # a user's edit, whatever the status
    assert obj.wake.is_set() and obj.urgent.is_set()
    obj.wake.clear()
    obj.urgent.clear()
    note_event(obj, _body(2, {"phase": "Starting"}, deletionTimestamp="2026-11-27T00:00:00Z"))
    assert obj.wake.is_set() and obj.urgent.is_set()


def test_an_event_before_any_write_of_ours_wakes_the_daemon() -> None:
    obj = ObjectState()
    obj.seen_generation = 1
    note_event(obj, _body(1, {}))
    assert obj.wake.is_set() and not obj.urgent.is_set()
