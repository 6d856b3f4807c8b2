"""Typed parameters of the MPU actions and their wire encoding.

The spec model builds these; the client sends them; the emulator's tests compare against
them. Keeping the ``LayoutIds.N`` / ``UserPanes.N.*`` spelling in one place is the point.
"""

from __future__ import annotations

from dataclasses import dataclass, field

API_VERSION = "2018-01-11"


@dataclass(frozen=True)
class UserPane:
    pane_id: int
    user_id: str
    source_type: str = "camera"  # or "shareScreen"


@dataclass(frozen=True)
class LayoutParams:
    """What UpdateMPULayout can change on a live task."""

    layout_ids: tuple[int, ...]
    crop_mode: int = 2
    background_color: int = 0
    user_panes: tuple[UserPane, ...] = ()

    def to_query(self) -> dict[str, str]:
        query = {f"LayoutIds.{n}": str(i) for n, i in enumerate(self.layout_ids, 1)}
        query["CropMode"] = str(self.crop_mode)
        query["BackgroundColor"] = str(self.background_color)
        for n, pane in enumerate(self.user_panes, 1):
            query[f"UserPanes.{n}.PaneId"] = str(pane.pane_id)
            query[f"UserPanes.{n}.UserId"] = pane.user_id
            query[f"UserPanes.{n}.SourceType"] = pane.source_type
        return query


@dataclass(frozen=True)
class StartParams:
    """Everything StartMPUTask takes. ``stream_url`` is secret: never log this object raw."""

    app_id: str
    channel_id: str
    task_id: str
    stream_url: str = field(repr=False)
    layout: LayoutParams
    media_encode: int
    task_profile: str
    subscribe_users: tuple[str, ...] = ()

    def to_query(self) -> dict[str, str]:
        query = {
            "AppId": self.app_id,
            "ChannelId": self.channel_id,
            "TaskId": self.task_id,
            "StreamURL": self.stream_url,
            "MediaEncode": str(self.media_encode),
            "TaskProfile": self.task_profile,
        }
        query.update(self.layout.to_query())
        query.update({f"SubSpecUsers.{n}": u for n, u in enumerate(self.subscribe_users, 1)})
        return query
