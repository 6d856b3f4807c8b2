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
    immutable_fingerprint_0_2,
    layout_fingerprint,
    legacy_immutable_fingerprint,
    task_baseline,
    task_fingerprint,
)
from mpu_operator.core.model import UpdateKind
from mpu_operator.rtc.params import (
    UPDATABLE_FIELDS,
    LayoutParams,
    MediaUsers,
    Picture,
    SingleSource,
    StartParams,
    UpdateTaskParams,
    UserPane,
)

LAYOUT = LayoutParams((1, 6), crop_mode=1, background_color=255,
                      user_panes=(UserPane(0, "alice"), UserPane(1, "bob", "shareScreen")))
START = StartParams("app", "chan", "", "rtmp://push.example.com/live/show?auth_key=S", LAYOUT,
                    20, "4IN_720P", ("alice", "bob"))
BASE = "ns-show-0bfe935e"

#: Start parameters that are not the immutable fingerprint's business: what an update
#: carries (UPDATABLE), and the TaskId.
NOT_IMMUTABLE = {**UPDATABLE, "task_id": "blank here: the TaskId base is passed on its own"}
NOW = "89d801fd16e03dcb"  # immutable_fingerprint(START, BASE), since UpdateMPUTask is used
TASK = "3359ea1c31b0d44e"  # task_fingerprint(START.update_params()): its two subscribers


def test_the_pinned_values_hold() -> None:
    """A changed formula restarts every live task on upgrade: these must not move. The
    earlier forms are what 0.1.0 and 0.2 stored in status; they must still be recognised."""
    assert layout_fingerprint(LAYOUT) == "98117540590b9132"
    assert immutable_fingerprint(START, BASE) == NOW
    assert task_fingerprint(START.update_params()) == TASK
    assert task_fingerprint(UpdateTaskParams(LayoutParams(()))) == "44136fa355b3678a"
    assert legacy_immutable_fingerprint(START, BASE) == "8474b0bc47c78f0e"
    assert immutable_fingerprint_0_2(START, BASE) == "921e8cb4251ccd90"
    assert current_immutable(START, BASE, "8474b0bc47c78f0e") == "8474b0bc47c78f0e"
    assert current_immutable(START, BASE, "921e8cb4251ccd90") == "921e8cb4251ccd90"
    assert current_immutable(START, BASE, "0000000000000000") == NOW
    assert current_immutable(START, BASE, None) == NOW


def test_an_earlier_form_is_recognised_only_for_the_same_parameters() -> None:
    """A task of 0.2 whose subscribers changed can't tell which field moved: it restarts."""
    moved = dataclasses.replace(START, subscribe_users=("carol",))
    assert current_immutable(moved, BASE, "921e8cb4251ccd90") == \
        immutable_fingerprint(moved, BASE) != "921e8cb4251ccd90"
    assert current_immutable(moved, BASE, "8474b0bc47c78f0e") == \
        immutable_fingerprint(moved, BASE)


def _other(value: Any) -> Any:
    """A different value of the same type."""
    if value is None:
        return SingleSource()
    if isinstance(value, MediaUsers):
        return MediaUsers(share_screen_users=("carol",))
    if isinstance(value, LayoutParams):
        return dataclasses.replace(value, crop_mode=value.crop_mode + 1)
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


#: UpdateTaskParams fields that are not the task fingerprint's business.
NOT_TASK = {"layout": "its own fingerprint; only the panes' images and texts count here",
            "mix_mode": "restarts the task (immutable)", "single": "restarts the task"}


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(UpdateTaskParams)
                                  if f.name not in NOT_TASK])
def test_every_task_parameter_changes_the_task_fingerprint(name: str) -> None:
    params = START.update_params()
    changed = dataclasses.replace(params, **{name: _other(getattr(params, name))})
    assert task_fingerprint(changed) != TASK


def test_what_an_update_carries_is_not_immutable() -> None:
    """Each StartParams field is the business of exactly one fingerprint."""
    changed = dataclasses.replace(START, **{name: _other(getattr(START, name))
                                            for name in UPDATABLE})
    assert immutable_fingerprint(changed, BASE) == NOW
    assert not set(UPDATABLE) & set(immutable_fields(changed))


def test_subscriber_order_matters_but_the_auth_key_does_not() -> None:
    swapped = dataclasses.replace(START, subscribe_users=("bob", "alice"))
    assert task_fingerprint(swapped.update_params()) != TASK
    rotated = dataclasses.replace(START, stream_url=START.stream_url.replace("=S", "=T"))
    assert immutable_fingerprint(rotated, BASE) == NOW


def test_a_layout_change_is_not_an_immutable_change() -> None:
    moved = dataclasses.replace(START, layout=dataclasses.replace(LAYOUT, crop_mode=2))
    assert immutable_fingerprint(moved, BASE) == NOW
    assert task_fingerprint(moved.update_params()) == TASK


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(LayoutParams)])
def test_every_layout_parameter_changes_the_layout_fingerprint(name: str) -> None:
    changed = dataclasses.replace(LAYOUT, **{name: _other(getattr(LAYOUT, name))})
    assert layout_fingerprint(changed) != "98117540590b9132"


#: Which update carries each pane parameter: images and texts only go with UpdateMPUTask.
PANE_KIND = {"pane_id": UpdateKind.LAYOUT, "user_id": UpdateKind.LAYOUT,
             "source_type": UpdateKind.LAYOUT, "images": UpdateKind.TASK,
             "texts": UpdateKind.TASK}


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(UserPane)])
def test_every_pane_parameter_changes_the_fingerprint_of_its_update(name: str) -> None:
    """The layout fingerprint is what UpdateMPULayout sends; the rest is UpdateMPUTask's."""
    assert set(PANE_KIND) == {f.name for f in dataclasses.fields(UserPane)}, \
        "a new pane parameter needs a row in PANE_KIND"
    first = LAYOUT.user_panes[0]
    pane = dataclasses.replace(first, **{name: _other(getattr(first, name))})
    changed = dataclasses.replace(LAYOUT, user_panes=(pane, *LAYOUT.user_panes[1:]))
    moved = {UpdateKind.LAYOUT: layout_fingerprint(changed) != "98117540590b9132",
             UpdateKind.TASK: task_fingerprint(UpdateTaskParams(changed)) !=
             task_fingerprint(UpdateTaskParams(LAYOUT))}
    assert moved[PANE_KIND[name]]
    if PANE_KIND[name] is UpdateKind.TASK:
        assert not moved[UpdateKind.LAYOUT], "UpdateMPULayout does not carry it"


def test_pane_overlays_count_by_value_and_their_digest_is_pinned() -> None:
    """Which image a pane carries counts, not only that it carries one."""
    def with_image(url: str) -> UpdateTaskParams:
        image = Picture(url, 0.0, 0.8, 1.0, 0.2)
        pane = dataclasses.replace(LAYOUT.user_panes[0], images=(image,))
        return UpdateTaskParams(dataclasses.replace(LAYOUT, user_panes=(pane,)))
    plate = with_image("https://cdn.example.com/plate.png")
    assert task_fingerprint(plate) == "a6facfa9f7c9d367"
    assert task_fingerprint(with_image("https://cdn.example.com/other.png")) != \
        task_fingerprint(plate)


def test_a_task_without_overlays_fingerprints_as_one_started_before_them() -> None:
    """A record without applied_task (an earlier release) is taken to carry its
    subscribers and no overlays: no UpdateMPUTask for it after an upgrade."""
    plain = START.update_params()
    assert task_baseline(plain) == TASK
    logo = dataclasses.replace(plain, watermarks=_other(plain.watermarks))
    assert task_baseline(logo) == TASK != task_fingerprint(logo)
    with_images = UpdateTaskParams(dataclasses.replace(
        LAYOUT, user_panes=(dataclasses.replace(LAYOUT.user_panes[0], images=("x",)),)))
    assert task_baseline(with_images) == "44136fa355b3678a"


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
    assert immutable_fingerprint(later(**fields), BASE) == NOW
    assert immutable_fingerprint(later(**fields, extra=("logo",)), BASE) != NOW


def test_a_new_field_without_a_default_always_counts() -> None:
    later = _with_new_field(dataclasses.field(kw_only=True))
    fields = {f.name: getattr(START, f.name) for f in dataclasses.fields(StartParams)}
    assert immutable_fingerprint(later(**fields, extra=()), BASE) != NOW


def test_the_fields_of_0_2_count_even_at_their_default() -> None:
    """Tasks started by 0.2 with no subscribers carry a digest that names the field, and
    it is still recognised."""
    none = dataclasses.replace(START, subscribe_users=())
    assert immutable_fingerprint_0_2(none, BASE) == "f4d17a0aa42a5fb7"
    assert current_immutable(none, BASE, "f4d17a0aa42a5fb7") == "f4d17a0aa42a5fb7"


def test_what_each_update_carries() -> None:
    """What an update carries is named with the update kind that carries it; the mix mode
    and its source, though UpdateMPUTask could send them, restart the task."""
    task = UpdateKind.TASK
    assert dict(UPDATABLE) == {"layout": UpdateKind.LAYOUT, "subscribe_users": task,
                               "backgrounds": task, "watermarks": task,
                               "clock_widgets": task, "subscribe": task, "unsubscribe": task}
    assert set(UPDATABLE_FIELDS) - set(UPDATABLE) == {"mix_mode", "single"}
    assert set(immutable_fields(START)) == {"app_id", "channel_id", "stream_url",
                                            "media_encode", "task_profile"}
