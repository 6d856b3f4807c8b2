"""Plain data the emulator passes around: what a caller asked for, already validated.

:mod:`.validation` builds these from request parameters; :mod:`.state` keeps them. Keeping
them apart from both means the state never sees a raw parameter string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .overlays import Entry, Live


@dataclass(frozen=True)
class Pane:
    """One ``UserPanes.N``: who is shown in which pane of the layout."""

    pane_id: int
    user_id: str
    source_type: str = "camera"
    #: ``UserPanes.N.Images.M`` / ``.Texts.M``: StartMPUTask and UpdateMPUTask only.
    images: tuple[Entry, ...] = ()
    texts: tuple[Entry, ...] = ()
    segment_type: int | None = None

    def to_json(self) -> dict[str, Any]:
        shown = {"paneId": self.pane_id, "userId": self.user_id, "sourceType": self.source_type,
                 "images": list(self.images), "texts": list(self.texts)}
        if self.segment_type is not None:
            shown["segmentType"] = self.segment_type
        return shown


@dataclass(frozen=True)
class Layout:
    """What UpdateMPULayout may change on a live task."""

    layout_ids: tuple[int, ...]
    crop_mode: int = 2
    background_color: int = 0
    user_panes: tuple[Pane, ...] = ()


@dataclass(frozen=True)
class TaskUpdate:
    """A validated UpdateMPUTask: the whole new value of what it may change."""

    app_id: str
    task_id: str
    layout: Layout
    sub_spec_users: tuple[str, ...]
    live: Live
    media_encode: int | None = None  # only the new SDK can send it


@dataclass(frozen=True)
class StartSpec:
    """A validated StartMPUTask. ``stream_url`` keeps its auth query: never log it raw."""

    app_id: str
    channel_id: str
    task_id: str
    stream_url: str
    layout: Layout
    media_encode: int
    #: What the service bills: the requested profile, or 16IN_1080P when none was sent.
    task_profile: str
    #: Whether the caller sent TaskProfile at all (neither official SDK can).
    task_profile_sent: bool
    sub_spec_users: tuple[str, ...] = ()
    #: Overlays, per-media subscriptions and mix mode: what UpdateMPUTask may change.
    live: Live = field(default_factory=Live)
    #: Start-only knobs (TaskType, VadInterval, EnhancedParam ...), as ``/_emulator/tasks``
    #: shows them.
    extras: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # the URL's query is the CDN auth key
        return f"StartSpec(app_id={self.app_id!r}, task_id={self.task_id!r})"
