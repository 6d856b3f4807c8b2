"""Fingerprints: every start parameter counts, every layout parameter counts, and the
values are stable across operator versions.

Why pin the values: status keeps the fingerprint a task was started with. If a new
operator computes another value for the same spec, it sees a spec change on every live
task and restarts every broadcast in the cluster on upgrade. Change the pinned values
only together with a migration (or knowingly accepting that restart).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from mpu_operator.core.fingerprint import (
    current_immutable,
    immutable_fingerprint,
    layout_fingerprint,
    legacy_immutable_fingerprint,
)
from mpu_operator.rtc.params import LayoutParams, StartParams, UserPane

LAYOUT = LayoutParams((1, 6), crop_mode=1, background_color=255,
                      user_panes=(UserPane(0, "alice"), UserPane(1, "bob", "shareScreen")))
START = StartParams("app", "chan", "", "rtmp://push.example.com/live/show?auth_key=S", LAYOUT,
                    20, "4IN_720P", ("alice", "bob"))
BASE = "ns-show-0bfe935e"

#: Start parameters that are not the immutable fingerprint's business.
NOT_IMMUTABLE = {"layout": "UpdateMPULayout changes it live (layout_fingerprint)",
                 "task_id": "blank here: the TaskId base is passed on its own"}


def test_the_pinned_values_hold() -> None:
    """A changed formula restarts every live task on upgrade: these must not move. The
    legacy value is what 0.1.0 stored in status; it must still be recognised."""
    assert layout_fingerprint(LAYOUT) == "98117540590b9132"
    assert immutable_fingerprint(START, BASE) == "921e8cb4251ccd90"
    assert legacy_immutable_fingerprint(START, BASE) == "8474b0bc47c78f0e"
    assert current_immutable(START, BASE, "8474b0bc47c78f0e") == "8474b0bc47c78f0e"
    assert current_immutable(START, BASE, "0000000000000000") == "921e8cb4251ccd90"


def _other(value: Any) -> Any:
    """A different value of the same type."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "-x" if not value.startswith("rtmp") else value.replace("show", "other")
    if isinstance(value, tuple):
        return (*value, "carol") if all(isinstance(v, str) for v in value) else value[:-1]
    raise AssertionError(f"no other value for {value!r}: extend _other")


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(StartParams)
                                  if f.name not in NOT_IMMUTABLE])
def test_every_start_parameter_changes_the_immutable_fingerprint(name: str) -> None:
    changed = dataclasses.replace(START, **{name: _other(getattr(START, name))})
    assert immutable_fingerprint(changed, BASE) != immutable_fingerprint(START, BASE)


def test_the_task_id_base_changes_the_immutable_fingerprint() -> None:
    assert immutable_fingerprint(START, BASE + "x") != immutable_fingerprint(START, BASE)


def test_subscriber_order_matters_but_the_auth_key_does_not() -> None:
    swapped = dataclasses.replace(START, subscribe_users=("bob", "alice"))
    assert immutable_fingerprint(swapped, BASE) != immutable_fingerprint(START, BASE)
    rotated = dataclasses.replace(START, stream_url=START.stream_url.replace("=S", "=T"))
    assert immutable_fingerprint(rotated, BASE) == "921e8cb4251ccd90"


def test_a_layout_change_is_not_an_immutable_change() -> None:
    moved = dataclasses.replace(START, layout=dataclasses.replace(LAYOUT, crop_mode=2))
    assert immutable_fingerprint(moved, BASE) == "921e8cb4251ccd90"


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(LayoutParams)])
def test_every_layout_parameter_changes_the_layout_fingerprint(name: str) -> None:
    changed = dataclasses.replace(LAYOUT, **{name: _other(getattr(LAYOUT, name))})
    assert layout_fingerprint(changed) != "98117540590b9132"


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(UserPane)])
def test_every_pane_parameter_changes_the_layout_fingerprint(name: str) -> None:
    first = LAYOUT.user_panes[0]
    pane = dataclasses.replace(first, **{name: _other(getattr(first, name))})
    changed = dataclasses.replace(LAYOUT, user_panes=(pane, *LAYOUT.user_panes[1:]))
    assert layout_fingerprint(changed) != "98117540590b9132"
