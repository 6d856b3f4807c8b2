"""Parameter checks of the four MPU actions, per the reference (shared/reference/mpu-api.md).

Each ``parse_*`` takes the request's flat parameters (``LayoutIds.1``, ``UserPanes.2.UserId``
...) and returns a typed value or raises :class:`ApiError` naming the first problem. Only
what the reference states is judged; custom layout ids and unknown MediaEncode ids pass,
because the service, not the emulator, knows them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from mpu_operator import catalogue
from mpu_operator.rtc import codes

from . import errors, overlays
from .errors import ApiError
from .model import Layout, Pane, StartSpec, TaskUpdate

Params = Mapping[str, str]

TASK_ID_RE = re.compile(catalogue.TASK_ID_PATTERN)
#: App and channel ids: the RTC SDKs' documented charset, at most 64 characters.
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
STREAM_SCHEMES = ("rtmp", "rtmps")
SOURCE_TYPES = ("camera", "shareScreen")
PANE_PREFIXES = ("UserPanes", "UserPanels")  # the SDK's spelling and the table's
PANE_ID_NAMES = ("PaneId", "PanelId")
MAX_BACKGROUND_COLOR = 255 + 255 * 256 + 255 * 65536
CROP_MODES = (0, 1, 2)


def _present(params: Params, name: str) -> str | None:
    value = params.get(name)
    return value if value not in (None, "") else None


def app_id(params: Params) -> str:
    value = _present(params, "AppId")
    if value is None:
        raise ApiError(codes.NO_APP_ID, 400, "AppId is required.")
    if not ID_RE.match(value):
        raise errors.invalid(errors.INVALID_APP_ID, "AppId must be 1..64 of [A-Za-z0-9_-].")
    return value


def channel_id(params: Params) -> str:
    value = _present(params, "ChannelId")
    if value is None:
        raise ApiError(codes.NO_CHANNEL_ID, 400, "ChannelId is required.")
    if not ID_RE.match(value):
        raise errors.invalid(errors.INVALID_CHANNEL_ID,
                             "ChannelId must be 1..64 of [A-Za-z0-9_-].")
    return value


def task_id(params: Params) -> str:
    value = _present(params, "TaskId")
    if value is None:
        raise errors.missing("TaskId")
    if not TASK_ID_RE.match(value) or len(value.encode()) > catalogue.MAX_TASK_ID_BYTES:
        raise errors.invalid(errors.INVALID_TASK_ID,
                             f"TaskId must be [A-Za-z0-9_-], at most "
                             f"{catalogue.MAX_TASK_ID_BYTES} bytes.")
    return value


def stream_url(params: Params) -> str:
    value = _present(params, "StreamURL")
    if value is None:
        raise errors.missing("StreamURL")
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in STREAM_SCHEMES or not parts.hostname:
        raise errors.invalid(errors.INVALID_STREAM_URL,
                             "StreamURL must be one rtmp:// (or rtmps://) push URL with a host.")
    return value.strip()


def _integer(params: Params, name: str, code: str, low: int, high: int | None,
             default: int | None = None) -> int:
    raw = _present(params, name)
    if raw is None:
        if default is None:
            raise errors.missing(name)
        return default
    try:
        value = int(raw)
    except ValueError:
        raise errors.invalid(code, f"{name} must be an integer.") from None
    if value < low or (high is not None and value > high):
        bound = f"{low}..{high}" if high is not None else f">= {low}"
        raise errors.invalid(code, f"{name} must be in {bound}, not {value}.")
    return value


def indexed(params: Params, prefix: str) -> dict[str, str]:
    """``prefix.N...`` parameters -> {"N...": value} (the part after ``prefix.``)."""
    head = prefix + "."
    return {k[len(head):]: v for k, v in params.items() if k.startswith(head)}


def _consecutive(numbers: list[int], name: str, code: str, limit: int) -> None:
    if sorted(numbers) != list(range(1, len(numbers) + 1)):
        raise errors.invalid(code, f"{name}.N must be consecutive from 1.")
    if len(numbers) > limit:
        raise errors.invalid(code, f"{name}.N allows at most {limit} entries.")


def _repeat_list(params: Params, name: str, code: str, limit: int) -> list[str]:
    entries = indexed(params, name)
    try:
        numbered = {int(n): v for n, v in entries.items()}
    except ValueError:
        raise errors.invalid(code, f"{name}.N must be numbered 1, 2, 3...") from None
    _consecutive(list(numbered), name, code, limit)
    return [numbered[n] for n in sorted(numbered)]


def layout_ids(params: Params) -> tuple[int, ...]:
    code = errors.INVALID_LAYOUT_IDS
    values = _repeat_list(params, "LayoutIds", code, catalogue.MAX_LAYOUTS)
    if not values:
        raise errors.missing("LayoutIds.1")
    try:
        ids = tuple(int(v) for v in values)
    except ValueError:
        raise errors.invalid(code, "LayoutIds.N must be integers.") from None
    if any(i < 1 for i in ids):
        raise errors.invalid(code, "LayoutIds.N must be positive layout ids.")
    if len(set(ids)) != len(ids):
        raise errors.invalid(code, "LayoutIds.N must not repeat a layout.")
    clashes = catalogue.duplicate_pane_counts(ids)
    if clashes:
        described = "; ".join(f"{ids_} all have {n} panes" for n, ids_ in sorted(clashes.items()))
        raise errors.invalid(code, f"Two layouts may not have the same pane count: {described}.")
    return ids


def user_panes(params: Params, *, with_overlays: bool = False) -> tuple[Pane, ...]:
    """``UserPanes.N.*`` (or ``UserPanels.N.*``), pane id as ``PaneId`` or ``PanelId``.

    ``with_overlays``: the pane's ``Images.M.*`` and ``Texts.M.*`` are allowed (StartMPUTask,
    UpdateMPUTask); UpdateMPULayout refuses them, since it cannot carry them.
    """
    code = errors.INVALID_USER_PANES
    fields: dict[int, dict[str, str]] = {}
    for prefix in PANE_PREFIXES:
        for rest, value in indexed(params, prefix).items():
            number, _, name = rest.partition(".")
            if not number.isdigit() or not 1 <= int(number) <= catalogue.MAX_USER_PANES:
                raise errors.invalid(code, f"{prefix}.N: N must be 1..{catalogue.MAX_USER_PANES}.")
            if name.startswith(("Images.", "Texts.")) and not with_overlays:
                raise errors.invalid(code, f"{prefix}.{rest}: UpdateMPULayout does not carry "
                                           f"pane images or texts; UpdateMPUTask does.")
            if name not in (*PANE_ID_NAMES, "UserId", "SourceType", "SegmentType") and \
                    not name.startswith(("Images.", "Texts.")):
                raise errors.invalid(code, f"{prefix}.{rest} is not a pane parameter.")
            fields.setdefault(int(number), {})["PaneId" if name in PANE_ID_NAMES else name] = value
    panes = [_pane(n, f) for n, f in sorted(fields.items())]
    pane_ids = [p.pane_id for p in panes]
    if len(set(pane_ids)) != len(pane_ids):
        raise errors.invalid(code, "UserPanes.N.PaneId must not repeat a pane.")
    return tuple(panes)


def _pane(number: int, fields: dict[str, str]) -> Pane:
    code = errors.INVALID_USER_PANES
    raw = fields.get("PaneId")
    if raw is None or not raw.lstrip("-").isdigit():
        raise errors.invalid(code, f"UserPanes.{number}.PaneId must be given as an integer.")
    pane_id = int(raw)
    if not 0 <= pane_id < catalogue.MAX_PANES:
        raise errors.invalid(code, f"UserPanes.{number}.PaneId must be "
                                   f"0..{catalogue.MAX_PANES - 1}.")
    user = fields.get("UserId", "")
    if not user:
        raise errors.invalid(code, f"UserPanes.{number}.UserId must be given.")
    source = fields.get("SourceType") or "camera"
    if source not in SOURCE_TYPES:
        raise errors.invalid(code, f"UserPanes.{number}.SourceType must be one of "
                                   f"{', '.join(SOURCE_TYPES)}.")
    segment = None
    if fields.get("SegmentType"):
        segment = _integer(fields, "SegmentType", code, 0, None)
    images, texts = overlays.pane_overlays(number, fields)
    return Pane(pane_id, user, source, images, texts, segment)


def layout(params: Params, *, with_overlays: bool = False, required: bool = True) -> Layout:
    """LayoutIds, CropMode, BackgroundColor and UserPanes; absent optionals take defaults.

    ``required=False`` (a Single task) lets LayoutIds be absent: nothing is mixed.
    """
    ids = layout_ids(params) if required or indexed(params, "LayoutIds") else ()
    crop = _integer(params, "CropMode", errors.INVALID_CROP_MODE, 0, 2, default=2)
    color = _integer(params, "BackgroundColor", errors.INVALID_BACKGROUND_COLOR, 0,
                     MAX_BACKGROUND_COLOR, default=0)
    return Layout(ids, crop, color, user_panes(params, with_overlays=with_overlays))


def media_encode(params: Params) -> int:
    # Ids outside the reference's table are the service's to judge, so any id >= 0 passes.
    return _integer(params, "MediaEncode", errors.INVALID_MEDIA_ENCODE, 0, None)


def sub_spec_users(params: Params) -> tuple[str, ...]:
    users = _repeat_list(params, "SubSpecUsers", errors.INVALID_SUB_SPEC_USERS,
                         catalogue.MAX_SUBSCRIBE_USERS)
    if any(not u for u in users):
        raise errors.invalid(errors.INVALID_SUB_SPEC_USERS, "SubSpecUsers.N must not be empty.")
    return tuple(users)


def task_profile(params: Params, layout_: Layout, encode: int) -> tuple[str, bool]:
    """(profile billed, whether one was sent). Absent: billed as 16IN_1080P, as warned."""
    value = _present(params, "TaskProfile")
    if value is None:
        return catalogue.DEFAULT_BILLED_PROFILE, False
    problems = catalogue.profile_problems(value, layout_.layout_ids, encode)
    if problems:
        raise errors.invalid(errors.INVALID_TASK_PROFILE, "TaskProfile: " + "; ".join(problems))
    return value, True


def _mixes(params: Params) -> bool:
    return overlays.mix_mode(params) == 0


def start(raw: Params) -> StartSpec:
    """Every StartMPUTask check, in the order the parameters appear in the reference, then
    the newer ones (:mod:`.overlays`); either wire form."""
    params = overlays.normalise(raw)
    app, channel, task = app_id(params), channel_id(params), task_id(params)
    url = stream_url(params)
    layout_ = layout(params, with_overlays=True, required=_mixes(params))
    encode = media_encode(params)
    users = sub_spec_users(params)
    profile, sent = task_profile(params, layout_, encode)
    return StartSpec(app, channel, task, url, layout_, encode, profile, sent, users,
                     overlays.live(params), overlays.start_extras(params))


def update_task(raw: Params) -> TaskUpdate:
    """UpdateMPUTask: the whole new value of everything it carries (absent lists are empty,
    absent scalars their defaults), as one StartMPUTask would set it."""
    params = overlays.normalise(raw)
    app, task = task_ref(params)
    layout_ = layout(params, with_overlays=True, required=_mixes(params))
    encode = media_encode(params) if _present(params, "MediaEncode") is not None else None
    return TaskUpdate(app, task, layout_, sub_spec_users(params), overlays.live(params), encode)


def task_ref(params: Params) -> tuple[str, str]:
    """(AppId, TaskId) for GetMPUTaskStatus and StopMPUTask."""
    return app_id(params), task_id(params)
