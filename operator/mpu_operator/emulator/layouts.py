"""Custom layouts: CreateMPULayout, ModifyMPULayout, DeleteMPULayout and
DescribeMPULayoutInfoList, with the service's documented parameter ranges.

The layouts of each app live in a :class:`LayoutBook` (its own lock; nothing time-driven).
Ids are given from :data:`FIRST_LAYOUT_ID` up, so they never collide with the system
layouts (1-13). StartMPUTask and UpdateMPULayout refuse an id in that range that is not
a layout of the app (:func:`LayoutBook.check_ids`): a custom layout is the app's own.

Fidelity notes (undocumented by the service, chosen here): the not-found code
:data:`~mpu_operator.rtc.layouts.LAYOUT_NOT_FOUND`, names are not unique and filter
exactly, a Name is at most :data:`MAX_NAME_LENGTH` characters, PaneIds must be distinct
and at most one pane may have MajorPane=1.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mpu_operator import catalogue
from mpu_operator.rtc.layouts import LAYOUT_NOT_FOUND

from . import errors, validation
from .errors import ApiError

Params = Mapping[str, str]
Handler = Callable[[dict[str, str], str], dict[str, Any]]

FIRST_LAYOUT_ID = 10001
MAX_AUDIO_MIX_COUNT = 6
MAX_NAME_LENGTH = 128
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
INVALID_LAYOUT = "Request.InvalidLayout"
_PANE_FIELDS = ("PaneId", "MajorPane", "X", "Y", "Width", "Height", "ZOrder")


@dataclass(frozen=True)
class Pane:
    pane_id: int
    major_pane: int
    x: float
    y: float
    width: float
    height: float
    z_order: int

    def wire(self) -> dict[str, Any]:
        return {"PaneId": self.pane_id, "MajorPane": self.major_pane, "X": self.x,
                "Y": self.y, "Width": self.width, "Height": self.height,
                "ZOrder": self.z_order}

    def to_json(self) -> dict[str, Any]:
        return {"paneId": self.pane_id, "majorPane": bool(self.major_pane), "x": self.x,
                "y": self.y, "width": self.width, "height": self.height,
                "zOrder": self.z_order}


@dataclass
class CustomLayout:
    app_id: str
    layout_id: int
    name: str
    audio_mix_count: int
    panes: tuple[Pane, ...]
    modified: int = 0  # how many ModifyMPULayout calls changed it

    def wire(self) -> dict[str, Any]:
        return {"LayoutId": self.layout_id, "Name": self.name,
                "AudioMixCount": self.audio_mix_count,
                "Panes": {"Panes": [p.wire() for p in self.panes]}}

    def to_json(self) -> dict[str, Any]:
        return {"appId": self.app_id, "layoutId": self.layout_id, "name": self.name,
                "audioMixCount": self.audio_mix_count,
                "panes": [p.to_json() for p in self.panes], "modified": self.modified}


@dataclass
class LayoutBook:
    """Every app's custom layouts, by id; thread-safe."""

    _layouts: dict[int, CustomLayout] = field(default_factory=dict)
    _next_id: int = FIRST_LAYOUT_ID
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self._lock:
            self._layouts.clear()
            self._next_id = FIRST_LAYOUT_ID

    def create(self, app_id: str, name: str, mix: int, panes: tuple[Pane, ...]) -> int:
        with self._lock:
            layout_id, self._next_id = self._next_id, self._next_id + 1
            self._layouts[layout_id] = CustomLayout(app_id, layout_id, name, mix, panes)
            return layout_id

    def get(self, app_id: str, layout_id: int) -> CustomLayout:
        """The app's layout (another app's is as absent as a deleted one)."""
        layout = self._layouts.get(layout_id)
        if layout is None or layout.app_id != app_id:
            raise ApiError(LAYOUT_NOT_FOUND, 404,
                           f"layout {layout_id} not found in app {app_id!r}")
        return layout

    def modify(self, app_id: str, layout_id: int, name: str | None, mix: int | None,
               panes: tuple[Pane, ...] | None) -> None:
        with self._lock:
            layout = self.get(app_id, layout_id)
            layout.name = layout.name if name is None else name
            layout.audio_mix_count = layout.audio_mix_count if mix is None else mix
            layout.panes = layout.panes if panes is None else panes
            layout.modified += 1

    def delete(self, app_id: str, layout_id: int) -> None:
        with self._lock:
            self.get(app_id, layout_id)
            del self._layouts[layout_id]

    def find(self, app_id: str, name: str | None, layout_id: int | None) -> list[CustomLayout]:
        with self._lock:
            return [layout for layout in self._layouts.values()
                    if layout.app_id == app_id and (name is None or layout.name == name)
                    and (layout_id is None or layout.layout_id == layout_id)]

    def check_ids(self, app_id: str, layout_ids: Iterable[int]) -> None:
        """StartMPUTask/UpdateMPULayout: an id in the custom range must be the app's, and
        no two layouts (its custom ones counted by their panes) share a pane count."""
        counts: dict[int, list[int]] = {}
        with self._lock:
            for layout_id in layout_ids:
                if layout_id >= FIRST_LAYOUT_ID:
                    layout = self._layouts.get(layout_id)
                    if layout is None or layout.app_id != app_id:
                        raise errors.invalid(errors.INVALID_LAYOUT_IDS,
                                             f"LayoutIds.N: {layout_id} is not a layout of "
                                             f"app {app_id!r}.")
                    counts.setdefault(len(layout.panes), []).append(layout_id)
                elif layout_id in catalogue.LAYOUT_PANES:
                    counts.setdefault(catalogue.LAYOUT_PANES[layout_id], []).append(layout_id)
        clashes = [f"{ids} all have {n} panes" for n, ids in sorted(counts.items())
                   if len(ids) > 1]
        if clashes:
            raise errors.invalid(errors.INVALID_LAYOUT_IDS, "Two layouts may not have the "
                                 f"same pane count: {'; '.join(clashes)}.")

    def to_json(self, app_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [layout.to_json() for layout in self._layouts.values()
                    if app_id is None or layout.app_id == app_id]


# -- parameters --------------------------------------------------------------------------


def _number(params: Params, key: str, low: float, high: float, *, open_low: bool) -> float:
    raw = params.get(key)
    try:
        value = float(raw) if raw not in (None, "") else math.nan
    except ValueError:
        value = math.nan
    in_range = (low < value if open_low else low <= value) and value <= high
    if not in_range:  # NaN fails every comparison
        bound = f"{'(' if open_low else '['}{low}, {high}]"
        raise errors.invalid(INVALID_LAYOUT, f"{key} must be a number in {bound}.")
    return value


def _int(params: Params, key: str, low: int, high: int, default: int | None = None) -> int:
    raw = params.get(key)
    if raw in (None, "") and default is not None:
        return default
    if raw is None or not raw.strip().lstrip("-").isdigit():
        raise errors.invalid(INVALID_LAYOUT, f"{key} must be an integer in {low}..{high}.")
    value = int(raw)
    if not low <= value <= high:
        raise errors.invalid(INVALID_LAYOUT, f"{key} must be in {low}..{high}, not {value}.")
    return value


def panes(params: Params, *, required: bool) -> tuple[Pane, ...] | None:
    """``Panes.N.*``: N consecutive from 1, at most 16, each pane complete and in range."""
    fields: dict[int, dict[str, str]] = {}
    for rest, value in validation.indexed(params, "Panes").items():
        number, _, name = rest.partition(".")
        if not number.isdigit() or name not in _PANE_FIELDS:
            raise errors.invalid(INVALID_LAYOUT, f"Panes.{rest} is not a pane parameter.")
        fields.setdefault(int(number), {})[name] = value
    if not fields:
        if required:
            raise errors.missing("Panes.1.PaneId")
        return None
    if sorted(fields) != list(range(1, len(fields) + 1)) or len(fields) > catalogue.MAX_PANES:
        raise errors.invalid(INVALID_LAYOUT, f"Panes.N must be consecutive from 1, at most "
                                             f"{catalogue.MAX_PANES}.")
    parsed = tuple(_pane(n, f) for n, f in sorted(fields.items()))
    ids = [p.pane_id for p in parsed]
    if len(set(ids)) != len(ids):
        raise errors.invalid(INVALID_LAYOUT, "Panes.N.PaneId must not repeat a pane.")
    if sum(p.major_pane for p in parsed) > 1:
        raise errors.invalid(INVALID_LAYOUT, "Only one pane may have MajorPane=1.")
    return parsed


def _pane(n: int, f: dict[str, str]) -> Pane:
    p = f"Panes.{n}."
    values = {p + k: v for k, v in f.items()}
    return Pane(
        pane_id=_int(values, p + "PaneId", 0, catalogue.MAX_PANES - 1),
        major_pane=_int(values, p + "MajorPane", 0, 1, default=0),
        x=_number(values, p + "X", 0.0, 1.0, open_low=False),
        y=_number(values, p + "Y", 0.0, 1.0, open_low=False),
        width=_number(values, p + "Width", 0.0, 1.0, open_low=True),
        height=_number(values, p + "Height", 0.0, 1.0, open_low=True),
        z_order=_int(values, p + "ZOrder", 0, catalogue.MAX_INT32, default=0))


def _name(params: Params) -> str | None:
    value = params.get("Name")
    if value is not None and len(value) > MAX_NAME_LENGTH:
        raise errors.invalid(INVALID_LAYOUT, f"Name must be at most {MAX_NAME_LENGTH} "
                                             "characters.")
    return value


def _layout_id(params: Params, *, required: bool) -> int | None:
    if params.get("LayoutId") in (None, "") and not required:
        return None
    if params.get("LayoutId") in (None, ""):
        raise errors.missing("LayoutId")
    return _int(params, "LayoutId", 1, 2**63 - 1)


# -- the actions -------------------------------------------------------------------------


def actions(book: LayoutBook) -> dict[str, Handler]:
    """The four actions, for the service's dispatch table."""

    def create(params: dict[str, str], request_id: str) -> dict[str, Any]:
        app = validation.app_id(params)
        mix = _int(params, "AudioMixCount", 0, MAX_AUDIO_MIX_COUNT)
        found = panes(params, required=True)
        assert found is not None
        layout_id = book.create(app, _name(params) or "", mix, found)
        return {"RequestId": request_id, "LayoutId": layout_id}

    def modify(params: dict[str, str], request_id: str) -> dict[str, Any]:
        app = validation.app_id(params)
        layout_id = _layout_id(params, required=True)
        assert layout_id is not None
        mix = (None if params.get("AudioMixCount") in (None, "")
               else _int(params, "AudioMixCount", 0, MAX_AUDIO_MIX_COUNT))
        book.modify(app, layout_id, _name(params), mix, panes(params, required=False))
        return {"RequestId": request_id}

    def delete(params: dict[str, str], request_id: str) -> dict[str, Any]:
        app = validation.app_id(params)
        layout_id = _layout_id(params, required=True)
        assert layout_id is not None
        book.delete(app, layout_id)
        return {"RequestId": request_id}

    def describe(params: dict[str, str], request_id: str) -> dict[str, Any]:
        app = validation.app_id(params)
        page = _int(params, "PageNum", 1, 2**31 - 1, default=1)
        size = _int(params, "PageSize", 1, MAX_PAGE_SIZE, default=DEFAULT_PAGE_SIZE)
        found = book.find(app, params.get("Name") or None,
                          _layout_id(params, required=False))
        shown = found[(page - 1) * size: page * size]
        return {"RequestId": request_id, "TotalNum": len(found),
                "TotalPage": max(1, math.ceil(len(found) / size)),
                "Layouts": {"Layout": [layout.wire() for layout in shown]}}

    return {"CreateMPULayout": create, "ModifyMPULayout": modify,
            "DeleteMPULayout": delete, "DescribeMPULayoutInfoList": describe}

