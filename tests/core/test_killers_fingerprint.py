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
    UPDATABLE,
    current_immutable,
    immutable_fields,
    immutable_fingerprint,
    layout_fingerprint,
    legacy_immutable_fingerprint,
)
from mpu_operator.core.model import UpdateKind
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


def _with_new_field(spec: Any) -> type:
    """StartParams with one field more, as the next release may add it."""
    return dataclasses.make_dataclass("Later", [("extra", tuple, spec)], bases=(StartParams,),
                                      frozen=True)


@pytest.mark.parametrize("spec", [
    dataclasses.field(default=(), kw_only=True),
    dataclasses.field(default_factory=tuple, kw_only=True),
], ids=["default", "default_factory"])
def test_a_new_field_is_immutable_but_its_default_keeps_live_tasks(spec: Any) -> None:
    """A field added to StartParams restarts the task when it changes, with nobody listing
    it; at its default it leaves the fingerprints that live tasks carry as they were."""
    later = _with_new_field(spec)
    fields = {f.name: getattr(START, f.name) for f in dataclasses.fields(StartParams)}
    assert immutable_fingerprint(later(**fields), BASE) == "921e8cb4251ccd90"
    assert immutable_fingerprint(later(**fields, extra=("logo",)), BASE) != \
        "921e8cb4251ccd90"


def test_a_new_field_without_a_default_always_counts() -> None:
    later = _with_new_field(dataclasses.field(kw_only=True))
    fields = {f.name: getattr(START, f.name) for f in dataclasses.fields(StartParams)}
    assert immutable_fingerprint(later(**fields, extra=()), BASE) != "921e8cb4251ccd90"


def test_the_fields_of_0_2_count_even_at_their_default() -> None:
    """Tasks started by 0.2 with no subscribers carry a digest that names the field."""
    none = dataclasses.replace(START, subscribe_users=())
    assert immutable_fingerprint(none, BASE) == "f4d17a0aa42a5fb7"


def test_only_the_layout_is_updatable_today() -> None:
    """What an update carries is named with the update kind that carries it."""
    assert dict(UPDATABLE) == {"layout": UpdateKind.LAYOUT}
    assert set(immutable_fields(START)) == {"app_id", "channel_id", "stream_url",
                                            "media_encode", "task_profile",
                                            "subscribe_users"}
