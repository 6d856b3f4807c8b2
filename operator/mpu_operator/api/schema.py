"""Pydantic JSON Schema -> a Kubernetes *structural* OpenAPI v3 schema.

The API server only accepts structural schemas: every node typed, no ``$ref``, no
``anyOf`` standing in for Optional, no ``title``, no ``additionalProperties: false``, and no
``default: null``. Pydantic emits all of these, so this module inlines references, turns
``X | None`` into ``X`` (absence already means None) and drops what Kubernetes rejects.
Anything it cannot translate faithfully is an error at generation time, not a broken CRD.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

JSON = dict[str, Any]

#: Keywords dropped: documentation noise for Kubernetes or not allowed in a structural
#: schema (a closed object is the API server's default: unknown fields are pruned).
_DROPPED = {"title", "$defs", "additionalProperties"}
#: Keywords that must not survive translation.
_FORBIDDEN = {"$ref", "anyOf", "oneOf", "allOf", "not", "const", "$defs"}

#: Output key order, so the generated YAML reads top-down like a manual page.
_ORDER = ["description", "type", "format", "enum", "default", "pattern", "minLength",
          "maxLength", "minimum", "maximum", "minItems", "maxItems", "required",
          "properties", "items"]


class SchemaError(ValueError):
    """The model uses a construct that has no structural-schema equivalent."""


def structural_schema(model: type[BaseModel]) -> JSON:
    """The model's schema (by alias, as on the wire) in a form the API server accepts."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    return _node(raw, raw.get("$defs", {}), path=model.__name__)


def _node(node: JSON, defs: JSON, path: str) -> JSON:
    node = _unwrap(_inline(node, defs), defs, path)
    out: JSON = {}
    for key, value in node.items():
        if key in _DROPPED or (key == "default" and value is None):
            continue
        if key in _FORBIDDEN:
            raise SchemaError(f"{path}: '{key}' has no structural equivalent")
        if key == "properties":
            value = {name: _node(sub, defs, f"{path}.{name}") for name, sub in value.items()}
        elif key == "items":
            value = _node(value, defs, f"{path}[]")
        out[key] = value
    if "type" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
        raise SchemaError(f"{path}: no type")
    return _ordered(out)


def _inline(node: JSON, defs: JSON) -> JSON:
    """Replace a ``$ref`` by its definition; the referring node's keys (description) win."""
    ref = node.get("$ref")
    if ref is None:
        return node
    target = defs[ref.rsplit("/", 1)[-1]]
    rest = {k: v for k, v in node.items() if k != "$ref"}
    return {**_inline(target, defs), **rest}


def _unwrap(node: JSON, defs: JSON, path: str) -> JSON:
    """``anyOf: [X, null]`` (an Optional field) -> X merged with the field's own keys."""
    options = node.get("anyOf")
    if options is None:
        return node
    real = [o for o in options if o != {"type": "null"}]
    if len(real) != 1:
        raise SchemaError(f"{path}: unions other than Optional are not supported")
    rest = {k: v for k, v in node.items() if k != "anyOf"}
    return {**_inline(real[0], defs), **rest}


def _ordered(node: JSON) -> JSON:
    known = [k for k in _ORDER if k in node]
    others = sorted(k for k in node if k not in _ORDER)
    return {k: node[k] for k in known + others}
