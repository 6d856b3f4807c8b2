"""Decode the protobuf bodies ``kubectl create namespace`` and ``kubectl create secret`` send.

kubectl's typed clients POST core objects as ``application/vnd.kubernetes.protobuf`` and do
not fall back to JSON on a 415. Only those two kinds are decoded here (the fields kubectl
sets: metadata, Secret data/stringData/type/immutable, Namespace finalizers); any other
protobuf body is refused with 415. Field numbers are from ``k8s.io/api/core/v1/generated.proto``
and ``k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto``.
"""
from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

Body = dict[str, Any]
MAGIC = b"k8s\x00"


class DecodeError(ValueError):
    """Not a protobuf body we can read."""


def decode(raw: bytes) -> Body:
    """The JSON form of a protobuf-encoded Namespace or Secret."""
    if not raw.startswith(MAGIC):
        raise DecodeError("no k8s protobuf envelope")
    unknown = _fields(raw[len(MAGIC):])
    type_meta = _fields(_one(unknown, 1))
    api_version, kind = _str(type_meta, 1), _str(type_meta, 2)
    body = _fields(_one(unknown, 2))
    decoders = {("v1", "Namespace"): _namespace, ("v1", "Secret"): _secret}
    if (api_version, kind) not in decoders:
        raise DecodeError(f"cannot decode {api_version}/{kind} from protobuf; send JSON")
    return {"apiVersion": api_version, "kind": kind, "metadata": _meta(_fields(_one(body, 1))),
            **decoders[(api_version, kind)](body)}


def _namespace(body: dict[int, list[Any]]) -> Body:
    spec = _fields(_one(body, 2)) if 2 in body else {}
    finalizers = [v.decode() for v in spec.get(1, [])]
    return {"spec": {"finalizers": finalizers}} if finalizers else {}


def _secret(body: dict[int, list[Any]]) -> Body:
    out: Body = {}
    if 2 in body:
        out["data"] = {k: base64.b64encode(v).decode() for k, v in _map(body[2], text=False)}
    if 3 in body:
        out["type"] = _str(body, 3)
    if 4 in body:
        out["stringData"] = dict(_map(body[4], text=True))
    if 5 in body:
        out["immutable"] = bool(body[5][-1])
    return out


def _meta(meta: dict[int, list[Any]]) -> Body:
    out: Body = {}
    for number, name in ((1, "name"), (2, "generateName"), (3, "namespace"),
                         (6, "resourceVersion")):
        if number in meta and _str(meta, number):
            out[name] = _str(meta, number)
    for number, name in ((11, "labels"), (12, "annotations")):
        if number in meta:
            out[name] = dict(_map(meta[number], text=True))
    if 14 in meta:
        out["finalizers"] = [v.decode() for v in meta[14]]
    return out


def _map(entries: list[Any], *, text: bool) -> Iterator[tuple[str, Any]]:
    for entry in entries:
        fields = _fields(entry)
        value = fields.get(2, [b""])[-1]
        yield _str(fields, 1), value.decode() if text else value


def _one(fields: dict[int, list[Any]], number: int) -> bytes:
    if number not in fields:
        raise DecodeError(f"field {number} missing")
    value = fields[number][-1]
    if not isinstance(value, bytes):
        raise DecodeError(f"field {number} is not a message")
    return value


def _str(fields: dict[int, list[Any]], number: int) -> str:
    value = fields.get(number, [b""])[-1]
    return value.decode() if isinstance(value, bytes) else str(value)


def _fields(data: bytes) -> dict[int, list[Any]]:
    """Protobuf wire format: field number -> values (varints as int, the rest as bytes)."""
    out: dict[int, list[Any]] = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, pos = data[pos:pos + size], pos + size
        else:
            raise DecodeError(f"unsupported wire type {wire}")
        out.setdefault(number, []).append(value)
    if pos != len(data):
        raise DecodeError("truncated message")
    return out


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise DecodeError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
