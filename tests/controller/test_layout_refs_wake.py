"""controller/layouts.py: the MPULayouts an MPUTask sees (its own namespace's, from the
index) and the wake-up of the MPUTasks that refer to a layout when it changes."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from mpu_operator.controller import handlers
from mpu_operator.controller import layouts as ctl
from mpu_operator.core import layouts as cl

STAGE = cl.KnownLayout(10001, 3, True, "app", (0, 1, 2))
BIG = cl.KnownLayout(10003, 9, True, "app", tuple(range(9)))


def test_known_for_reads_the_tasks_own_namespace_only() -> None:
    index = {("ns", "stage"): [STAGE],
             ("elsewhere", "big"): [BIG], ("ns", "junk"): ["x"]}
    task = {"metadata": {"namespace": "ns"},
            "spec": {"layout": {"layoutRefs": [{"name": n}
                                               for n in ("stage", "big", "junk", "none")]}}}
    assert ctl.known_for(index, task) == {("ns", "stage"): STAGE}
    assert ctl.known_for(None, task) == {}


def test_a_layout_change_wakes_the_tasks_of_its_namespace_that_refer_to_it() -> None:

    events = {key: asyncio.Event() for key in [("ns", "show"), ("ns", "other"),
                                               ("elsewhere", "show")]}
    handlers.task_wakers.update(events)
    try:
        refs_index = {("ns", "stage"): ["show"], ("elsewhere", "stage"): ["show"]}
        body: Any = {"metadata": {"namespace": "ns", "name": "stage"}}
        ctl.wake_layout(body=body, memo=SimpleNamespace(), mpu_layout_refs=refs_index)
        assert [k for k, e in events.items() if e.is_set()] == [("ns", "show")]
    finally:
        for key in events:
            handlers.task_wakers.pop(key, None)
