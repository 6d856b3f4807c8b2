"""The MPULayout API: a custom layout of the service (CreateMPULayout), as a resource.

One pydantic model is the single source of truth, as for MPUTask: the CRD
(``crds/mpulayout.yaml``) is generated from it, and the operator and ``mpu-operator
validate`` judge a spec with :func:`parse_layout_spec`. Ranges are the service's documented
ones (CreateMPULayout / ModifyMPULayout): ``AudioMixCount`` 0..6, ``X``/``Y`` in [0, 1],
``Width``/``Height`` in (0, 1], pane ids from 0, one major pane at most.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from mpu_operator import catalogue
from mpu_operator.api.problems import ROOT, Problem, from_pydantic
from mpu_operator.api.spec import CredentialsRef, RtcId
from mpu_operator.api.status import Condition
from mpu_operator.rtc.layout_params import LayoutPane, MPULayoutParams

KIND = "MPULayout"
#: The service's documented AudioMixCount range.
MAX_AUDIO_MIX_COUNT = 6
#: Deepest nesting read (the spec is 3 levels deep) and most list items read: as for
#: MPUTask, junk costs no more than the largest valid spec.
MAX_DEPTH = 16
MAX_LIST_READ = 100


class _Model(BaseModel):
    """Strict JSON types, no unknown fields, no input in errors (see api.spec._Model)."""

    model_config = ConfigDict(strict=True, extra="forbid", validate_by_alias=True,
                              validate_by_name=True, frozen=True, hide_input_in_errors=True)


#: A normalised coordinate: 0.0 (left/top) to 1.0 (right/bottom) of the output picture.
def _unit(description: str, *, positive: bool) -> Any:
    if positive:  # Kubernetes' OpenAPI v3 spells "greater than 0" as a boolean flag
        return Field(gt=0, le=1, description=description,
                     json_schema_extra={"minimum": 0, "exclusiveMinimum": True})
    return Field(ge=0, le=1, description=description)


class LayoutPaneSpec(_Model):
    """One pane of the layout: where it is and what lies above what."""

    pane_id: int = Field(alias="paneId", ge=0, le=catalogue.MAX_PANES - 1,
                         description="Pane number, 0-based, ordered from top left to bottom "
                                     "right (distinct, 0 to 15). MPUTask userPanes[].paneId "
                                     "refer to it.")
    major_pane: bool = Field(default=False, alias="majorPane",
                             description="The main pane; at most one pane may be it.")
    x: float = _unit("Left edge, as a share of the picture's width (0 to 1).", positive=False)
    y: float = _unit("Top edge, as a share of the picture's height (0 to 1).", positive=False)
    width: float = _unit("Width, as a share of the picture's width (above 0, at most 1).",
                         positive=True)
    height: float = _unit("Height, as a share of the picture's height (above 0, at most 1).",
                          positive=True)
    z_order: int = Field(default=0, alias="zOrder", ge=0, le=catalogue.MAX_INT32,
                         description="Stacking order: 0 is the bottom layer, 1 lies above "
                                     "0, and so on.")


class MPULayoutSpec(_Model):
    """A custom layout of one RTC application (CreateMPULayout). Build it with
    :func:`parse_layout_spec`."""

    model_config = ConfigDict(json_schema_extra={
        "description": "Desired custom layout: its application, audio mix and panes.",
        "x-kubernetes-validations": [{
            "rule": "self.appId == oldSelf.appId",
            "message": "appId is immutable: a layout belongs to one application; create "
                       "another MPULayout instead",
        }],
    })

    app_id: RtcId = Field(alias="appId",
                          description="RTC application the layout is created in (immutable).")
    audio_mix_count: int = Field(alias="audioMixCount", ge=0, le=MAX_AUDIO_MIX_COUNT,
                                 description="How many of the loudest users are mixed into "
                                             "the audio (0 to 6).")
    panes: list[LayoutPaneSpec] = Field(
        min_length=1, max_length=catalogue.MAX_PANES,
        json_schema_extra={"x-kubernetes-validations": [
            {"rule": "self.all(p, self.exists_one(q, q.paneId == p.paneId))",
             "message": "paneId must be distinct across panes"},
            {"rule": "self.filter(p, has(p.majorPane) && p.majorPane).size() <= 1",
             "message": "at most one pane may be the majorPane"},
        ]},
        description="The panes (1 to 16). The layout's pane count is the number of panes.")
    credentials_ref: CredentialsRef | None = Field(
        default=None, alias="credentialsRef",
        description="Secret with the credentials to manage the layout with; when omitted "
                    "the operator's own credentials are used.")

    @field_validator("credentials_ref", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("not_null", "must not be null")
        return value

    @field_validator("panes")
    @classmethod
    def _distinct(cls, panes: list[LayoutPaneSpec]) -> list[LayoutPaneSpec]:
        ids = [p.pane_id for p in panes]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError("paneId must be distinct across panes (repeated: "
                             f"{', '.join(str(i) for i in repeated)})")
        if sum(p.major_pane for p in panes) > 1:
            raise ValueError("at most one pane may be the majorPane")
        return panes

    def params(self) -> MPULayoutParams:
        """What CreateMPULayout and ModifyMPULayout take (without the name and id)."""
        return MPULayoutParams(
            app_id=self.app_id, audio_mix_count=self.audio_mix_count,
            panes=tuple(LayoutPane(p.pane_id, p.major_pane, p.x, p.y, p.width, p.height,
                                   p.z_order) for p in self.panes))


class MPULayoutStatus(_Model):
    """What the operator last did with the layout at the service."""

    model_config = ConfigDict(strict=False, extra="allow", json_schema_extra={
        "x-kubernetes-preserve-unknown-fields": True})

    observed_generation: int | None = Field(
        default=None, alias="observedGeneration",
        description="The .metadata.generation this status was written for.")
    layout_id: int | None = Field(default=None, alias="layoutId",
                                  description="The service's LayoutId: put it in an "
                                              "MPUTask's layout.layoutIds, or refer to this "
                                              "object with layout.layoutRefs.")
    layout_name: str | None = Field(
        default=None, alias="layoutName",
        description="The Name the layout has at the service. Written before "
                    "CreateMPULayout is called, so a create whose answer was lost is found "
                    "again (DescribeMPULayoutInfoList) instead of made twice.")
    app_id: str | None = Field(default=None, alias="appId",
                               description="The application the layout was created in.")
    applied_hash: str | None = Field(default=None, alias="appliedHash",
                                     description="Digest of the parameters last sent.")
    failures: int | None = Field(default=None,
                                 description="Calls that failed in a row (0 after a success).")
    error: str | None = Field(default=None, description="The last failed call and its code.")
    retry_at: datetime | None = Field(default=None, alias="retryAt",
                                      description="When the next call is due after a failure.")
    conditions: list[Condition] | None = Field(
        default=None,
        json_schema_extra={"x-kubernetes-list-type": "map",
                           "x-kubernetes-list-map-keys": ["type"]},
        description="Ready (created and in sync) and InUse (MPUTasks of this namespace "
                    "that refer to it; a delete waits for them).")


@dataclass(frozen=True)
class LayoutSpecResult:
    """A judged spec: ``spec`` is None exactly when there are errors."""

    spec: MPULayoutSpec | None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_layout_spec(raw: Mapping[str, Any]) -> LayoutSpecResult:
    """Judge an MPULayout spec as it comes from Kubernetes (camelCase). Never raises."""
    try:
        return _parse(raw)
    except Exception:  # "never raises": junk ends as a Problem in status, not a crash
        return LayoutSpecResult(None, [Problem(ROOT, "could not be read (internal error "
                                                     "while validating; please report it)")])


def _parse(raw: object) -> LayoutSpecResult:
    if not isinstance(raw, Mapping):
        return LayoutSpecResult(None, [Problem(ROOT, "must be an object")])
    plain = _plain(raw, 0)
    if plain is _TOO_DEEP:
        return LayoutSpecResult(None, [Problem(ROOT, f"nested too deeply (limit {MAX_DEPTH} "
                                                     "levels)")])
    try:
        spec = MPULayoutSpec.model_validate(plain, strict=True, by_alias=True, by_name=False)
    except ValidationError as exc:
        return LayoutSpecResult(None, from_pydantic(exc.errors(include_url=False),
                                                    _allowed_names()))
    return LayoutSpecResult(spec)


_TOO_DEEP = object()


def _plain(value: object, depth: int) -> object:
    """Mappings as dicts and tuples as lists, bounded in depth and list length."""
    if isinstance(value, Mapping | list | tuple) and depth >= MAX_DEPTH:
        return _TOO_DEEP
    if isinstance(value, Mapping):
        out = {key: _plain(item, depth + 1) for key, item in value.items()}
        return _TOO_DEEP if _TOO_DEEP in out.values() else out
    if isinstance(value, list | tuple):
        items = [_plain(item, depth + 1) for item in value[:MAX_LIST_READ + 1]]
        return _TOO_DEEP if any(i is _TOO_DEEP for i in items) else items
    return value


def _allowed_names() -> dict[str, list[str]]:
    return {"": _aliases(MPULayoutSpec), "panes[]": _aliases(LayoutPaneSpec),
            "credentialsRef": _aliases(CredentialsRef)}


def _aliases(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]
