"""Short hashes of the parameters a running task was started or updated with.

Comparing hashes (not values) keeps the stream URL's auth key out of status while still
telling whether the spec moved away from what the service runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from mpu_operator.core.model import UpdateKind
from mpu_operator.rtc.params import LayoutParams, StartParams, UpdateTaskParams
from mpu_operator.streamurl import stream_key


def _digest(value: object) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def layout_fingerprint(layout: LayoutParams) -> str:
    return _digest({
        "ids": list(layout.layout_ids), "crop": layout.crop_mode,
        "bg": layout.background_color,
        "panes": [[p.pane_id, p.user_id, p.source_type] for p in layout.user_panes],
    })


#: StartParams fields a live task takes without a restart, by the update that carries
#: them (each kind has its own fingerprint). Every other field is immutable: a field added
#: to StartParams restarts the task when it changes unless it is listed here.
#: UpdateMPUTask carries the layout too; the layout's pane images and texts only go with it
#: (they count in ``task_fingerprint``, not in ``layout_fingerprint``).
UPDATABLE: Mapping[str, UpdateKind] = MappingProxyType({
    "layout": UpdateKind.LAYOUT,
    "subscribe_users": UpdateKind.TASK, "backgrounds": UpdateKind.TASK,
    "watermarks": UpdateKind.TASK, "clock_widgets": UpdateKind.TASK,
    "subscribe": UpdateKind.TASK, "unsubscribe": UpdateKind.TASK,
})
#: The UpdateTaskParams fields ``task_fingerprint`` covers (the layout is counted apart).
_TASK_FIELDS = tuple(name for name, kind in UPDATABLE.items() if kind is UpdateKind.TASK)
#: Not a setting: the TaskId changes with every incarnation (its base counts instead).
_NOT_SETTINGS = frozenset({"task_id"})
#: The StartParams fields when this digest's form was fixed (0.2.0). A field added since
#: counts only when it differs from its default, so that its arrival alone does not move
#: the fingerprint of live tasks and restart every broadcast on upgrade.
_FIELDS_0_2 = frozenset({"app_id", "channel_id", "stream_url", "media_encode",
                         "task_profile", "subscribe_users"})


def immutable_fields(start: StartParams) -> dict[str, object]:
    """The start parameters no update can carry, by field name (the URL still whole)."""
    return {f.name: getattr(start, f.name) for f in dataclasses.fields(start)
            if f.name not in UPDATABLE and f.name not in _NOT_SETTINGS
            and (f.name in _FIELDS_0_2 or not _at_default(f, getattr(start, f.name)))}


def _at_default(f: dataclasses.Field[Any], value: object) -> bool:
    if f.default is not dataclasses.MISSING:
        return bool(value == f.default)
    if f.default_factory is not dataclasses.MISSING:
        return bool(value == f.default_factory())
    return False


def immutable_fingerprint(start: StartParams, task_id_base: str) -> str:
    """Every start parameter no update can change, so a field added to StartParams counts
    without anyone listing it. The URL counts without its query: a rotated auth key is
    used at the next start and does not interrupt a live broadcast."""
    values = immutable_fields(start)
    values["stream_url"] = str(stream_key(start.stream_url))
    values["task_id_base"] = task_id_base
    return _digest(values)


def legacy_immutable_fingerprint(start: StartParams, task_id_base: str) -> str:
    """The hand-listed fingerprint of releases up to 0.1.0, still stored in the status of
    tasks they started: recognised so that an upgrade does not restart live broadcasts."""
    return _digest({
        "app": start.app_id, "channel": start.channel_id,
        "url": str(stream_key(start.stream_url)), "encode": start.media_encode,
        "profile": start.task_profile, "subs": list(start.subscribe_users),
        "taskId": task_id_base,
    })


def immutable_fingerprint_0_2(start: StartParams, task_id_base: str) -> str:
    """The form of 0.2, when ``subscribeUsers`` could only change with a restart (it was
    immutable, and no overlay reached the service), still stored in the status of tasks
    started before UpdateMPUTask was used: recognised so that an upgrade restarts none."""
    values = immutable_fields(start)
    values["subscribe_users"] = start.subscribe_users
    values["stream_url"] = str(stream_key(start.stream_url))
    values["task_id_base"] = task_id_base
    return _digest(values)


def current_immutable(start: StartParams, task_id_base: str, applied: str | None) -> str:
    """The fingerprint to compare a task against: the applied one when it is an earlier
    form of the same parameters, else today's. (A task of an earlier form restarts at the
    first edit of ``subscribeUsers``: its digest cannot tell which field moved.)"""
    if applied is not None and applied in (legacy_immutable_fingerprint(start, task_id_base),
                                           immutable_fingerprint_0_2(start, task_id_base)):
        return applied
    return immutable_fingerprint(start, task_id_base)


def task_fingerprint(task: UpdateTaskParams) -> str:
    """What UpdateMPUTask carries beyond the layout: overlays, subscriptions, and the
    panes' images and texts. Only what differs from its default counts, so a task
    without overlays has the same digest as one started before they existed."""
    values: dict[str, object] = {
        f.name: getattr(task, f.name) for f in dataclasses.fields(task)
        if f.name in _TASK_FIELDS and not _at_default(f, getattr(task, f.name))}
    panes = [[p.pane_id, p.images, p.texts] for p in task.layout.user_panes
             if p.has_overlays]
    if panes:
        values["pane_overlays"] = panes
    return _digest(values)


def task_baseline(task: UpdateTaskParams) -> str:
    """What a task started by a release without UpdateMPUTask carries (a record without
    ``applied_task``): the subscribers it was started with (its immutable digest holds
    them) and no overlays, which those releases never sent."""
    bare = dataclasses.replace(task.layout, user_panes=())
    return task_fingerprint(UpdateTaskParams(bare, subscribe_users=task.subscribe_users))
