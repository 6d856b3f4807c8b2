"""Typed parameters of the MPU actions and their wire encoding.

The spec model builds these; the client sends them; the emulator's tests compare against
them. Keeping the ``LayoutIds.N`` / ``UserPanes.N.*`` spelling in one place is the point.

Field names are the spec's camelCase names in snake_case (``zOrder`` -> ``z_order``), so
mapping the spec onto these is one line per field. Overlay and subscription fields default
to empty, and an empty field sends nothing: a task without them is started exactly as
before they existed.

The encoding is the official ``aliyun-python-sdk-rtc`` 1.3.5's (``RepeatList`` ``Name.N``,
``Name.N.Field``, ``str()`` of each value), with one deliberate exception: that SDK spells a
pane's images and texts ``UserPanes.<N><M>.Url`` (the two indexes run together, images and
texts in one key space, see ``docs/client.md``), which loses data; here they are
``UserPanes.N.Images.M.Url`` and ``UserPanes.N.Texts.M.Text``, the documented names and what
``alibabacloud-rtc20180111`` sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

API_VERSION = "2018-01-11"

# -- the service's enumerations, spec name -> wire value ----------------------------------

MIX, SINGLE = "Mix", "Single"
#: ``MixMode``: 0 mixes the channel into the layout, 1 relays one user's stream.
MIX_MODES: dict[str, int] = {MIX: 0, SINGLE: 1}
#: ``StreamType``: what of the relayed stream is pushed.
STREAM_TYPES: dict[str, int] = {"AudioVideo": 0, "AudioOnly": 1, "VideoOnly": 2}
SOURCE_TYPES = ("camera", "shareScreen")

# -- the service's ranges (the emulator refuses outside them; the spec should agree) -------

#: Positions and sizes are fractions of the canvas (or of the pane, for pane overlays).
MIN_FRACTION, MAX_FRACTION = 0.0, 1.0
#: ``Display``: 0 hidden, 1 always shown, 2 shown while the user sends no video.
DISPLAY_MODES = (0, 1, 2)
MAX_COLOR = 0xFFFFFF  # R + G*256 + B*65536, as BackgroundColor
MAX_OVERLAYS = 16  # entries per list: Backgrounds, Watermarks, ClockWidgets, Images, Texts
MAX_TEXT_LENGTH = 128


def _wire(value: Any) -> str:
    """A value as the old SDK puts it on the wire: ``str()`` (so a bool is ``True``)."""
    return str(value)


def _set_fields(obj: Any, prefix: str, names: dict[str, str]) -> dict[str, str]:
    """``prefix.Wire`` for every attribute in ``names`` that is not None."""
    query = {}
    for attr, wire in names.items():
        value = getattr(obj, attr)
        if value is not None:
            query[f"{prefix}.{wire}"] = _wire(value)
    return query


_PICTURE_WIRE = {"url": "Url", "x": "X", "y": "Y", "width": "Width", "height": "Height",
                 "z_order": "ZOrder", "display": "Display"}
_STYLE_WIRE = {"x": "X", "y": "Y", "alpha": "Alpha", "z_order": "ZOrder",
               "font_type": "FontType", "font_size": "FontSize", "font_color": "FontColor",
               "border_width": "BorderWidth", "border_color": "BorderColor", "box": "Box",
               "box_color": "BoxColor", "box_border_width": "BoxBorderWidth"}


@dataclass(frozen=True)
class Picture:
    """An image by URL: a canvas background (``Backgrounds.N``) or a pane image
    (``UserPanes.N.Images.M``). Position and size are fractions, 0..1."""

    url: str
    x: float
    y: float
    width: float
    height: float
    z_order: int | None = None
    display: int | None = None

    def to_query(self, prefix: str) -> dict[str, str]:
        return _set_fields(self, prefix, _PICTURE_WIRE)


@dataclass(frozen=True)
class Watermark(Picture):
    """``Watermarks.N``: a picture with an opacity, 0 (invisible) .. 1 (opaque)."""

    alpha: float | None = None

    def to_query(self, prefix: str) -> dict[str, str]:
        return _set_fields(self, prefix, {**_PICTURE_WIRE, "alpha": "Alpha"})


@dataclass(frozen=True)
class ClockWidget:
    """``ClockWidgets.N``: the service draws the time. Colours are the service's integers
    (``catalogue.color_to_int``); ``None`` leaves a field to the service's default."""

    x: float
    y: float
    alpha: float | None = None
    z_order: int | None = None
    font_type: int | None = None
    font_size: int | None = None
    font_color: int | None = None
    border_width: int | None = None
    border_color: int | None = None
    box: bool | None = None
    box_color: int | None = None
    box_border_width: int | None = None

    def to_query(self, prefix: str) -> dict[str, str]:
        return _set_fields(self, prefix, _STYLE_WIRE)


@dataclass(frozen=True)
class PaneText(ClockWidget):
    """``UserPanes.N.Texts.M``: a caption in a pane, styled like a clock widget."""

    text: str = field(kw_only=True)

    def to_query(self, prefix: str) -> dict[str, str]:
        return _set_fields(self, prefix, {**_STYLE_WIRE, "text": "Text"})


@dataclass(frozen=True)
class UserPane:
    pane_id: int
    user_id: str
    source_type: str = "camera"  # or "shareScreen"
    #: Only UpdateMPUTask and StartMPUTask carry these; UpdateMPULayout does not.
    images: tuple[Picture, ...] = ()
    texts: tuple[PaneText, ...] = ()

    @property
    def has_overlays(self) -> bool:
        return bool(self.images or self.texts)


@dataclass(frozen=True)
class MediaUsers:
    """Users per kind of media, for ``SubSpec*Users`` (subscribe) and ``UnsubSpec*Users``."""

    audio_users: tuple[str, ...] = ()
    camera_users: tuple[str, ...] = ()
    share_screen_users: tuple[str, ...] = ()

    def to_query(self, prefix: str) -> dict[str, str]:
        """``prefix`` is ``SubSpec`` or ``UnsubSpec``."""
        query: dict[str, str] = {}
        for kind, users in (("Audio", self.audio_users), ("Camera", self.camera_users),
                            ("ShareScreen", self.share_screen_users)):
            query.update(_repeat(f"{prefix}{kind}Users", users))
        return query


@dataclass(frozen=True)
class SingleSource:
    """What a ``Single`` task relays: one user's camera or screen, all of it or part."""

    source_type: str = "camera"
    stream_type: str = "AudioVideo"


@dataclass(frozen=True)
class LayoutParams:
    """What UpdateMPULayout can change on a live task."""

    layout_ids: tuple[int, ...]
    crop_mode: int = 2
    background_color: int = 0
    user_panes: tuple[UserPane, ...] = ()

    @property
    def has_overlays(self) -> bool:
        """Whether a pane carries images or texts, which only UpdateMPUTask can change."""
        return any(p.has_overlays for p in self.user_panes)

    def to_query(self) -> dict[str, str]:
        """The UpdateMPULayout parameters: pane images and texts are not among them."""
        query = _repeat("LayoutIds", self.layout_ids)
        query["CropMode"] = str(self.crop_mode)
        query["BackgroundColor"] = str(self.background_color)
        for n, pane in enumerate(self.user_panes, 1):
            query[f"UserPanes.{n}.PaneId"] = str(pane.pane_id)
            query[f"UserPanes.{n}.UserId"] = pane.user_id
            query[f"UserPanes.{n}.SourceType"] = pane.source_type
        return query

    def task_query(self) -> dict[str, str]:
        """The StartMPUTask / UpdateMPUTask parameters: the above plus pane overlays."""
        query = self.to_query()
        for n, pane in enumerate(self.user_panes, 1):
            for m, image in enumerate(pane.images, 1):
                query.update(image.to_query(f"UserPanes.{n}.Images.{m}"))
            for m, text in enumerate(pane.texts, 1):
                query.update(text.to_query(f"UserPanes.{n}.Texts.{m}"))
        return query


@dataclass(frozen=True)
class UpdateTaskParams:
    """Everything UpdateMPUTask can change on a live task, same TaskId, no interruption.

    The old SDK's UpdateMPUTaskRequest carries exactly these (the new SDK adds MediaEncode,
    which the operator does not change live). An update sends the whole value: lists that
    are empty now send nothing, and ``MixMode`` is always sent so Single -> Mix is said.
    """

    layout: LayoutParams
    subscribe_users: tuple[str, ...] = ()
    backgrounds: tuple[Picture, ...] = ()
    watermarks: tuple[Watermark, ...] = ()
    clock_widgets: tuple[ClockWidget, ...] = ()
    subscribe: MediaUsers = MediaUsers()
    unsubscribe: MediaUsers = MediaUsers()
    mix_mode: str = MIX
    single: SingleSource | None = None

    def to_query(self, *, always_mix_mode: bool = True) -> dict[str, str]:
        query = self.layout.task_query()
        query.update(_repeat("SubSpecUsers", self.subscribe_users))
        lists: tuple[tuple[str, tuple[Picture | ClockWidget, ...]], ...] = (
            ("Backgrounds", self.backgrounds), ("Watermarks", self.watermarks),
            ("ClockWidgets", self.clock_widgets))
        for name, entries in lists:
            for n, entry in enumerate(entries, 1):
                query.update(entry.to_query(f"{name}.{n}"))
        query.update(self.subscribe.to_query("SubSpec"))
        query.update(self.unsubscribe.to_query("UnsubSpec"))
        if always_mix_mode or self.mix_mode != MIX:
            query["MixMode"] = str(MIX_MODES[self.mix_mode])
        if self.mix_mode == SINGLE:
            single = self.single or SingleSource()
            query["SourceType"] = single.source_type
            query["StreamType"] = str(STREAM_TYPES[single.stream_type])
        return query


#: The StartParams fields an UpdateMPUTask can carry (the rest needs a new task).
UPDATABLE_FIELDS = tuple(f.name for f in fields(UpdateTaskParams))


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
    backgrounds: tuple[Picture, ...] = ()
    watermarks: tuple[Watermark, ...] = ()
    clock_widgets: tuple[ClockWidget, ...] = ()
    subscribe: MediaUsers = MediaUsers()
    unsubscribe: MediaUsers = MediaUsers()
    mix_mode: str = MIX
    single: SingleSource | None = None

    def update_params(self) -> UpdateTaskParams:
        """The part of this start that UpdateMPUTask can change live."""
        return UpdateTaskParams(**{name: getattr(self, name) for name in UPDATABLE_FIELDS})

    def to_query(self) -> dict[str, str]:
        query = {
            "AppId": self.app_id,
            "ChannelId": self.channel_id,
            "TaskId": self.task_id,
            "StreamURL": self.stream_url,
            "MediaEncode": str(self.media_encode),
            "TaskProfile": self.task_profile,
        }
        query.update(self.update_params().to_query(always_mix_mode=False))
        return query


def _repeat(name: str, values: tuple[Any, ...]) -> dict[str, str]:
    """A RepeatList: ``name.1``, ``name.2`` ..."""
    return {f"{name}.{n}": _wire(v) for n, v in enumerate(values, 1)}
