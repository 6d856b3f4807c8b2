"""Admission of custom resources against their CRD, as a Kubernetes apiserver does it.

The sandbox's Kubernetes stand-in calls :func:`admit` on every create and update of a custom
resource. It runs the apiserver's steps in the apiserver's order (Kubernetes 1.34):

1. prune fields the structural schema does not know (``x-kubernetes-preserve-unknown-fields``
   keeps them; ``apiVersion``/``kind``/``metadata`` at the root are never pruned);
2. drop ``null`` for non-nullable fields that have no default;
3. apply defaults, recursively, array items included;
4. validate the ``openAPIV3Schema`` (kube-openapi rules and messages);
5. refuse duplicates in ``x-kubernetes-list-type`` ``set``/``map`` lists;
6. unless step 4 found a blocking error (type, enum, required, too long, too many), run every
   ``x-kubernetes-validations`` CEL rule (see :mod:`.admission_cel`).

Errors are strings in the apiserver's own words (``spec.channelId: Required value``), so
``kubectl`` users see what a real cluster would tell them. Nothing here raises on bad input:
junk in, errors out, bounded in time.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime
import ipaddress
import json
import math
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from mpu_operator.sandbox.admission_cel import cel_errors, compile_rule, same_json
from mpu_operator.sandbox.admission_errors import (
    DUPLICATE,
    INVALID,
    NOT_SUPPORTED,
    REQUIRED,
    TOO_LONG,
    TOO_MANY,
    TYPE_INVALID,
    FieldError,
    field_path,
    go_float,
    go_quote,
)

__all__ = ["Review", "admit", "invalid_status", "review"]

MAX_DEPTH: Final = 64  # deeper JSON is refused before any schema walk (recursion guard)
MAX_NODES: Final = 200_000  # ~ the apiserver's 3 MiB request limit in JSON values
_ROOT_META: Final = ("apiVersion", "kind", "metadata")
_IN: Final = "body"
_UNCHECKED: Final = ("some validation rules were not checked because the object was invalid; "
                     "correct the existing errors to complete validation")
_INT_RANGES: Final = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?"
                       r"(?:[Zz]|[+-]\d{2}:?\d{2})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")


@dataclass
class Review:
    """The outcome of admitting one object: what would be stored, and why it is refused."""

    object: dict[str, Any]
    errors: list[FieldError] = field(default_factory=list)
    unknown_fields: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.errors


def admit(crd: Mapping[str, Any], obj: Mapping[str, Any],
          old: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], list[str]]:
    """Prune, default and validate ``obj`` against ``crd``; ``old`` is the stored object on
    an update (for transition rules and ratcheting). Returns the object as it would be
    stored and the apiserver-style error lines (empty when it is admitted)."""
    result = review(crd, obj, old)
    return result.object, [str(e) for e in result.errors]


def review(crd: Mapping[str, Any], obj: Mapping[str, Any],
           old: Mapping[str, Any] | None = None) -> Review:
    """:func:`admit` with structured errors (for Status causes) and the pruned fields."""
    try:
        return _review(crd, obj, old)
    except RecursionError:
        return Review(_shallow(obj), [FieldError(INVALID, "<nil>", "object",
                                                 "object is nested too deeply")])


def invalid_status(crd: Mapping[str, Any], obj: Mapping[str, Any],
                   errors: Sequence[FieldError]) -> dict[str, Any]:
    """The 422 ``Status`` the apiserver answers with (``errors.NewInvalid``)."""
    names = crd.get("spec", {}).get("names", {}) if isinstance(crd.get("spec"), Mapping) else {}
    kind = str(names.get("kind", "Object"))
    group = str(crd.get("spec", {}).get("group", "")) if isinstance(crd.get("spec"), dict) else ""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    name = str(meta.get("name", "")) if isinstance(meta, Mapping) else ""
    lines = list(dict.fromkeys(str(e) for e in errors))
    joined = lines[0] if len(lines) == 1 else "[" + ", ".join(lines) + "]"
    qualified = f"{kind}.{group}" if group else kind
    return {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f"{qualified} {go_quote(name)} is invalid: {joined}",
        "reason": "Invalid", "code": 422,
        "details": {"name": name, "group": group, "kind": kind,
                    "causes": [{"reason": e.type, "message": e.body(), "field": e.field}
                               for e in errors]},
    }


def _review(crd: Mapping[str, Any], obj: Mapping[str, Any],
            old: Mapping[str, Any] | None) -> Review:
    if not isinstance(obj, Mapping):
        return Review({}, [FieldError(INVALID, "<nil>", _json_type(obj),
                                      "the object must be a JSON object")])
    guard = _size_problem(obj) or (_size_problem(old) if old is not None else None)
    if guard:
        return Review(_shallow(obj), [guard])
    data = _plain(obj)
    schema, problem = version_schema(crd, data)
    if problem is not None:
        return Review(data, [problem])
    unknown: list[str] = []
    _prune(data, schema, "", unknown, root=True)
    _drop_nulls(data, schema)
    default(data, schema)
    before = _plain(old) if isinstance(old, Mapping) else None
    checker = _Checker(ratchet=before is not None)
    checker.node(schema, data, "", before, before is not None)
    errors = checker.errors + list(_list_types(schema, data, ""))
    if any(e.blocking for e in errors):
        errors.append(FieldError(INVALID, "<nil>", None, _UNCHECKED))
    else:
        errors += cel_errors(schema, data, before, before is not None, before is not None)
    unique = {str(e): e for e in reversed(errors)}  # ToAggregate: each line once, first kept
    return Review(data, [e for e in errors if unique.get(str(e)) is e], sorted(unknown))


def version_schema(crd: Mapping[str, Any], obj: Mapping[str, Any],
                   ) -> tuple[dict[str, Any], FieldError | None]:
    """The ``openAPIV3Schema`` of the CRD version named by ``obj``'s apiVersion (the
    storage version when it names none)."""
    spec = crd.get("spec") if isinstance(crd.get("spec"), Mapping) else {}
    assert isinstance(spec, Mapping)
    group = str(spec.get("group", ""))
    versions = [v for v in spec.get("versions") or () if isinstance(v, Mapping)]
    wanted = obj.get("apiVersion")
    chosen = None
    if isinstance(wanted, str) and "/" in wanted:
        g, _, name = wanted.partition("/")
        chosen = next((v for v in versions if g == group and v.get("name") == name
                       and v.get("served", True)), None)
    elif wanted is None:
        chosen = next((v for v in versions if v.get("storage")), versions[0] if versions else None)
    if chosen is None:
        supported = [f"{group}/{v.get('name')}" for v in versions if v.get("served", True)]
        return {}, FieldError(NOT_SUPPORTED, "apiVersion", wanted,
                              "supported values: " + ", ".join(f'"{s}"' for s in supported))
    schema = (chosen.get("schema") or {}).get("openAPIV3Schema")
    return (dict(schema) if isinstance(schema, Mapping) else {}), None


# ---------------------------------------------------------------- pruning, nulls, defaults


def _prune(value: Any, schema: Mapping[str, Any] | None, path: str, unknown: list[str],
           root: bool = False) -> None:
    """structuralpruning.Prune: drop what the schema does not declare."""
    if isinstance(schema, Mapping) and schema.get("x-kubernetes-preserve-unknown-fields"):
        _prune_known(value, schema, path, unknown, root)
        return
    if isinstance(value, dict):
        props = (schema or {}).get("properties") or {}
        extra = (schema or {}).get("additionalProperties")
        embedded = root or bool((schema or {}).get("x-kubernetes-embedded-resource"))
        for key in list(value):
            if embedded and key in _ROOT_META:
                continue
            if isinstance(props.get(key), Mapping):
                _prune(value[key], props[key], _key_path(path, key), unknown)
            elif isinstance(extra, Mapping):
                _prune(value[key], extra, _key_path(path, key), unknown)
            elif extra is True:
                continue
            else:
                unknown.append(_key_path(path, key))
                del value[key]
    elif isinstance(value, list):
        items = (schema or {}).get("items")
        for index, item in enumerate(value):
            _prune(item, items if isinstance(items, Mapping) else None,
                   f"{path}[{index}]", unknown)


def _prune_known(value: Any, schema: Mapping[str, Any], path: str, unknown: list[str],
                 root: bool) -> None:
    """skipPrune: unknown fields stay, declared ones are still pruned inside."""
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if (root or schema.get("x-kubernetes-embedded-resource")) and key in _ROOT_META:
                continue
            if isinstance(props.get(key), Mapping):
                _prune(item, props[key], _key_path(path, key), unknown)
            elif isinstance(extra, Mapping):
                _prune(item, extra, _key_path(path, key), unknown)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            _prune_known(item, schema["items"], f"{path}[{index}]", unknown, False)


def _key_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _sub_schema(schema: Mapping[str, Any] | None, key: str) -> Mapping[str, Any] | None:
    if not isinstance(schema, Mapping):
        return None
    props = schema.get("properties") or {}
    if isinstance(props.get(key), Mapping):
        return props[key]
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, Mapping) else None


def _drop_nulls(value: Any, schema: Mapping[str, Any] | None) -> None:
    """PruneNonNullableNullsWithoutDefaults: a ``null`` the schema cannot hold and cannot
    default is treated as absent."""
    if isinstance(value, dict):
        for key in list(value):
            sub = _sub_schema(schema, key)
            if (value[key] is None and sub is not None and not sub.get("nullable")
                    and "default" not in sub):
                del value[key]
            else:
                _drop_nulls(value[key], sub)
    elif isinstance(value, list):
        items = schema.get("items") if isinstance(schema, Mapping) else None
        for item in value:
            _drop_nulls(item, items if isinstance(items, Mapping) else None)


def default(value: Any, schema: Mapping[str, Any] | None) -> None:
    """structuraldefaulting.Default: fill absent (or non-nullable null) fields from
    ``default``, then recurse, array items and additionalProperties included."""
    if not isinstance(schema, Mapping):
        return
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for key, sub in props.items():
            if (isinstance(sub, Mapping) and "default" in sub
                    and (key not in value or (value[key] is None and not sub.get("nullable")))):
                value[key] = copy.deepcopy(sub["default"])
        extra = schema.get("additionalProperties")
        for key in value:
            if isinstance(props.get(key), Mapping):
                default(value[key], props[key])
            elif isinstance(extra, Mapping):
                if value[key] is None and not extra.get("nullable") and "default" in extra:
                    value[key] = copy.deepcopy(extra["default"])
                default(value[key], extra)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        items = schema["items"]
        for index, item in enumerate(value):
            if item is None and not items.get("nullable") and "default" in items:
                value[index] = copy.deepcopy(items["default"])
            default(value[index], items)


# ---------------------------------------------------------------- openAPIV3Schema checks


class _Checker:
    """kube-openapi's SchemaValidator, node by node, with its messages and order: type,
    string, format, number, array, enum, object. With ``ratchet`` (an update), a value equal
    to the stored one is not re-judged (CRDValidationRatcheting)."""

    def __init__(self, ratchet: bool) -> None:
        self.errors: list[FieldError] = []
        self.ratchet = ratchet

    def node(self, schema: Mapping[str, Any], value: Any, path: str, old: Any,
             has_old: bool) -> None:
        if self.ratchet and has_old and same_json(value, old):
            return
        types = _types(schema)
        if value is None:
            if types and "null" not in types and not schema.get("nullable"):
                self._type_error(path, ",".join(types), "null")
            self._enum(schema, value, path)
            return
        self._type(schema, types, value, path)
        for sub in schema.get("allOf") or ():
            if isinstance(sub, Mapping):
                self.node(sub, value, path, old, has_old)
        if isinstance(value, str):
            self._string(schema, value, path)
            self._format(schema, value, path)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            self._number(schema, types, value, path)
        elif isinstance(value, list):
            self._array(schema, value, path, old)
        self._enum(schema, value, path)
        if isinstance(value, dict):
            self._object(schema, value, path, old)

    def _type_error(self, path: str, expected: str, found: str) -> None:
        self.errors.append(FieldError(TYPE_INVALID, field_path(path), found,
                                      f"{path} in {_IN} must be of type {expected}: "
                                      f'"{found}"'))

    def _type(self, schema: Mapping[str, Any], types: list[str], value: Any,
              path: str) -> None:
        found, fmt = _json_type(value), _json_format(value)
        wanted_fmt = schema.get("format") or ""
        float_int = found == "number" and float(value).is_integer() and "integer" in types
        int_float = found == "integer" and "number" in types
        if (not isinstance(value, str | list) and wanted_fmt and not (
                found in types or fmt == wanted_fmt or float_int or int_float)):
            self._type_error(path, wanted_fmt, fmt)
            return
        numeric = bool({"number", "integer"} & set(types))
        if not numeric and wanted_fmt and isinstance(value, str | list):
            return
        if types and not (found in types or float_int or int_float):
            self._type_error(path, ",".join(types), found)

    def _string(self, schema: Mapping[str, Any], value: str, path: str) -> None:
        length = len(value)  # characters, as utf8.RuneCount
        limit = _int(schema.get("maxLength"))
        if limit is not None and length > limit:
            self.errors.append(FieldError(TOO_LONG, field_path(path), None,
                                          f"may not be more than {limit} "
                                          f"{'byte' if limit == 1 else 'bytes'}"))
            return
        least = _int(schema.get("minLength"))
        if least is not None and length < least:
            self.errors.append(FieldError(INVALID, field_path(path), value,
                                          f"{path} in {_IN} should be at least {least} "
                                          "chars long"))
            return
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and pattern:
            problem = pattern_problem(pattern, value)
            if problem is not None:
                self.errors.append(FieldError(INVALID, field_path(path), value,
                                              f"{path} in {_IN} should match '{problem}'"))

    def _format(self, schema: Mapping[str, Any], value: str, path: str) -> None:
        fmt = schema.get("format")
        if isinstance(fmt, str) and not format_ok(fmt, value):
            self._type_error_value(path, fmt, value)

    def _type_error_value(self, path: str, expected: str, value: str) -> None:
        self.errors.append(FieldError(INVALID, field_path(path), value,
                                      f"{path} in {_IN} must be of type {expected}: "
                                      f"{go_quote(value)}"))

    def _number(self, schema: Mapping[str, Any], types: list[str], value: float,
                path: str) -> None:
        kind = types[0] if len(types) == 1 else ""
        fmt = schema.get("format") or ""
        if kind == "integer":
            low, high = _INT_RANGES.get(fmt if fmt in ("int32", "int64") else "int64",
                                        _INT_RANGES["int64"])
            if (isinstance(value, float) and not value.is_integer()) or not (
                    low <= value <= high):
                shown = f" with format {fmt}" if fmt in ("int32", "int64") else " (default format)"
                self.errors.append(FieldError(INVALID, "<nil>", "",
                                              f"Checked value must be of type integer{shown} "
                                              f"in {path}"))
        for key, excl, word in (("multipleOf", None, ""), ("maximum", "exclusiveMaximum", "less"),
                                ("minimum", "exclusiveMinimum", "greater")):
            bound = schema.get(key)
            if isinstance(bound, int | float) and not isinstance(bound, bool):
                self._bound(path, value, bound, key, bool(excl and schema.get(excl)), word)

    def _bound(self, path: str, value: float, bound: float, key: str, exclusive: bool,
               word: str) -> None:
        native_int = isinstance(value, int)
        limit: float = int(bound) if native_int and key != "multipleOf" else float(bound)
        if key == "multipleOf":
            if bound > 0 and not _multiple(value, bound):
                self.errors.append(FieldError(INVALID, field_path(path), value,
                                              f"{path} in {_IN} should be a multiple of "
                                              f"{_num(bound)}"))
            return
        bad = (value > limit if word == "less" else value < limit)
        if exclusive:
            bad = bad or value == limit
        if bad:
            cmp = f"{word} than" if exclusive else f"{word} than or equal to"
            shown = str(int(limit)) if native_int else go_float(float(limit))
            self.errors.append(FieldError(INVALID, field_path(path), value,
                                          f"{path} in {_IN} should be {cmp} {shown}"))

    def _array(self, schema: Mapping[str, Any], value: list[Any], path: str, old: Any) -> None:
        items = schema.get("items")
        if isinstance(items, Mapping):
            olds = _list_olds(schema, old)
            for index, item in enumerate(value):
                found, before = olds(item)
                self.node(items, item, f"{path}[{index}]", before, found)
        size = len(value)
        least, most = _int(schema.get("minItems")), _int(schema.get("maxItems"))
        if least is not None and size < least:
            self.errors.append(FieldError(INVALID, field_path(path), size,
                                          f"{path} in {_IN} should have at least {least} items"))
        if most is not None and size > most:
            self.errors.append(FieldError(TOO_MANY, field_path(path), size,
                                          f"must have at most {most} "
                                          f"{'item' if most == 1 else 'items'}"))
        if schema.get("uniqueItems") is True and _has_duplicates(value):
            self.errors.append(FieldError(INVALID, field_path(path), "",
                                          f"{path} in {_IN} shouldn't contain duplicates"))

    def _enum(self, schema: Mapping[str, Any], value: Any, path: str) -> None:
        allowed = schema.get("enum")
        if not isinstance(allowed, list) or not allowed:
            return
        if any(same_json(value, option) for option in allowed):
            return
        shown = [o if isinstance(o, str) else _json_text(o) for o in allowed]
        self.errors.append(FieldError(NOT_SUPPORTED, field_path(path), value,
                                      "supported values: " + ", ".join(
                                          go_quote(s) for s in shown)))

    def _object(self, schema: Mapping[str, Any], value: dict[str, Any], path: str,
                old: Any) -> None:
        count = len(value)
        least, most = _int(schema.get("minProperties")), _int(schema.get("maxProperties"))
        if least is not None and count < least:
            self.errors.append(FieldError(INVALID, field_path(path), count,
                                          f"{path} in {_IN} should have at least {least} "
                                          "properties"))
        if most is not None and count > most:
            self.errors.append(FieldError(TOO_MANY, field_path(path), count,
                                          f"must have at most {most} "
                                          f"{'item' if most == 1 else 'items'}"))
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        before = old if isinstance(old, dict) else {}
        is_root = path == ""
        for key, item in value.items():
            if is_root and key in _ROOT_META and key not in props:
                continue
            if key not in props and isinstance(extra, Mapping):
                self.node(extra, item, _key_path(path, key), before.get(key), key in before)
        for key, sub in props.items():
            if key in value and isinstance(sub, Mapping):
                self.node(sub, value[key], _key_path(path, key), before.get(key), key in before)
        for key in schema.get("required") or ():
            if isinstance(key, str) and key not in value:
                self.errors.append(FieldError(REQUIRED, _key_path(path, key)))


def _list_olds(schema: Mapping[str, Any], old: Any) -> Any:
    """Old items to ratchet against: by key for ``map`` lists, none otherwise."""
    keys = schema.get("x-kubernetes-list-map-keys") or []
    if schema.get("x-kubernetes-list-type") != "map" or not keys or not isinstance(old, list):
        return lambda _item: (False, None)
    by_key = {repr([o.get(k) for k in keys]): o for o in old if isinstance(o, dict)}

    def lookup(item: Any) -> tuple[bool, Any]:
        if not isinstance(item, dict):
            return False, None
        key = repr([item.get(k) for k in keys])
        return (key in by_key), by_key.get(key)

    return lookup


def _list_types(schema: Mapping[str, Any], value: Any, path: str) -> Iterator[FieldError]:
    """ValidateListSetsAndMaps: duplicates in ``set`` and ``map`` lists."""
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = props.get(key) if isinstance(props.get(key), Mapping) else (
                extra if isinstance(extra, Mapping) else None)
            if sub is not None:
                yield from _list_types(sub, item, _key_path(path, key))
    elif isinstance(value, list):
        kind = schema.get("x-kubernetes-list-type")
        if kind == "set":
            yield from _set_duplicates(value, path)
        elif kind == "map":
            yield from _map_duplicates(schema, value, path)
        items = schema.get("items")
        if isinstance(items, Mapping):
            for index, item in enumerate(value):
                yield from _list_types(items, item, f"{field_path(path)}[{index}]")


def _set_duplicates(value: list[Any], path: str) -> Iterator[FieldError]:
    seen: dict[str, int] = {}
    for index, item in enumerate(value):
        key = _json_text(item, canonical=True)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] == 2:
            yield FieldError(DUPLICATE, f"{field_path(path)}[{index}]", item)


def _map_duplicates(schema: Mapping[str, Any], value: list[Any], path: str,
                    ) -> Iterator[FieldError]:
    keys = [str(k) for k in schema.get("x-kubernetes-list-map-keys") or ()]
    for index, item in enumerate(value):
        if item is not None and not isinstance(item, dict):
            yield FieldError(INVALID, f"{field_path(path)}[{index}]", item,
                             "must be an object for an array of list-type map")
            return
    seen: set[str] = set()
    items = schema.get("items") if isinstance(schema.get("items"), Mapping) else {}
    assert isinstance(items, Mapping)
    props = items.get("properties") or {}
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            continue
        ident = {k: item.get(k, (props.get(k) or {}).get("default")) for k in keys}
        key = _json_text(ident, canonical=True)
        if key in seen:
            yield FieldError(DUPLICATE, f"{field_path(path)}[{index}]", ident)
        seen.add(key)


# ---------------------------------------------------------------- helpers


def pattern_problem(pattern: str, value: str) -> str | None:
    """None when ``value`` matches ``pattern``; else the pattern text for the message.

    Matching runs on the CEL library's regex engine (Rust ``regex``: RE2 syntax and
    linear-time like the apiserver's Go ``regexp``), so a hostile pattern or value cannot
    backtrack for ever."""
    program, _ = compile_rule("s.matches(p)")
    try:
        return None if program.execute({"s": value, "p": pattern}) is True else pattern
    except Exception as exc:
        reason = str(exc).replace("\n", " ")
        return f"{pattern}, but pattern is invalid: {reason}"


def format_ok(fmt: str, value: str) -> bool:
    """The string formats the apiserver checks (the ones it keeps for CRDs); an unknown
    format is not checked, as there."""
    checks = {
        "date-time": _is_datetime, "datetime": _is_datetime,
        "date": lambda v: bool(_DATE.match(v)) and _is_date(v),
        "byte": _is_base64, "uuid": _is_uuid, "uuid3": _is_uuid, "uuid4": _is_uuid,
        "uuid5": _is_uuid, "ipv4": lambda v: _is_ip(v, 4), "ipv6": lambda v: _is_ip(v, 6),
        "cidr": _is_cidr, "hostname": lambda v: bool(_HOSTNAME.match(v)),
    }
    check = checks.get(fmt)
    return True if check is None else check(value)


def _is_datetime(value: str) -> bool:
    if not _DATETIME.match(value):
        return False
    return _is_date(value[:10]) and 0 <= int(value[11:13]) < 24 and 0 <= int(value[14:16]) < 60


def _is_date(value: str) -> bool:
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) == 36


def _is_ip(value: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(value).version == version
    except ValueError:
        return False


def _is_cidr(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return "/" in value


def _types(schema: Mapping[str, Any]) -> list[str]:
    if schema.get("x-kubernetes-int-or-string"):
        return ["integer", "string"]
    kind = schema.get("type")
    if isinstance(kind, str) and kind:
        return [kind]
    if isinstance(kind, list):
        return [str(k) for k in kind]
    return []


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _json_format(value: Any) -> str:
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    return ""


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _num(value: float) -> str:
    return str(value) if isinstance(value, int) else go_float(value)


def _multiple(value: float, factor: float) -> bool:
    if isinstance(value, int) and isinstance(factor, int):
        return value % factor == 0
    quotient = value / factor
    return math.isfinite(quotient) and abs(quotient - round(quotient)) < 1e-9


def _has_duplicates(values: list[Any]) -> bool:
    seen: set[str] = set()
    for item in values:
        key = _json_text(item, canonical=True)
        if key in seen:
            return True
        seen.add(key)
    return False


def _json_text(value: Any, canonical: bool = False) -> str:
    try:
        return json.dumps(value, sort_keys=canonical, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False)
    except (TypeError, ValueError):
        return repr(value)


def _plain(value: Any, depth: int = 0) -> Any:
    """A deep copy as plain JSON types (tuples become lists, keys strings)."""
    if depth > MAX_DEPTH + 2:
        raise RecursionError("too deep")
    if isinstance(value, Mapping):
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _shallow(value: Any) -> dict[str, Any]:
    """A refused object's top level only (it may be too deep to copy)."""
    return {str(k): v for k, v in value.items()} if isinstance(value, Mapping) else {}


def _size_problem(value: Any) -> FieldError | None:
    """Refuse objects deeper or bigger than an apiserver would accept, before walking."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if depth > MAX_DEPTH:
            return FieldError(INVALID, "<nil>", "object",
                              f"object is nested deeper than {MAX_DEPTH} levels")
        if nodes > MAX_NODES:
            return FieldError(TOO_MANY, "<nil>", nodes,
                              f"must have at most {MAX_NODES} items")
        if isinstance(item, Mapping):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((v, depth + 1) for v in item)
    return None
