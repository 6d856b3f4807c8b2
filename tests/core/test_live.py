"""Overlays and subscriptions applied live (#10 part 1): which change becomes which call.

One row per rule: UpdateMPUTask for what only it carries (with the layout, when that moved
too), UpdateMPULayout for a layout-only change, a restart for what no update carries, and
nothing at all for records of a release that knew no UpdateMPUTask.
"""

from __future__ import annotations

import dataclasses

import pytest

from mpu_operator.core import fingerprint
from mpu_operator.core import transitions as tr
from mpu_operator.core.decide import Stop, Update, Wait, decide, in_sync
from mpu_operator.core.model import Phase, Record, StopCause, UpdateKind
from mpu_operator.core.status import record_from_status, record_to_status
from mpu_operator.rtc.params import (
    ClockWidget,
    LayoutParams,
    MediaUsers,
    PaneText,
    Picture,
    SingleSource,
    UserPane,
    Watermark,
)

from .fixtures import EMPTY_TASK, at, desired, live_desired, live_record, situation

TASK_ID = "ns-me-abc-1"
LOGO = Watermark("https://cdn.example.com/logo.png?sig=S", 0.8, 0.05, 0.15, 0.1, alpha=0.7)
PANES = LayoutParams((1, 6), user_panes=(UserPane(0, "alice"),))
PLATE = Picture("https://cdn.example.com/plate.png", 0.0, 0.8, 1.0, 0.2)


def _expect_task(d, record: Record | None = None) -> Update:
    assert d.task is not None
    return Update("app", TASK_ID, UpdateKind.TASK, d.task, fingerprint.task_fingerprint(d.task),
                  also=((UpdateKind.LAYOUT, d.layout_fingerprint),))


def _decide(record: Record, d) -> object:
    return decide(situation(record, d))


def _runs_on(action: object) -> bool:
    """The decision to call nothing: the task runs as the spec says."""
    return isinstance(action, Wait) and action.phase is Phase.RUNNING


@pytest.mark.parametrize("change", [
    {"watermarks": (LOGO,)},
    {"backgrounds": (Picture("https://cdn.example.com/bg.png", 0, 0, 1, 1),)},
    {"clock_widgets": (ClockWidget(0.9, 0.02),)},
    {"subscribe": MediaUsers(audio_users=("alice",))},
    {"unsubscribe": MediaUsers(camera_users=("bob",))},
    {"subscribe_users": ("alice",)},
    {"layout": dataclasses.replace(PANES, user_panes=(UserPane(0, "alice", images=(PLATE,)),))},
    {"layout": dataclasses.replace(PANES, user_panes=(
        UserPane(0, "alice", texts=(PaneText(0.1, 0.9, text="Alice"),)),))},
], ids=["watermark", "background", "clock", "subscribe", "unsubscribe", "subscribeUsers",
        "pane-image", "pane-text"])
def test_an_overlay_or_subscription_edit_is_one_update_mpu_task(change) -> None:
    before = live_desired(layout=PANES)
    after = live_desired(**{"layout": PANES, **change})
    assert after.immutable_fingerprint == before.immutable_fingerprint
    assert _decide(live_record(before), after) == _expect_task(after)


def test_a_layout_only_edit_stays_update_mpu_layout() -> None:
    before = live_desired()
    after = live_desired(layout=LayoutParams((1, 6, 8), crop_mode=1, background_color=255,
                                             user_panes=(UserPane(0, "bob"),)))
    assert _decide(live_record(before), after) == Update(
        "app", TASK_ID, UpdateKind.LAYOUT, after.layout, after.layout_fingerprint)


def test_a_layout_edit_beside_an_overlay_edit_is_one_update_mpu_task() -> None:
    before = live_desired()
    after = live_desired(layout=LayoutParams((1, 6, 8)), watermarks=(LOGO,))
    update = _decide(live_record(before), after)
    assert update == _expect_task(after)
    assert isinstance(update, Update) and update.params.layout == LayoutParams((1, 6, 8))


def test_a_layout_edit_while_panes_carry_images_is_update_mpu_task() -> None:
    """UpdateMPULayout sends no pane images: it would take them off the picture."""
    panes = (UserPane(0, "alice", images=(PLATE,)),)
    before = live_desired(layout=LayoutParams((1, 6), user_panes=panes))
    after = live_desired(layout=LayoutParams((1, 6, 8), user_panes=panes))
    assert fingerprint.task_fingerprint(after.task) == fingerprint.task_fingerprint(before.task)
    assert _decide(live_record(before), after) == _expect_task(after)


@pytest.mark.parametrize("change", [{"mix_mode": "Single", "single": SingleSource()},
                                    {"single": SingleSource("shareScreen", "AudioOnly")},
                                    {"media_encode": 30}, {"channel_id": "other"}])
def test_what_update_mpu_task_cannot_change_restarts(change) -> None:
    """Even beside an overlay edit: the restart's start carries the overlays."""
    before = live_desired()
    after = live_desired(watermarks=(LOGO,), **change)
    assert after.start is not None
    after = dataclasses.replace(after, immutable_fingerprint=fingerprint.immutable_fingerprint(
        after.start, after.task_id_base))
    assert _decide(live_record(before), after) == Stop("app", TASK_ID, StopCause.SPEC_CHANGE)


def test_nothing_changed_is_no_update() -> None:
    d = live_desired(watermarks=(LOGO,), layout=dataclasses.replace(
        PANES, user_panes=(UserPane(0, "alice", images=(PLATE,)),)))
    assert _runs_on(_decide(live_record(d), d))
    assert in_sync(live_record(d), d)


def test_without_task_params_no_update_mpu_task_is_decided() -> None:
    """A Desired that knows nothing of UpdateMPUTask (task None) is judged as before."""
    d = desired()
    assert _runs_on(_decide(live_record(live_desired()).replace(applied_task="other"), d))
    assert in_sync(live_record(live_desired()).replace(applied_task="other"), d)


# --- upgrade: records without applied_task --------------------------------------------

def test_an_upgrade_sends_no_update_to_tasks_without_overlays() -> None:
    """A record of the release before (no applied_task) carries its subscribers and no
    overlays: a spec with just those is in sync, no UpdateMPUTask storm."""
    d = live_desired(subscribe_users=("alice", "bob"))
    old = live_record(d).replace(applied_task=None)
    assert _runs_on(_decide(old, d))
    assert in_sync(old, d)


def test_an_upgrade_applies_overlays_the_release_before_never_sent() -> None:
    """Overlays that were in the spec but never sent are sent once, live, no restart."""
    d = live_desired(watermarks=(LOGO,))
    old = live_record(d).replace(applied_task=None)
    assert _decide(old, d) == _expect_task(d)
    assert not in_sync(old, d)


def test_an_upgrade_keeps_a_task_fingerprinted_in_the_0_2_form() -> None:
    """0.2 put the subscribers in the immutable digest: recognised, so no restart."""
    d = live_desired(subscribe_users=("alice",))
    assert d.start is not None
    stored = fingerprint.immutable_fingerprint_0_2(d.start, d.task_id_base)
    d = dataclasses.replace(d, immutable_fingerprint=fingerprint.current_immutable(
        d.start, d.task_id_base, stored))
    old = live_record(d).replace(applied_task=None, applied_immutable=stored)
    assert _runs_on(_decide(old, d))


def test_an_old_status_reads_back_without_an_applied_task() -> None:
    status = record_to_status(Record(applied_layout="l"))
    del status["internal"]["appliedTask"]
    assert record_from_status(status).applied_task is None
    assert record_from_status(record_to_status(Record(applied_task="t"))).applied_task == "t"


# --- outcomes ---------------------------------------------------------------------------

def test_an_update_mpu_task_brings_both_fingerprints_up_to_date() -> None:
    before = live_desired()
    after = live_desired(layout=LayoutParams((1, 6, 8)), watermarks=(LOGO,))
    update = _decide(live_record(before), after)
    assert isinstance(update, Update)
    record = tr.updated(live_record(before), update.kind, update.fingerprint, at(1),
                        update.also)
    assert record.applied_task == fingerprint.task_fingerprint(after.task)
    assert record.applied_layout == after.layout_fingerprint
    assert record.changed_at == at(1)
    assert _runs_on(_decide(record, after))


def test_a_lost_answer_resends_the_same_update() -> None:
    """No record of success: the next decision is the same UpdateMPUTask (idempotent)."""
    before = live_desired()
    after = live_desired(watermarks=(LOGO,))
    first = _decide(live_record(before), after)
    assert _decide(live_record(before), after) == first == _expect_task(after)


def test_a_start_records_what_it_carried_of_update_mpu_task() -> None:
    d = live_desired(watermarks=(LOGO,), subscribe=MediaUsers(audio_users=("a",)))
    record = tr.write_ahead(Record(), "t-1", 1, d, at(0))
    assert d.task is not None
    assert record.applied_task == fingerprint.task_fingerprint(d.task) != EMPTY_TASK


def test_a_start_without_its_url_records_the_task_params() -> None:
    d = dataclasses.replace(live_desired(watermarks=(LOGO,)), start=None)
    assert tr.write_ahead(Record(), "t-1", 1, d, at(0)).applied_task == \
        fingerprint.task_fingerprint(d.task)
    assert tr.write_ahead(Record(), "t-1", 1, desired(start=None), at(0)).applied_task is None


def test_update_also_lists_fingerprints_without_overriding_its_own() -> None:
    record = tr.updated(Record(), UpdateKind.TASK, "t", at(0),
                        ((UpdateKind.LAYOUT, "l"), (UpdateKind.TASK, "stale")))
    assert (record.applied_task, record.applied_layout) == ("t", "l")
    assert tr.updated(Record(), UpdateKind.LAYOUT, "l", at(0)).applied_task is None
