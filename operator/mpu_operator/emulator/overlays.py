"""Checks of what StartMPUTask and UpdateMPUTask carry beyond the 2020 reference.

Backgrounds, watermarks, clock widgets, pane images and texts, per-media subscriptions,
mix mode, and the start-only knobs both SDKs expose (TaskType, VadInterval, EnhancedParam
...). Ranges are :mod:`mpu_operator.rtc.params`' (one table for the client and for us).

Two wire forms arrive and are made one before checking (:func:`normalise`):

- flat, ``Watermarks.1.Url``, ``UserPanes.1.Images.1.Url`` (both SDKs' flattening, the
  documented names); and, from ``aliyun-python-sdk-rtc``, pane overlays with the pane and
  item numbers run together, ``UserPanes.11.Url``, read back as pane 1 item 1 (an image if
  it has image fields, a text if it has text fields; a longer run is ambiguous, refused);
- a whole list as JSON in one field, ``Watermarks=[{"Url": ...}]`` (the "shrink" style
  other SDK generations use), expanded to the flat form.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from mpu_operator import catalogue
from mpu_operator.rtc import params as wire

from . import errors

Params = Mapping[str, str]
Entry = dict[str, Any]

JSON_LISTS = ("LayoutIds", "UserPanes", "Backgrounds", "Watermarks", "ClockWidgets",
              "SubSpecUsers", "SubSpecAudioUsers", "SubSpecCameraUsers",
              "SubSpecShareScreenUsers", "UnsubSpecAudioUsers", "UnsubSpecCameraUsers",
              "UnsubSpecShareScreenUsers")
PICTURE_FIELDS = {"Url": "url", "X": "x", "Y": "y", "Width": "width", "Height": "height",
                  "ZOrder": "zOrder", "Display": "display"}
STYLE_FIELDS = {"X": "x", "Y": "y", "Alpha": "alpha", "ZOrder": "zOrder",
                "FontType": "fontType", "FontSize": "fontSize", "FontColor": "fontColor",
                "BorderWidth": "borderWidth", "BorderColor": "borderColor", "Box": "box",
                "BoxColor": "boxColor", "BoxBorderWidth": "boxBorderWidth"}
_IMAGE_ONLY = {"Url", "Width", "Height", "Display"}
_TEXT_ONLY = set(STYLE_FIELDS) - {"X", "Y", "ZOrder"} | {"Text"}
_RUN_TOGETHER = re.compile(r"^(UserPanes|UserPanels)\.(\d+)\.([A-Za-z]+)$")
MEDIA = {"Audio": "audio", "Camera": "camera", "ShareScreen": "shareScreen"}
START_INTEGERS = {"TaskType": "taskType", "PayloadType": "payloadType",
                  "ReportVad": "reportVad", "RtpExtInfo": "rtpExtInfo",
                  "VadInterval": "vadInterval", "TimeStampRef": "timeStampRef"}
ENHANCED_FLAGS = ("EnablePortraitSegmentation", "EnableVirtualConference",
                  "EnableCartoonPortrait", "EnableVoiceChanger", "EnableUserPaneBackground")


@dataclass(frozen=True)
class Live:
    """What UpdateMPUTask changes beside the layout, as ``/_emulator/tasks`` shows it."""

    backgrounds: tuple[Entry, ...] = ()
    watermarks: tuple[Entry, ...] = ()
    clock_widgets: tuple[Entry, ...] = ()
    subscriptions: dict[str, list[str]] = field(default_factory=dict)
    mix_mode: int = 0
    source_type: str = "camera"
    stream_type: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"backgrounds": list(self.backgrounds), "watermarks": list(self.watermarks),
                "clockWidgets": list(self.clock_widgets), **self.subscriptions,
                "mixMode": self.mix_mode, "sourceType": self.source_type,
                "streamType": self.stream_type}


# -- the two wire forms -> one -------------------------------------------------------------


def normalise(params: Params) -> dict[str, str]:
    """Flat parameters, whatever form the caller used (see the module's docstring)."""
    flat: dict[str, str] = {}
    for key, value in params.items():
        if key in JSON_LISTS:
            flat.update(_expand_json(key, value))
        else:
            flat[key] = value
    return _respell_run_together(flat)


def _expand_json(name: str, raw: str) -> dict[str, str]:
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, list):
        raise errors.invalid(errors.INVALID_PARAMETER,
                             f"{name} must be a JSON array or sent as {name}.N.")
    return _flatten(name, value)


def _flatten(prefix: str, value: Any) -> dict[str, str]:
    if isinstance(value, list):
        out: dict[str, str] = {}
        for n, item in enumerate(value, 1):
            out.update(_flatten(f"{prefix}.{n}", item))
        return out
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out.update(_flatten(f"{prefix}.{key}", item))
        return out
    return {} if value is None else {prefix: str(value)}


def _respell_run_together(params: dict[str, str]) -> dict[str, str]:
    """``UserPanes.11.Url`` (the old SDK) -> ``UserPanes.1.Images.1.Url``."""
    groups: dict[tuple[str, str], dict[str, str]] = {}
    out: dict[str, str] = {}
    for key, value in params.items():
        match = _RUN_TOGETHER.match(key)
        if match is None or match[3] not in PICTURE_FIELDS.keys() | _TEXT_ONLY:
            out[key] = value
            continue
        prefix, digits, name = match.groups()
        if len(digits) != 2 or "0" in digits:
            raise errors.invalid(errors.INVALID_USER_PANES,
                                 f"{key}: pane overlays are UserPanes.N.Images.M.{name} or "
                                 f"UserPanes.N.Texts.M.{name}; a run-together "
                                 f"UserPanes.NM.{name} is only readable for N, M in 1..9.")
        groups.setdefault((prefix, digits), {})[name] = value
    for (prefix, digits), group in groups.items():
        pane, item = digits[0], digits[1]
        if set(group) & _IMAGE_ONLY:
            out.update({f"{prefix}.{pane}.Images.{item}.{k}": v for k, v in group.items()
                        if k in PICTURE_FIELDS})
        if set(group) & _TEXT_ONLY:
            out.update({f"{prefix}.{pane}.Texts.{item}.{k}": v for k, v in group.items()
                        if k in STYLE_FIELDS or k == "Text"})
    return out


# -- values ------------------------------------------------------------------------------


def _number(name: str, raw: str, code: str, low: float, high: float | None) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise errors.invalid(code, f"{name} must be a number.") from None
    if not math.isfinite(value) or value < low or (high is not None and value > high):
        bound = f"{low:g}..{high:g}" if high is not None else f">= {low:g}"
        raise errors.invalid(code, f"{name} must be in {bound}, not {raw}.")
    return value


def _int(name: str, raw: str, code: str, low: int, high: int | None) -> int:
    if not raw.strip().lstrip("-").isdigit():
        raise errors.invalid(code, f"{name} must be an integer.")
    value = int(raw)
    if value < low or (high is not None and value > high):
        bound = f"{low}..{high}" if high is not None else f">= {low}"
        raise errors.invalid(code, f"{name} must be in {bound}, not {value}.")
    return value


def _bool(name: str, raw: str, code: str) -> bool:
    lowered = raw.strip().lower()
    if lowered not in ("true", "false"):
        raise errors.invalid(code, f"{name} must be true or false.")
    return lowered == "true"


def _image_url(name: str, raw: str, code: str) -> str:
    parts = urlsplit(raw.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise errors.invalid(code, f"{name} must be an http:// or https:// image URL.")
    return raw.strip()


def _value(name: str, wire_name: str, raw: str, code: str) -> Any:
    """One overlay field, checked against the ranges in :mod:`mpu_operator.rtc.params`."""
    if wire_name in ("X", "Y", "Width", "Height", "Alpha"):
        return _number(name, raw, code, wire.MIN_FRACTION, wire.MAX_FRACTION)
    if wire_name == "Url":
        return _image_url(name, raw, code)
    if wire_name == "Display":
        return _int(name, raw, code, min(wire.DISPLAY_MODES), max(wire.DISPLAY_MODES))
    if wire_name in ("FontColor", "BorderColor", "BoxColor"):
        return _int(name, raw, code, 0, wire.MAX_COLOR)
    if wire_name == "FontSize":
        return _int(name, raw, code, 1, catalogue.MAX_INT32)
    if wire_name == "Box":
        return _bool(name, raw, code)
    if wire_name == "Text":
        if not 1 <= len(raw) <= wire.MAX_TEXT_LENGTH:
            raise errors.invalid(code, f"{name} must be 1..{wire.MAX_TEXT_LENGTH} characters.")
        return raw
    return _int(name, raw, code, 0, catalogue.MAX_INT32)  # ZOrder, FontType, widths


# -- lists of overlays -------------------------------------------------------------------


def numbered(params: Params, prefix: str, code: str) -> dict[int, dict[str, str]]:
    """``prefix.N.Field`` -> {N: {Field: value}}, N consecutive from 1, at most MAX_OVERLAYS."""
    head = prefix + "."
    groups: dict[int, dict[str, str]] = {}
    for key, value in params.items():
        if not key.startswith(head):
            continue
        number, _, rest = key[len(head):].partition(".")
        if not number.isdigit() or not rest:
            raise errors.invalid(code, f"{key}: expected {prefix}.N.Field, N from 1.")
        groups.setdefault(int(number), {})[rest] = value
    if sorted(groups) != list(range(1, len(groups) + 1)):
        raise errors.invalid(code, f"{prefix}.N must be consecutive from 1.")
    if len(groups) > wire.MAX_OVERLAYS:
        raise errors.invalid(code, f"{prefix}.N allows at most {wire.MAX_OVERLAYS} entries.")
    return groups


def entry(prefix: str, fields: dict[str, str], known: dict[str, str],
          required: tuple[str, ...], code: str) -> Entry:
    """One overlay: its fields checked, under the spec's camelCase names."""
    unknown = sorted(set(fields) - set(known))
    if unknown:
        raise errors.invalid(code, f"{prefix}.{unknown[0]} is not a parameter; "
                                   f"{prefix} takes {', '.join(known)}.")
    for name in required:
        if fields.get(name, "") == "":
            raise errors.invalid(code, f"{prefix}.{name} must be given.")
    return {shown: _value(f"{prefix}.{name}", name, fields[name], code)
            for name, shown in known.items() if name in fields}


def pictures(params: Params, prefix: str, code: str, *, alpha: bool = False) -> tuple[Entry, ...]:
    known = {**PICTURE_FIELDS, **({"Alpha": "alpha"} if alpha else {})}
    required = ("Url", "X", "Y", "Width", "Height")
    return tuple(entry(f"{prefix}.{n}", f, known, required, code)
                 for n, f in sorted(numbered(params, prefix, code).items()))


def styles(params: Params, prefix: str, code: str, *, text: bool = False) -> tuple[Entry, ...]:
    known = {**({"Text": "text"} if text else {}), **STYLE_FIELDS}
    required = ("Text", "X", "Y") if text else ("X", "Y")
    return tuple(entry(f"{prefix}.{n}", f, known, required, code)
                 for n, f in sorted(numbered(params, prefix, code).items()))


def pane_overlays(number: int, rest: dict[str, str]) -> tuple[tuple[Entry, ...],
                                                             tuple[Entry, ...]]:
    """A pane's ``Images.M.*`` and ``Texts.M.*`` (``rest`` is the pane's fields)."""
    code, prefix = errors.INVALID_USER_PANES, f"UserPanes.{number}"
    images = pictures({f"{prefix}.{k}": v for k, v in rest.items() if k.startswith("Images.")},
                      f"{prefix}.Images", code)
    texts = styles({f"{prefix}.{k}": v for k, v in rest.items() if k.startswith("Texts.")},
                   f"{prefix}.Texts", code, text=True)
    return images, texts


# -- subscriptions and mix mode ----------------------------------------------------------


def _users(params: Params, name: str) -> list[str]:
    code = errors.INVALID_SUB_SPEC_USERS
    head = name + "."
    numbered_ = {}
    for key, value in params.items():
        if key.startswith(head):
            number = key[len(head):]
            if not number.isdigit():
                raise errors.invalid(code, f"{name}.N must be numbered 1, 2, 3...")
            numbered_[int(number)] = value
    if sorted(numbered_) != list(range(1, len(numbered_) + 1)):
        raise errors.invalid(code, f"{name}.N must be consecutive from 1.")
    if len(numbered_) > catalogue.MAX_SUBSCRIBE_USERS:
        raise errors.invalid(code, f"{name}.N allows at most "
                                   f"{catalogue.MAX_SUBSCRIBE_USERS} entries.")
    users = [numbered_[n] for n in sorted(numbered_)]
    if any(not u for u in users):
        raise errors.invalid(code, f"{name}.N must not be empty.")
    return users


def subscriptions(params: Params) -> dict[str, list[str]]:
    """``subSpecAudioUsers`` ... ``unsubSpecShareScreenUsers``; a user may not be both
    subscribed and unsubscribed for the same media."""
    shown: dict[str, list[str]] = {}
    for kind in MEDIA:
        sub, unsub = _users(params, f"SubSpec{kind}Users"), _users(params, f"UnsubSpec{kind}Users")
        both = sorted(set(sub) & set(unsub))
        if both:
            raise errors.invalid(errors.INVALID_SUB_SPEC_USERS,
                                 f"{both[0]!r} is in both SubSpec{kind}Users and "
                                 f"UnsubSpec{kind}Users.")
        shown[f"subSpec{kind}Users"], shown[f"unsubSpec{kind}Users"] = sub, unsub
    return shown


def _present(params: Params, name: str) -> str | None:
    value = params.get(name)
    return value if value not in (None, "") else None


def mix_mode(params: Params) -> int:
    raw = _present(params, "MixMode")
    modes = sorted(wire.MIX_MODES.values())
    return 0 if raw is None else _int("MixMode", raw, errors.INVALID_MIX_MODE, modes[0], modes[-1])


def live(params: Params) -> Live:
    """Everything UpdateMPUTask sets beside the layout; what is absent takes its default."""
    source = _present(params, "SourceType") or "camera"
    if source not in wire.SOURCE_TYPES:
        raise errors.invalid(errors.INVALID_SOURCE_TYPE,
                             f"SourceType must be one of {', '.join(wire.SOURCE_TYPES)}.")
    stream = _present(params, "StreamType")
    types = sorted(wire.STREAM_TYPES.values())
    return Live(
        backgrounds=pictures(params, "Backgrounds", errors.INVALID_BACKGROUNDS),
        watermarks=pictures(params, "Watermarks", errors.INVALID_WATERMARKS, alpha=True),
        clock_widgets=styles(params, "ClockWidgets", errors.INVALID_CLOCK_WIDGETS),
        subscriptions=subscriptions(params),
        mix_mode=mix_mode(params),
        source_type=source,
        stream_type=0 if stream is None else _int("StreamType", stream,
                                                  errors.INVALID_STREAM_TYPE, types[0],
                                                  types[-1]),
    )


def start_extras(params: Params) -> dict[str, Any]:
    """StartMPUTask's other knobs (integers >= 0, EnhancedParam flags): kept and shown,
    not acted on. OwnerId is the account's, accepted and dropped."""
    extras: dict[str, Any] = {}
    for name, shown in START_INTEGERS.items():
        raw = _present(params, name)
        if raw is not None:
            extras[shown] = _int(name, raw, errors.INVALID_PARAMETER, 0, None)
    owner = _present(params, "OwnerId")
    if owner is not None:
        _int("OwnerId", owner, errors.INVALID_PARAMETER, 0, None)
    enhanced: dict[str, Any] = {}
    for flag in ENHANCED_FLAGS:
        raw = _present(params, f"EnhancedParam.{flag}")
        if raw is not None:
            enhanced[flag[0].lower() + flag[1:]] = _bool(f"EnhancedParam.{flag}", raw,
                                                         errors.INVALID_PARAMETER)
    path = _present(params, "EnhancedParam.BackgroundPath")
    if path is not None:
        enhanced["backgroundPath"] = path
    if enhanced:
        extras["enhancedParam"] = enhanced
    return extras
