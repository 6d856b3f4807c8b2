"""Plain builders for core tests: a desired state, a record, a situation, at a fixed clock."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from mpu_operator.core import fingerprint
from mpu_operator.core.decide import Situation, Start
from mpu_operator.core.ledger import Ledger
from mpu_operator.core.model import Desired, Owner, Record, TaskState
from mpu_operator.core.rules import Free, Gate, IdClaim, UrlUse
from mpu_operator.rtc.params import LayoutParams, StartParams
from mpu_operator.streamurl import stream_key

T0 = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
URL = "rtmp://push.example.com/live/show?auth_key=SECRET123"
ME = Owner(T0 - timedelta(hours=1), "ns", "me")
#: task_fingerprint of a task without overlays or subscriptions (pinned in the killers).
EMPTY_TASK = "44136fa355b3678a"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def desired(**changes: Any) -> Desired:
    layout = changes.pop("layout", LayoutParams((1, 6)))
    start = StartParams("app", "chan", "", URL, layout, 20, "4IN_720P")
    start = dataclasses.replace(start, **changes.pop("start_changes", {}))
    base = Desired(
        app_id="app", stream_key=stream_key(start.stream_url), start=start, layout=layout,
        immutable_fingerprint=fingerprint.immutable_fingerprint(start, "ns-me-abc"),
        layout_fingerprint=fingerprint.layout_fingerprint(layout), task_id_base="ns-me-abc")
    return dataclasses.replace(base, **changes)


def start_call(task_id: str, incarnation: int, *, retry: bool = False) -> Start:
    """The Start of ``desired()``'s parameters under ``task_id``, spelt out."""
    params = StartParams("app", "chan", task_id, URL, LayoutParams((1, 6)), 20, "4IN_720P")
    return Start(params, incarnation, retry=retry)


def running_record(d: Desired | None = None, **changes: Any) -> Record:
    """A task started at T0-60s that the service reported running at T0-1s."""
    d = d or desired()
    base = Record(task_id="ns-me-abc-1", incarnation=1,
                  state=changes.pop("state", TaskState.ACTIVE), remote_status=1,
                  started_at=at(-60), last_polled_at=at(-1), changed_at=at(-60),
                  applied_immutable=d.immutable_fingerprint,
                  applied_layout=d.layout_fingerprint, stream_key=str(d.stream_key),
                  app_id="app")
    return base.replace(**changes)


def situation(record: Record | None = None, d: Desired | None = None, *,
              gate: Gate | None = None, now: float = 0.0, poll_in: float = 10.0,
              **changes: Any) -> Situation:
    problems = changes.pop("problems", ())
    invalid = changes.pop("invalid", False)
    return Situation(
        desired=None if invalid else (d or desired()), problems=problems,
        record=record if record is not None else Record(), generation=changes.pop("generation", 1),
        deleting=changes.pop("deleting", False),
        deletion_policy=changes.pop("deletion_policy", "Delete"), gate=gate or Free(),
        quota_ok=changes.pop("quota_ok", True), now=at(now), poll_at=at(now + poll_in),
        recheck_at=at(now + 5), **changes)


def live_desired(**start_changes: Any) -> Desired:
    """``desired()`` that knows what UpdateMPUTask would carry (as the shell builds it):
    ``task`` is its start's ``update_params()``, the layout its start's."""
    d = desired(start_changes=start_changes)
    assert d.start is not None
    layout = d.start.layout
    return dataclasses.replace(d, layout=layout, task=d.start.update_params(),
                               layout_fingerprint=fingerprint.layout_fingerprint(layout))


def live_record(d: Desired, **changes: Any) -> Record:
    """``running_record(d)`` of a task started by this release, with ``d``'s overlays."""
    assert d.task is not None
    return running_record(d, applied_task=fingerprint.task_fingerprint(d.task), **changes)


def shows(ledger: Ledger, *uses: UrlUse, claims: Iterable[IdClaim] = (),
          alive: Iterable[Owner] = ()) -> Ledger:
    """Let ``ledger`` see what the cluster shows: each owner's uses and claim (as the index
    handler tells it), and ``alive`` owners that show neither."""
    by_owner: dict[Owner, list[UrlUse]] = {owner: [] for owner in alive}
    for use in uses:
        by_owner.setdefault(use.owner, []).append(use)
    claimed = {claim.owner: claim for claim in claims}
    for owner in by_owner.keys() | claimed.keys():
        ledger.observe(owner, by_owner.get(owner, []), claimed.get(owner))
    return ledger
