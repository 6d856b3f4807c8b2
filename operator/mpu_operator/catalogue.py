"""The service's fixed tables: system layouts, output encodings and billing profiles.

Everything here is data from the RTC API reference (see shared/reference/mpu-api.md), plus
small pure functions over it. The spec model, the emulator and the operator all read these
tables, so a rule is written once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

#: System layout id -> pane count. Ids not listed are custom layouts: their pane count is
#: unknown to us and the service judges them.
LAYOUT_PANES: dict[int, int] = {
    1: 1, 2: 2, 3: 2, 4: 2, 5: 3, 6: 4, 7: 5, 8: 6, 9: 7, 10: 8, 11: 9, 13: 2,
}

MAX_LAYOUTS = 16
MAX_PANES = 16
MAX_USER_PANES = 16
MAX_SUBSCRIBE_USERS = 16
MAX_TASK_ID_BYTES = 55
TASK_ID_PATTERN = r"^[A-Za-z0-9_-]+$"
#: ChannelId and UserId: "1~64 位大小写字母、数字、下划线(_)、中划线(-)" (RTC console, Token
#: generator; help.aliyun.com document 159037). AppIds are issued by the console; no rule is
#: published, so the same one is assumed (the emulator enforces it too).
MAX_RTC_ID_LENGTH = 64
RTC_ID_PATTERN = r"^[-_A-Za-z0-9]+$"
#: The largest integer the CRD's int32 fields hold; the service's ids fit well inside.
MAX_INT32 = 2**31 - 1


class Resolution(IntEnum):
    """Resolution classes of billing profiles, ordered so that comparison means 'covers'."""

    P360 = 360
    P720 = 720
    P1080 = 1080

    @property
    def label(self) -> str:
        return f"{self.value}P"

    @property
    def pixels(self) -> int:
        return _CLASS_PIXELS[self]


_CLASS_PIXELS = {Resolution.P360: 640 * 360, Resolution.P720: 1280 * 720,
                 Resolution.P1080: 1920 * 1080}


@dataclass(frozen=True)
class Encoding:
    """One MediaEncode id: the mixed output's size and rate (0x0 means audio only)."""

    id: int
    width: int
    height: int
    kbps: int
    fps: int

    @property
    def audio_only(self) -> bool:
        return self.width == 0

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def resolution(self) -> Resolution | None:
        """The smallest profile class whose pixel count covers this output (None: audio)."""
        if self.audio_only:
            return None
        for cls in Resolution:
            if self.pixels <= cls.pixels:
                return cls
        return Resolution.P1080  # nothing in the table is larger; clamp rather than fail


def _enc(id_: int, w: int, h: int, kbps: int, fps: int) -> tuple[int, Encoding]:
    return id_, Encoding(id_, w, h, kbps, fps)


MEDIA_ENCODES: dict[int, Encoding] = dict([
    _enc(0, 0, 0, 64, 0),
    _enc(1, 640, 360, 500, 15), _enc(54, 360, 640, 500, 30), _enc(53, 360, 640, 500, 15),
    _enc(52, 640, 360, 500, 30), _enc(10, 960, 540, 700, 24), _enc(20, 1280, 720, 1024, 25),
    _enc(22, 720, 1280, 1024, 30), _enc(23, 800, 600, 1024, 30),
    _enc(30, 1920, 1080, 2048, 30), _enc(31, 1080, 1920, 2048, 30),
    _enc(24, 750, 780, 1024, 30), _enc(25, 750, 540, 700, 30), _enc(26, 720, 1280, 2048, 30),
    _enc(27, 1280, 720, 2048, 30), _enc(28, 1280, 720, 3096, 30),
    _enc(32, 1024, 768, 1024, 24), _enc(33, 1280, 960, 1024, 24),
    _enc(34, 1024, 768, 2048, 24), _enc(35, 1280, 960, 2048, 24),
    _enc(36, 1280, 720, 1024, 24), _enc(37, 1280, 720, 2048, 24),
    _enc(38, 540, 960, 750, 15), _enc(39, 540, 960, 1500, 30), _enc(40, 1280, 720, 1200, 15),
    _enc(41, 720, 1280, 1200, 15), _enc(42, 720, 1280, 1500, 15), _enc(43, 540, 960, 1200, 15),
])


@dataclass(frozen=True, order=True)
class Profile:
    """A TaskProfile: how many inputs (panes) it mixes and the output class it bills for.

    Ordered by (inputs, resolution): for the two independent constraints the cheapest
    covering profile is the one minimal in both, so this order picks it.
    """

    inputs: int
    resolution: Resolution | None  # None: Mixed_Audio, audio only, inputs unlimited
    name: str

    @property
    def audio_only(self) -> bool:
        return self.resolution is None


MIXED_AUDIO = "Mixed_Audio"
AUTO = "Auto"
#: What the service bills a task started without (or with an unusable) TaskProfile as.
DEFAULT_BILLED_PROFILE = "16IN_1080P"
PROFILE_INPUTS = (1, 2, 4, 9, 12, 16)

PROFILES: dict[str, Profile] = {
    f"{n}IN_{r.label}": Profile(n, r, f"{n}IN_{r.label}")
    for n in PROFILE_INPUTS for r in Resolution
}
PROFILES[MIXED_AUDIO] = Profile(MAX_PANES, None, MIXED_AUDIO)
PROFILE_NAMES: tuple[str, ...] = tuple(PROFILES)


def layout_panes(layout_ids: Iterable[int]) -> dict[int, int]:
    """Pane counts of the known (system) layouts among ``layout_ids``."""
    return {i: LAYOUT_PANES[i] for i in layout_ids if i in LAYOUT_PANES}


def max_known_panes(layout_ids: Iterable[int]) -> int | None:
    """The largest pane count among the known layouts, or None when none is known."""
    counts = layout_panes(layout_ids).values()
    return max(counts) if counts else None


def duplicate_pane_counts(layout_ids: Iterable[int]) -> dict[int, list[int]]:
    """Pane count -> the known layout ids sharing it, for counts shared by two or more.

    The service switches layouts by the number of people present, so two layouts with the
    same pane count are ambiguous and refused.
    """
    by_count: dict[int, list[int]] = {}
    for layout_id, panes in layout_panes(layout_ids).items():
        by_count.setdefault(panes, []).append(layout_id)
    return {n: ids for n, ids in by_count.items() if len(ids) > 1}


def has_custom_layouts(layout_ids: Iterable[int]) -> bool:
    return any(i not in LAYOUT_PANES for i in layout_ids)


def profile_problems(profile_name: str, layout_ids: Iterable[int], media_encode: int) -> list[str]:
    """Why ``profile_name`` cannot carry these layouts and encoding (empty: it can).

    Only what we know is judged: custom layouts and unknown encodings pass.
    """
    layout_ids = list(layout_ids)
    profile = PROFILES.get(profile_name)
    if profile is None:
        return [f"unknown profile {profile_name!r}; valid: {', '.join(PROFILE_NAMES)}"]
    problems: list[str] = []
    panes = max_known_panes(layout_ids)
    if panes is not None and panes > profile.inputs:
        problems.append(f"layouts need {panes} panes but {profile_name} mixes at most "
                        f"{profile.inputs} inputs")
    encoding = MEDIA_ENCODES.get(media_encode)
    if encoding is None:
        return problems
    if encoding.audio_only and not profile.audio_only:
        problems.append(f"mediaEncode 0 is audio only and needs {MIXED_AUDIO}, "
                        f"not {profile_name}")
    elif not encoding.audio_only and profile.audio_only:
        problems.append(f"{MIXED_AUDIO} carries audio only but mediaEncode {media_encode} "
                        f"is video ({encoding.width}x{encoding.height})")
    elif (encoding.resolution is not None and profile.resolution is not None
          and encoding.resolution > profile.resolution):
        problems.append(f"mediaEncode {media_encode} ({encoding.width}x{encoding.height}) "
                        f"is {encoding.resolution.label}, above {profile_name}")
    return problems


def choose_profile(layout_ids: Iterable[int], media_encode: int) -> str:
    """The cheapest profile covering the layouts' panes and the encoding's resolution.

    Where we cannot know a need we assume the largest, because an under-sized profile is
    refused by the service and costs a show while an over-sized one only costs money: a
    custom layout (pane count unknown) asks for 16 inputs, an unknown encoding for 1080P.
    """
    layout_ids = list(layout_ids)
    if has_custom_layouts(layout_ids):
        return profile_for(MAX_PANES, media_encode)
    return profile_for(max_known_panes(layout_ids) or 1, media_encode)


def profile_for(inputs_needed: int, media_encode: int) -> str:
    """The cheapest profile mixing ``inputs_needed`` panes at the encoding's resolution
    (an unknown encoding: 1080P; audio only: Mixed_Audio)."""
    return covering_profiles(inputs_needed, media_encode)[0]


def covering_profiles(inputs_needed: int, media_encode: int) -> list[str]:
    """Every profile that can carry ``inputs_needed`` panes and the encoding, cheapest
    first (an unknown encoding counts as 1080P; audio only: just Mixed_Audio)."""
    encoding = MEDIA_ENCODES.get(media_encode)
    if encoding is not None and encoding.audio_only:
        return [MIXED_AUDIO]
    resolution = (encoding.resolution if encoding is not None else None) or Resolution.P1080
    candidates = [p for p in PROFILES.values()
                  if not p.audio_only and p.inputs >= inputs_needed
                  and p.resolution is not None and p.resolution >= resolution]
    return [p.name for p in sorted(candidates)]


def color_to_int(color: str) -> int:
    """'#RRGGBB' -> the service's R + G*256 + B*65536."""
    value = color.lstrip("#")
    r, g, b = int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
    return r + g * 256 + b * 65536


def int_to_color(value: int) -> str:
    """The service's integer colour -> '#RRGGBB'."""
    r, g, b = value & 0xFF, (value >> 8) & 0xFF, (value >> 16) & 0xFF
    return f"#{r:02X}{g:02X}{b:02X}"


class RemoteStatus(IntEnum):
    """GetMPUTaskStatus ``Status`` codes."""

    WAITING = 0
    RUNNING = 1
    STOPPED = 2
    STOPPED_BY_USER = 3
    CHANNEL_STOPPED = 4
    CDN_FAILURE = 5
    STREAM_URL_FAILURE = 6

    @property
    def active(self) -> bool:
        return self in (RemoteStatus.WAITING, RemoteStatus.RUNNING)

    @property
    def failed(self) -> bool:
        return self in (RemoteStatus.CDN_FAILURE, RemoteStatus.STREAM_URL_FAILURE)

    @property
    def meaning(self) -> str:
        return _STATUS_MEANINGS[self]


def status_meaning(code: int) -> str:
    """A ``Status`` code in words, for status and logs; a code we do not know says so."""
    try:
        return RemoteStatus(code).meaning
    except ValueError:
        return f"unknown status {code}"


_STATUS_MEANINGS = {
    RemoteStatus.WAITING: "waiting for the channel to start",
    RemoteStatus.RUNNING: "running",
    RemoteStatus.STOPPED: "stopped",
    RemoteStatus.STOPPED_BY_USER: "stopped by the user",
    RemoteStatus.CHANNEL_STOPPED: "stopped: the channel stopped",
    RemoteStatus.CDN_FAILURE: "stopped: CDN network problem",
    RemoteStatus.STREAM_URL_FAILURE: "stopped: stream URL problem",
}
