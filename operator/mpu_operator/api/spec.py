"""The MPUTask spec: one pydantic model that is the single source of truth.

The CRD's schema is generated from these classes (see :mod:`mpu_operator.api.crd`), and the
operator and ``mpu-operator validate`` both judge a spec with :func:`parse_spec`, so the
cluster, the CI pipeline and the reconciler can never disagree about what is valid. Rules
a JSON schema cannot say (pane counts, profiles) live in :mod:`mpu_operator.api.rules` and
run as part of the same model.

Wire names are camelCase (aliases); Python attributes are snake_case. Enumerations are
``Literal`` strings, so ``spec.restart_policy == "OnFailure"`` is how to test them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from mpu_operator import catalogue
from mpu_operator.api import rules
from mpu_operator.api.problems import (
    COLOR_PATTERN,
    OBJECT_NAME_PATTERN,
    ROOT,
    SECRET_KEY_PATTERN,
    Problem,
    field_path,
    from_pydantic,
)
from mpu_operator.api.schedule import ScheduleSpec
from mpu_operator.rtc.params import LayoutParams, StartParams, UserPane

SourceType = Literal["camera", "shareScreen"]
RestartPolicy = Literal["Always", "OnFailure", "Never"]
DeletionPolicy = Literal["Delete", "Orphan"]

#: Accepted values of ``encoding.taskProfile``: Auto first, then the catalogue's profiles.
TASK_PROFILES: tuple[str, ...] = (catalogue.AUTO, *catalogue.PROFILE_NAMES)
STREAM_URL_SCHEMES = ("rtmp", "rtmps")
#: Generous for a push URL with an auth query; bounded so CEL cost stays estimable.
MAX_STREAM_URL_LENGTH = 2048
MAX_NAME_LENGTH = 253

#: Deepest nesting parse_spec reads; the real spec is 4 levels deep (layout.userPanes[i]).
MAX_DEPTH = 32
#: Items of one list that parse_spec reads. Every list in the model allows far fewer
#: (a test keeps it so), so a longer list still gets its "at most N items" problem, and a
#: 2-million-item list costs no more than a 1001-item one.
MAX_LIST_READ = 1000

#: Validation context key: parse_spec runs the rules itself, to sort errors from warnings.
_DEFER_RULES = "mpu_operator.defer_rules"


def _check_task_profile(value: str) -> str:
    if value not in TASK_PROFILES:
        raise ValueError(f"must be {catalogue.AUTO} or one of {', '.join(catalogue.PROFILE_NAMES)}")
    return value


def stream_url_problem(value: str) -> str | None:
    """The rule a push URL breaks, or None. Never quotes the URL (its query is a secret).

    The one check for every source of a URL: ``spec.streamURL`` here, and the value read
    from a ``streamURLFrom`` Secret by the operator, so both obey exactly the same rules:

    - ``rtmp://`` or ``rtmps://``, at most :data:`MAX_STREAM_URL_LENGTH` characters;
    - printable ASCII only: no spaces or control characters (percent-encode the rest);
    - a host that is a DNS name, an IPv4 address or a bracketed IPv6 address, and an
      optional port 1-65535;
    - a stream path.

    ``user:password@`` and a ``#fragment`` are allowed: some ingest servers authenticate
    that way, the service judges them, and every output redacts them like the query.
    """
    if not isinstance(value, str) or not value:
        return "must not be empty"
    if len(value) > MAX_STREAM_URL_LENGTH:
        return f"must be at most {MAX_STREAM_URL_LENGTH} characters"
    if not _URL_CHARACTERS.fullmatch(value):
        return ("must be printable ASCII without spaces or control characters "
                "(percent-encode anything else)")
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in STREAM_URL_SCHEMES:
        return _URL_SHAPE
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    problem = _host_port_problem(authority.rpartition("@")[2])
    if problem is not None:
        return problem
    path = re.split(r"[?#]", rest[len(authority):], maxsplit=1)[0]
    return _URL_SHAPE if path.strip("/") == "" else None


_URL_CHARACTERS = re.compile(r"[\x21-\x7e]+")
_URL_SHAPE = "must be an rtmp:// or rtmps:// URL with a host and a stream path"
_HOST_PORT = re.compile(r"(\[[^\]]*\]|[^:\[\]]*)(?::([^:]*))?")
_DNS_LABEL = re.compile(r"[A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9_])?")
_MAX_HOST_LENGTH = 253
_MAX_PORT = 65535


def _host_port_problem(authority: str) -> str | None:
    """What is wrong with ``host[:port]``, or None."""
    match = _HOST_PORT.fullmatch(authority)
    if match is None:
        return "host must be a DNS name, an IPv4 address or a bracketed IPv6 address"
    host, port = match.group(1), match.group(2)
    if not host:
        return _URL_SHAPE
    if not _host_ok(host):
        return "host must be a DNS name, an IPv4 address or a bracketed IPv6 address"
    if port is not None and not (port.isdigit() and len(port) <= 5
                                 and 1 <= int(port) <= _MAX_PORT):
        return f"port must be between 1 and {_MAX_PORT}"
    return None


def _host_ok(host: str) -> bool:
    if host.startswith("["):
        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return False
        return address.scope_id is None  # a zone (%eth0) means nothing to a remote CDN
    if re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return False
        return True
    return len(host) <= _MAX_HOST_LENGTH and all(_DNS_LABEL.fullmatch(label)
                                                 for label in host.split("."))


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


class _Model(BaseModel):
    """Common configuration: strict JSON types, no unknown fields, no input in errors.

    Strict, because the API server would refuse ``mediaEncode: "20"`` and ``validate`` must
    agree with it; ``extra="forbid"`` because a misspelt optional field would otherwise be
    silently ignored (the API server prunes it) and the user would never learn why; hidden
    input because a ValidationError's text could otherwise quote the stream URL's auth key.
    """

    model_config = ConfigDict(strict=True, extra="forbid", validate_by_alias=True,
                              validate_by_name=True, frozen=True, hide_input_in_errors=True)


ObjectName = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH,
                                  pattern=OBJECT_NAME_PATTERN)]
#: AppId, ChannelId and UserId: the service's documented length and character set.
RtcId = Annotated[str, Field(min_length=1, max_length=catalogue.MAX_RTC_ID_LENGTH,
                             pattern=catalogue.RTC_ID_PATTERN)]


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


class LayoutSpec(_Model):
    """How the mixed picture is laid out. The only part that can change on a live task."""

    layout_ids: Annotated[list[Annotated[int, Field(ge=1, le=catalogue.MAX_INT32)]],
                          AfterValidator(_check_distinct_layouts)] = Field(
        alias="layoutIds", min_length=1, max_length=catalogue.MAX_LAYOUTS,
        json_schema_extra={"x-kubernetes-list-type": "set"},
        description="Layout ids (1 to 16, distinct). The service switches between them by "
                    "the number of people in the channel, so no two may have the same pane "
                    "count: system layouts 2, 3, 4 and 13 all have 2 panes. System layouts: "
                    "1 (1 pane), 2-4 and 13 (2), 5 (3), 6 (4), 7 (5), 8 (6), 9 (7), 10 (8), "
                    "11 (9); other ids are custom layouts and are judged by the service.")
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
        }],
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
    layout: LayoutSpec = Field(description="Layouts, panes and background of the mix.")
    encoding: EncodingSpec = Field(description="Output encoding and billing profile.")
    subscribe_users: list[RtcId] = Field(
        default_factory=list, alias="subscribeUsers", max_length=catalogue.MAX_SUBSCRIBE_USERS,
        description="Mix only these users (at most 16); empty mixes everyone.")
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

    @field_validator("stream_url", "stream_url_from", "task_id", "credentials_ref",
                     "schedule", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        """Optional means "may be left out", not "may be null": the schema has no nullable."""
        if value is None:
            raise PydanticCustomError("not_null", "must not be null")
        return value

    @model_validator(mode="after")
    def _cross_field_rules(self, info: ValidationInfo) -> Self:
        """Refuse a spec that breaks a cross-field rule, unless parse_spec will judge it."""
        if isinstance(info.context, dict) and info.context.get(_DEFER_RULES):
            return self
        errors, _ = rules.check(self)
        if errors:
            raise ValueError("; ".join(str(p) for p in errors))
        return self

    def resolved_profile(self) -> str:
        """The TaskProfile to send: the one named, or for Auto the cheapest that fits."""
        if self.encoding.task_profile != catalogue.AUTO:
            return self.encoding.task_profile
        return catalogue.choose_profile(self.layout.layout_ids, self.encoding.media_encode)

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
        spec = MPUTaskSpec.model_validate(plain, strict=True, by_alias=True,
                                          by_name=False, context={_DEFER_RULES: True})
    except ValidationError as exc:
        details = exc.errors(include_url=False)  # input is read for None only, never shown
        return SpecResult(None, from_pydantic(details, _allowed_names()))
    errors, warnings = rules.check(spec)
    return SpecResult(None if errors else spec, errors, warnings)


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
                out[key] = _plain(item, depth + 1)
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


def _check_depth(depth: int) -> None:
    if depth >= MAX_DEPTH:
        raise _TooDeep


def _allowed_names() -> dict[str, list[str]]:
    """Field path (without list indices) -> wire names allowed there, for 'did you mean'."""
    return {
        "": _aliases(MPUTaskSpec),
        "streamURLFrom": _aliases(StreamURLSource),
        "streamURLFrom.secretKeyRef": _aliases(SecretKeySelector),
        "layout": _aliases(LayoutSpec),
        "encoding": _aliases(EncodingSpec),
        "credentialsRef": _aliases(CredentialsRef),
        "layout.userPanes[]": _aliases(UserPaneSpec),
        "schedule": _aliases(ScheduleSpec),
    }


def _aliases(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]
