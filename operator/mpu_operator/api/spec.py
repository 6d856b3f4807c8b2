"""The MPUTask spec: one pydantic model that is the single source of truth.

The CRD's schema is generated from these classes (see :mod:`mpu_operator.api.crd`), and the
operator and ``mpu-operator validate`` both judge a spec with :func:`parse_spec`, so the
cluster, the CI pipeline and the reconciler can never disagree about what is valid. Rules
a JSON schema cannot say (pane counts, profiles, subscriptions, the mix mode) live in
:mod:`mpu_operator.api.rules`, which takes plain values (:meth:`MPUTaskSpec.rule_facts`) and
knows nothing of this module; the model runs them while it is parsed.

Wire names are camelCase (aliases); Python attributes are snake_case. Enumerations are
``Literal`` strings, so ``spec.restart_policy == "OnFailure"`` is how to test them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from mpu_operator import catalogue
from mpu_operator.api import rules
from mpu_operator.api.base import MAX_NAME_LENGTH, ObjectName, RtcId
from mpu_operator.api.base import StrictModel as _Model
from mpu_operator.api.failover import (
    BACKUPS,
    BACKUPS_FROM,
    COUNT_RULE,
    DEFAULT_BACK,
    DEFAULT_STATUS_CODES,
    MAX_BACKUP_STREAM_URLS,
    FailoverSpec,
    backup_fields,
)
from mpu_operator.api.overlays import (
    MAX_OVERLAYS,
    MAX_PANE_OVERLAYS,
    BackgroundImage,
    ClockWidget,
    PaneImage,
    PaneText,
    Watermark,
)
from mpu_operator.api.problems import (
    COLOR_PATTERN,
    ROOT,
    SECRET_KEY_PATTERN,
    Problem,
    field_path,
    from_pydantic,
)
from mpu_operator.api.schedule import ScheduleSpec
from mpu_operator.api.urls import (
    MAX_STREAM_URL_LENGTH,
    STREAM_URL_SCHEMES,
    stream_url_problem,
)
from mpu_operator.rtc.params import LayoutParams, StartParams, UserPane
from mpu_operator.streamurl import StreamKey, stream_key

__all__ = ["MAX_NAME_LENGTH", "MAX_STREAM_URL_LENGTH", "STREAM_URL_SCHEMES", "MPUTaskSpec",
           "SpecResult", "parse_spec", "stream_url_problem"]

SourceType = Literal["camera", "shareScreen"]
RestartPolicy = Literal["Always", "OnFailure", "Never"]
DeletionPolicy = Literal["Delete", "Orphan"]
MixMode = Literal["Mix", "Single"]
StreamType = Literal["AudioVideo", "AudioOnly", "VideoOnly"]

#: The service's integers for the spec's words (StartMPUTask/UpdateMPUTask ``MixMode`` and
#: ``StreamType``), for whoever encodes the call.
WIRE_MIX_MODE: dict[str, int] = {"Single": 0, "Mix": 1}
WIRE_STREAM_TYPE: dict[str, int] = {"AudioVideo": 0, "AudioOnly": 1, "VideoOnly": 2}

#: Accepted values of ``encoding.taskProfile``: Auto first, then the catalogue's profiles.
TASK_PROFILES: tuple[str, ...] = (catalogue.AUTO, *catalogue.PROFILE_NAMES)

#: Deepest nesting parse_spec reads; the real spec is 6 levels deep
#: (layout.userPanes[i].images[j].url).
MAX_DEPTH = 32
#: Items of one list that parse_spec reads. Every list in the model allows far fewer
#: (a test keeps it so), so a longer list still gets its "at most N items" problem, and a
#: 2-million-item list costs no more than a 1001-item one.
MAX_LIST_READ = 1000

#: The error type under which the model reports the cross-field rules' Problems (in the
#: error's context), so that parse_spec can list them one by one.
RULES_ERROR = "mpu_operator_rules"


def _check_task_profile(value: str) -> str:
    if value not in TASK_PROFILES:
        raise ValueError(f"must be {catalogue.AUTO} or one of {', '.join(catalogue.PROFILE_NAMES)}")
    return value


def _check_stream_url(value: str) -> str:
    problem = stream_url_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _check_distinct_layouts(value: list[int]) -> list[int]:
    repeated = sorted({i for i in value if value.count(i) > 1})
    if repeated:
        raise ValueError(f"must not repeat a layout id (repeated: {_join(repeated)})")
    return value


def _join(items: list[int]) -> str:
    return ", ".join(str(i) for i in items)


#: A push URL as ``streamURL`` takes it (the rules of :func:`stream_url_problem`).
StreamURL = Annotated[str, Field(min_length=1, max_length=MAX_STREAM_URL_LENGTH),
                      AfterValidator(_check_stream_url)]


class SecretKeySelector(_Model):
    """A key in a Secret in the MPUTask's namespace."""

    name: ObjectName = Field(description="Name of the Secret, in the MPUTask's namespace.")
    key: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=SECRET_KEY_PATTERN,
                     description="Key in the Secret's data whose value is used.")


class StreamURLSource(_Model):
    """Where to read the stream URL from when it must not be written in the manifest."""

    secret_key_ref: SecretKeySelector = Field(
        alias="secretKeyRef",
        description="Secret key holding the RTMP push URL, auth query string included.")


class UserPaneSpec(_Model):
    """Pins one user to one pane of the layout."""

    pane_id: int = Field(alias="paneId", ge=0, le=catalogue.MAX_PANES - 1,
                         description="Pane number, 0-based, below the pane count of the "
                                     "largest layout in layoutIds.")
    user_id: RtcId = Field(alias="userId",
                             description="RTC user shown in this pane (at most 64 letters, "
                                       "digits, '_' and '-'). If the user is not in the "
                                       "channel, the service fills the pane with others "
                                       "in join order.")
    source_type: SourceType = Field(default="camera", alias="sourceType",
                                    description="Which of the user's streams to show: "
                                                "camera or shareScreen.")
    images: list[PaneImage] = Field(
        default_factory=list, max_length=MAX_PANE_OVERLAYS,
        description="Images over this pane (at most 4), e.g. a name plate; positions are "
                    "fractions 0 to 1. Changed live (UpdateMPUTask).")
    texts: list[PaneText] = Field(
        default_factory=list, max_length=MAX_PANE_OVERLAYS,
        description="Texts over this pane (at most 4), e.g. the speaker's name. Changed "
                    "live (UpdateMPUTask).")


class LayoutRef(_Model):
    """A custom layout defined by an MPULayout object."""

    name: ObjectName = Field(description="Name of an MPULayout in the MPUTask's namespace.")


class LayoutSpec(_Model):
    """How the mixed picture is laid out, and what is drawn over it. Changed live."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": [{
        "rule": "has(self.layoutIds) || has(self.layoutRefs)",
        "message": "set layoutIds or layoutRefs (or both)",
    }]})

    layout_ids: Annotated[list[Annotated[int, Field(ge=1, le=catalogue.MAX_INT32)]],
                          AfterValidator(_check_distinct_layouts)] = Field(
        default_factory=list, alias="layoutIds", min_length=1, max_length=catalogue.MAX_LAYOUTS,
        json_schema_extra={"x-kubernetes-list-type": "set"},
        description="Layout ids (1 to 16, distinct; with layoutRefs at most 16 in all). The "
                    "service switches between them by "
                    "the number of people in the channel, so no two may have the same pane "
                    "count: system layouts 2, 3, 4 and 13 all have 2 panes. System layouts: "
                    "1 (1 pane), 2-4 and 13 (2), 5 (3), 6 (4), 7 (5), 8 (6), 9 (7), 10 (8), "
                    "11 (9); other ids are custom layouts and are judged by the service. "
                    "Give layoutIds, layoutRefs or both.")
    layout_refs: list[LayoutRef] = Field(
        default_factory=list, alias="layoutRefs", max_length=catalogue.MAX_LAYOUTS,
        description="Custom layouts by MPULayout name, in this namespace (distinct; with "
                    "layoutIds at most 16 in all). Their pane counts are known only when "
                    "the MPULayouts are read.")
    crop_mode: int = Field(default=2, alias="cropMode", ge=0, le=2,
                           description="How a video fits its pane: 0 stretch to fill, "
                                       "1 keep the aspect ratio and crop, 2 keep the aspect "
                                       "ratio and pad.")
    background_color: str = Field(default="#000000", alias="backgroundColor",
                                  pattern=COLOR_PATTERN,
                                  description="Background colour, #RRGGBB.")
    user_panes: list[UserPaneSpec] = Field(
        default_factory=list, alias="userPanes", max_length=catalogue.MAX_USER_PANES,
        json_schema_extra={"x-kubernetes-validations": [{
            "rule": "self.all(p, self.exists_one(q, q.paneId == p.paneId))",
            "message": "paneId must be distinct across userPanes",
        }]},
        description="Users pinned to panes (at most 16, distinct paneIds). Panes not listed "
                    "are filled by the service in join order.")
    backgrounds: list[BackgroundImage] = Field(
        default_factory=list, max_length=MAX_OVERLAYS,
        description="Images behind the panes (at most 16); positions are fractions 0 to 1. "
                    "Changed live (UpdateMPUTask).")
    watermarks: list[Watermark] = Field(
        default_factory=list, max_length=MAX_OVERLAYS,
        description="Images over the mix, e.g. a logo (at most 16); positions are fractions "
                    "0 to 1. Changed live (UpdateMPUTask).")
    clock_widgets: list[ClockWidget] = Field(
        default_factory=list, alias="clockWidgets", max_length=MAX_OVERLAYS,
        description="Clocks drawn over the mix (at most 16). Changed live (UpdateMPUTask).")

    @property
    def ref_names(self) -> tuple[str, ...]:
        """The MPULayout names in layoutRefs, in order."""
        return tuple(ref.name for ref in self.layout_refs)

    def overlay_fields(self) -> list[str]:
        """The overlay fields that are set (field paths), e.g. ``layout.watermarks``."""
        names = [("layout.backgrounds", self.backgrounds), ("layout.watermarks", self.watermarks),
                 ("layout.clockWidgets", self.clock_widgets),
                 ("layout.userPanes", self.user_panes)]
        return [name for name, items in names if items]


class EncodingSpec(_Model):
    """The output stream's encoding and the billing profile that must cover it."""

    media_encode: int = Field(alias="mediaEncode", ge=0, le=catalogue.MAX_INT32,
                              description="Output encoding id (MediaEncode): 0 audio only, "
                                          "1 640x360, 20 1280x720, 30 1920x1080, and others "
                                          "from the service's table. An id we do not know "
                                          "is passed on with a warning.")
    task_profile: Annotated[str, AfterValidator(_check_task_profile)] = Field(
        default=catalogue.AUTO, alias="taskProfile",
        json_schema_extra={"enum": list(TASK_PROFILES)},
        description="Billing profile: NIN_RES mixes up to N inputs at up to RES, Mixed_Audio "
                    "is audio only. Auto picks the cheapest profile covering the layouts' "
                    "pane count and the encoding's resolution (16 inputs when a custom "
                    "layout is used, 1080P for an unknown encoding).")


class CredentialsRef(_Model):
    """A Secret with the Alibaba Cloud credentials to call RTC with."""

    name: ObjectName = Field(description="Name of a Secret in the MPUTask's namespace with "
                                         "keys accessKeyId, accessKeySecret and optionally "
                                         "securityToken.")


UserList = Annotated[list[RtcId], Field(max_length=catalogue.MAX_SUBSCRIBE_USERS,
                                        json_schema_extra={"x-kubernetes-list-type": "set"})]


class MediaUsers(_Model):
    """Users per kind of media: SubSpec*Users (subscribe) or UnsubSpec*Users (unsubscribe)."""

    audio_users: UserList = Field(default_factory=list, alias="audioUsers",
                                  description="Users whose audio this applies to (at most 16, "
                                              "distinct).")
    camera_users: UserList = Field(default_factory=list, alias="cameraUsers",
                                   description="Users whose camera video this applies to "
                                               "(at most 16, distinct).")
    share_screen_users: UserList = Field(default_factory=list, alias="shareScreenUsers",
                                         description="Users whose shared screen this applies "
                                                     "to (at most 16, distinct).")

    def as_lists(self) -> dict[str, tuple[str, ...]]:
        """Wire-style name (``audioUsers``, ...) -> users, for the rules."""
        return {"audioUsers": tuple(self.audio_users), "cameraUsers": tuple(self.camera_users),
                "shareScreenUsers": tuple(self.share_screen_users)}

    def __bool__(self) -> bool:
        return bool(self.audio_users or self.camera_users or self.share_screen_users)


class SingleSpec(_Model):
    """What a single stream relays (mixMode Single): one user's stream, without mixing."""

    source_type: SourceType = Field(default="camera", alias="sourceType",
                                    description="Which of the user's streams to relay: camera "
                                                "(default) or shareScreen.")
    stream_type: StreamType = Field(default="AudioVideo", alias="streamType",
                                    description="What of it to relay: AudioVideo (default), "
                                                "AudioOnly or VideoOnly.")


class MPUTaskSpec(_Model):
    """An MPU bypass stream: mixes an RTC channel into one RTMP stream (StartMPUTask).

    Build it with :func:`parse_spec`, which also sorts the rules' findings into errors
    and warnings; direct construction runs the same rules and raises on errors.
    """

    model_config = ConfigDict(json_schema_extra={
        "description": "Desired state of the MPU task: which channel to mix, how, and where "
                       "to push it.",
        "x-kubernetes-validations": [{
            "rule": "has(self.streamURL) != has(self.streamURLFrom)",
            "message": "exactly one of streamURL and streamURLFrom must be set",
        }, COUNT_RULE],
    })

    app_id: RtcId = Field(alias="appId", description="RTC application id.")
    channel_id: RtcId = Field(alias="channelId",
                              description="RTC channel to mix (at most 64 letters, digits, "
                                          "'_' and '-').")
    stream_url: Annotated[str, Field(min_length=1, max_length=MAX_STREAM_URL_LENGTH),
                          AfterValidator(_check_stream_url)] | None = Field(
        default=None, alias="streamURL",
        description="RTMP push URL (rtmp:// or rtmps://), auth query string included. "
                    "Prefer streamURLFrom: the query string is a secret. Exactly one of "
                    "streamURL and streamURLFrom.")
    stream_url_from: StreamURLSource | None = Field(
        default=None, alias="streamURLFrom",
        description="Read the push URL from a Secret, keeping its auth key out of Git. "
                    "Exactly one of streamURL and streamURLFrom.")
    backup_stream_urls: list[StreamURL] = Field(
        default_factory=list, alias=BACKUPS, max_length=MAX_BACKUP_STREAM_URLS,
        description="Backup push URLs (rtmp:// or rtmps://, each like streamURL), in "
                    "failover order: after a CDN or stream URL failure (see failover) the "
                    "task starts again at once on the next one. Each must be a different "
                    "stream (scheme, host, port and path) from streamURL and from the "
                    "others. At most 4 together with backupStreamURLsFrom, which come after "
                    "these. Prefer backupStreamURLsFrom: the query string is a secret.")
    backup_stream_urls_from: list[StreamURLSource] = Field(
        default_factory=list, alias=BACKUPS_FROM, max_length=MAX_BACKUP_STREAM_URLS,
        description="Backup push URLs read from Secrets, tried after backupStreamURLs, in "
                    "this order. Same rules as backupStreamURLs; a missing Secret or an "
                    "invalid URL in one blocks the start like one for streamURLFrom.")
    failover: FailoverSpec | None = Field(
        default=None,
        description="When to move to the next backup URL (after) and when to go back to "
                    "the primary (back). Default: after CDNFailure and URLFailure, back "
                    "Manual.")
    layout: LayoutSpec = Field(description="Layouts, panes and background of the mix.")
    encoding: EncodingSpec = Field(description="Output encoding and billing profile.")
    subscribe_users: list[RtcId] = Field(
        default_factory=list, alias="subscribeUsers", max_length=catalogue.MAX_SUBSCRIBE_USERS,
        description="Mix only these users (at most 16); empty mixes everyone. With mixMode "
                    "Single: exactly the one user whose stream is relayed.")
    subscribe: MediaUsers = Field(
        default_factory=MediaUsers,
        description="Take only these users' audio, camera or shared screen "
                    "(SubSpecAudioUsers, ...); beside subscribeUsers. Changed live "
                    "(UpdateMPUTask).")
    unsubscribe: MediaUsers = Field(
        default_factory=MediaUsers,
        description="Leave out these users' audio, camera or shared screen "
                    "(UnsubSpecAudioUsers, ...). A user may not be both subscribed and "
                    "unsubscribed to the same media. Changed live (UpdateMPUTask).")
    mix_mode: MixMode = Field(
        default="Mix", alias="mixMode",
        description="Mix (default): mix the channel into one picture. Single: relay one "
                    "user's stream without mixing (set single and one subscribeUsers entry).")
    single: SingleSpec | None = Field(
        default=None,
        description="With mixMode Single: which stream of the user to relay.")
    task_id: Annotated[str, Field(min_length=1, max_length=catalogue.MAX_TASK_ID_BYTES,
                                  pattern=catalogue.TASK_ID_PATTERN)] | None = Field(
        default=None, alias="taskId",
        description="Service TaskId of the first start (letters, digits, '_' and '-'; at "
                    "most 55). Each restart needs a fresh id, so later starts add '-N'. When "
                    "omitted the operator derives one from namespace, name and uid.")
    credentials_ref: CredentialsRef | None = Field(
        default=None, alias="credentialsRef",
        description="Secret with the credentials for this task; when omitted the "
                    "operator's own credentials are used.")
    suspend: bool = Field(default=False,
                          description="Stop the task and keep it stopped until set to false.")
    restart_policy: RestartPolicy = Field(
        default="OnFailure", alias="restartPolicy",
        description="When to start the task again after it stops by itself: Always; "
                    "OnFailure (after a CDN or stream URL failure, or a stop from outside "
                    "the operator, not when the channel ended); or Never.")
    deletion_policy: DeletionPolicy = Field(
        default="Delete", alias="deletionPolicy",
        description="On deleting the MPUTask: Delete stops the task at the service, "
                    "Orphan leaves it running.")
    schedule: ScheduleSpec | None = Field(
        default=None, description="When the broadcast starts and stops (startAt, stopAt).")

    @field_validator("stream_url", "stream_url_from", "task_id", "credentials_ref", "single",
                     "schedule", "failover", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        """Optional means "may be left out", not "may be null": the schema has no nullable."""
        if value is None:
            raise PydanticCustomError("not_null", "must not be null")
        return value

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Self:
        """Refuse a spec that breaks a cross-field rule; the Problems travel in the error."""
        problems = rules.errors(self.rule_facts())
        if problems:
            raise PydanticCustomError(RULES_ERROR, "{summary}", {
                "summary": "; ".join(str(p) for p in problems), "problems": tuple(problems)})
        return self

    def rule_facts(self) -> rules.Facts:
        """The plain values the cross-field rules judge."""
        layout = self.layout
        return rules.Facts(
            stream_url_set=self.stream_url is not None,
            stream_url_from_set=self.stream_url_from is not None,
            layout_ids=tuple(layout.layout_ids),
            pane_ids=tuple(p.pane_id for p in layout.user_panes),
            media_encode=self.encoding.media_encode,
            task_profile=self.encoding.task_profile,
            layout_refs=layout.ref_names,
            subscribe_users=tuple(self.subscribe_users),
            subscribe=self.subscribe.as_lists(),
            unsubscribe=self.unsubscribe.as_lists(),
            mix_mode=self.mix_mode,
            single_set=self.single is not None,
            overlays=tuple(layout.overlay_fields()),
            streams=self._streams(),
            stream_secrets=self._stream_secrets(),
            backups_written=len(self.backup_stream_urls),
            backups_from_secrets=len(self.backup_stream_urls_from),
            failover_set=self.failover is not None,
        )

    def stream_fields(self) -> list[str]:
        """The URL fields in failover order: the primary, then the backups."""
        primary = "streamURLFrom" if self.stream_url_from is not None else "streamURL"
        return [primary, *backup_fields(len(self.backup_stream_urls),
                                        len(self.backup_stream_urls_from))]

    def _streams(self) -> tuple[tuple[str, StreamKey | None], ...]:
        """(field, stream key) in failover order; None for a URL held in a Secret."""
        written = [self.stream_url, *self.backup_stream_urls,
                   *[None] * len(self.backup_stream_urls_from)]
        return tuple((name, stream_key(url) if url is not None else None)
                     for name, url in zip(self.stream_fields(), written, strict=True))

    def _stream_secrets(self) -> tuple[tuple[str, tuple[str, str] | None], ...]:
        """(field, (Secret name, key)) in failover order; None for a URL written out."""
        sources = [self.stream_url_from, *[None] * len(self.backup_stream_urls),
                   *self.backup_stream_urls_from]
        return tuple((name, (s.secret_key_ref.name, s.secret_key_ref.key) if s else None)
                     for name, s in zip(self.stream_fields(), sources, strict=True))

    def failover_codes(self) -> frozenset[int]:
        """The GetMPUTaskStatus codes that move the task to its next URL."""
        return self.failover.status_codes() if self.failover else DEFAULT_STATUS_CODES

    def failover_back(self) -> str:
        """Manual or WhenPrimaryHealthy."""
        return self.failover.back if self.failover else DEFAULT_BACK

    def resolved_profile(self) -> str:
        """The TaskProfile to send: the one named, or for Auto the cheapest that fits.

        An MPULayout in layoutRefs counts as a custom layout (16 inputs) until the operator
        knows its panes.
        """
        return rules.resolved_profile(self.encoding.task_profile, self.layout.layout_ids,
                                      bool(self.layout.layout_refs), self.encoding.media_encode)

    def layout_params(self) -> LayoutParams:
        """What StartMPUTask and UpdateMPULayout take for the layout."""
        layout = self.layout
        return LayoutParams(
            layout_ids=tuple(layout.layout_ids),
            crop_mode=layout.crop_mode,
            background_color=catalogue.color_to_int(layout.background_color),
            user_panes=tuple(UserPane(p.pane_id, p.user_id, p.source_type)
                             for p in layout.user_panes),
        )

    def start_params(self, task_id: str, stream_url: str) -> StartParams:
        """StartMPUTask's parameters; the caller resolves the TaskId and the URL (Secret)."""
        return StartParams(
            app_id=self.app_id,
            channel_id=self.channel_id,
            task_id=task_id,
            stream_url=stream_url,
            layout=self.layout_params(),
            media_encode=self.encoding.media_encode,
            task_profile=self.resolved_profile(),
            subscribe_users=tuple(self.subscribe_users),
        )


@dataclass(frozen=True)
class SpecResult:
    """A judged spec: ``spec`` is None exactly when there are errors."""

    spec: MPUTaskSpec | None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_spec(raw: Mapping[str, Any]) -> SpecResult:
    """Judge a spec as it comes from Kubernetes (camelCase). Never raises.

    Anything a user can write must end as a Problem in status, never as a crashed
    handler, so even non-mapping junk and internal surprises are turned into errors.
    """
    try:
        return _parse(raw)
    except Exception:  # the contract is "never raises"; the reason is not the user's to fix
        return SpecResult(None, [Problem(ROOT, "could not be read (internal error while "
                                               "validating; please report it)")])


def _parse(raw: object) -> SpecResult:
    if not isinstance(raw, Mapping):
        return SpecResult(None, [Problem(ROOT, "must be an object")])
    try:
        plain = _plain(raw)
    except _TooDeep as exc:  # name where it starts, not the 32-level path to the bottom
        return SpecResult(None, [Problem(field_path(exc.loc[:3]),
                                         f"nested too deeply (limit {MAX_DEPTH} levels)")])
    try:
        spec = MPUTaskSpec.model_validate(plain, strict=True, by_alias=True, by_name=False)
    except ValidationError as exc:
        details = exc.errors(include_url=False)  # input is read for None only, never shown
        return SpecResult(None, _problems(details))
    return SpecResult(spec, [], rules.warnings(spec.rule_facts()))


def _problems(details: list[ErrorDetails]) -> list[Problem]:
    """The rules' Problems as they were found, or pydantic's errors translated."""
    for detail in details:
        if detail["type"] == RULES_ERROR:  # only raised when every field is well-formed
            return list((detail.get("ctx") or {})["problems"])
    return from_pydantic(details, _allowed_names())


class _TooDeep(Exception):
    """A value nested deeper than any spec can be; ``loc`` is filled in while unwinding."""

    def __init__(self) -> None:
        super().__init__()
        self.loc: list[str | int] = []


def _plain(value: object, depth: int = 0) -> object:
    """Mappings (kopf's views included) as dicts, and tuples as lists, all the way down.

    Bounded: a spec is 4 levels deep, so anything past :data:`MAX_DEPTH` (or a cycle) is
    refused here rather than exhausting the stack, and lists are read up to one item past
    :data:`MAX_LIST_READ`. Linear in the size of what is read.
    """
    if isinstance(value, Mapping):
        _check_depth(depth)
        out = {}
        for key, item in value.items():
            try:
                out[_json_key(key)] = _plain(item, depth + 1)
            except _TooDeep as exc:
                exc.loc.insert(0, str(key))
                raise
        return out
    if isinstance(value, list | tuple):
        _check_depth(depth)
        items = []
        for index, item in enumerate(value[:MAX_LIST_READ + 1]):
            try:
                items.append(_plain(item, depth + 1))
            except _TooDeep as exc:
                exc.loc.insert(0, index)
                raise
        return items
    return value


def _json_key(key: object) -> object:
    """A key as kubectl sends it in JSON: a YAML 1.1 boolean key (``y:``, ``on:``) becomes
    "true" or "false", so the problem names what the API server would see."""
    if isinstance(key, bool):
        return "true" if key else "false"
    return key


def _check_depth(depth: int) -> None:
    if depth >= MAX_DEPTH:
        raise _TooDeep


def _allowed_names() -> dict[str, list[str]]:
    """Field path (without list indices) -> wire names allowed there, for 'did you mean'."""
    return {
        "": _aliases(MPUTaskSpec),
        "streamURLFrom": _aliases(StreamURLSource),
        "streamURLFrom.secretKeyRef": _aliases(SecretKeySelector),
        f"{BACKUPS_FROM}[]": _aliases(StreamURLSource),
        f"{BACKUPS_FROM}[].secretKeyRef": _aliases(SecretKeySelector),
        "failover": _aliases(FailoverSpec),
        "layout": _aliases(LayoutSpec),
        "encoding": _aliases(EncodingSpec),
        "credentialsRef": _aliases(CredentialsRef),
        "layout.userPanes[]": _aliases(UserPaneSpec),
        "layout.userPanes[].images[]": _aliases(PaneImage),
        "layout.userPanes[].texts[]": _aliases(PaneText),
        "layout.layoutRefs[]": _aliases(LayoutRef),
        "layout.backgrounds[]": _aliases(BackgroundImage),
        "layout.watermarks[]": _aliases(Watermark),
        "layout.clockWidgets[]": _aliases(ClockWidget),
        "subscribe": _aliases(MediaUsers),
        "unsubscribe": _aliases(MediaUsers),
        "single": _aliases(SingleSpec),
        "schedule": _aliases(ScheduleSpec),
    }


def _aliases(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]
