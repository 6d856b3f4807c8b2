"""Server-side printing: ``meta.k8s.io/v1`` ``Table`` answers, as ``kubectl get`` asks for.

``kubectl get`` sends ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io`` and prints
the columns it is given; that is how a CRD's ``additionalPrinterColumns`` reach the user.
Custom resources get their CRD's columns (``Name`` first, as apiextensions does); the core
types we serve get the columns of kube-apiserver's printers, trimmed to what we store.
"""
from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mpu_operator.sandbox.jsonpath import find
from mpu_operator.sandbox.resources import ResourceType

Body = dict[str, Any]
Cell = Callable[[Body], Any]
_NAME_COLUMN = {"name": "Name", "type": "string", "format": "name", "priority": 0,
                "description": "Name must be unique within a namespace."}


def wants_table(headers: Mapping[str, str]) -> bool:
    """Whether the client asked for a Table first (kubectl get does; -o yaml does not)."""
    accept = next((v for k, v in headers.items() if k.lower() == "accept"), "")
    first = accept.split(",")[0]
    return "as=Table" in first and "g=meta.k8s.io" in first


def table(rt: ResourceType, objects: Iterable[Body], crd_version: Body | None,
          resource_version: str, include_object: str = "Metadata") -> Body:
    """A Table of ``objects``: the columns of ``rt`` (its CRD's, if it has one), one row each."""
    columns = _columns(rt, crd_version)
    rows = [{"cells": [cell(obj) for _, cell in columns],
             "object": _row_object(obj, include_object)} for obj in objects]
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": resource_version},
            "columnDefinitions": [definition for definition, _ in columns], "rows": rows}


def _row_object(obj: Body, include_object: str) -> Body | None:
    if include_object == "None":
        return None
    if include_object == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata") or {}}


def _columns(rt: ResourceType, crd_version: Body | None) -> list[tuple[Body, Cell]]:
    name = (_NAME_COLUMN, lambda obj: obj["metadata"]["name"])
    if crd_version is not None:
        printer = crd_version.get("additionalPrinterColumns")
        if printer:
            return [name, *(_crd_column(col) for col in printer)]
    if rt.kind == "Event":  # the event printer: Name last, shown with -o wide only
        return [*_BUILT_IN["Event"], ({**_NAME_COLUMN, "priority": 1}, name[1])]
    return [name, *_BUILT_IN.get(rt.kind, _AGE_ONLY)]


def _crd_column(col: Mapping[str, Any]) -> tuple[Body, Cell]:
    definition = {"name": col["name"], "type": col.get("type", "string"),
                  "format": col.get("format", ""), "description": col.get("description", ""),
                  "priority": col.get("priority", 0)}
    path, kind = col["jsonPath"], col.get("type", "string")

    def cell(obj: Body) -> Any:
        found = find(obj, path)
        if not found or found[0] is None:
            return None
        value = found[0]
        if kind == "date":
            return age(value)
        if kind == "string" and not isinstance(value, str):
            return _go_print(value)
        return value
    return definition, cell


def _go_print(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _column(name: str, cell: Cell, priority: int = 0, kind: str = "string") -> tuple[Body, Cell]:
    return {"name": name, "type": kind, "format": "", "description": "",
            "priority": priority}, cell


def _created(obj: Body) -> Any:
    return age(obj["metadata"].get("creationTimestamp"))


def _event_last_seen(obj: Body) -> Any:
    return age(obj.get("lastTimestamp") or obj.get("eventTime") or obj.get("firstTimestamp")
               or obj["metadata"].get("creationTimestamp"))


def _involved(obj: Body) -> str:
    involved = obj.get("involvedObject") or {}
    return f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}"


_AGE_ONLY = [_column("Age", _created)]
_BUILT_IN: dict[str, list[tuple[Body, Cell]]] = {
    "Secret": [_column("Type", lambda o: o.get("type", "Opaque")),
               _column("Data", lambda o: len(o.get("data") or {}), kind="integer"),
               _column("Age", _created)],
    "Namespace": [_column("Status", lambda o: (o.get("status") or {}).get("phase", "Active")),
                  _column("Age", _created)],
    "Event": [_column("Last Seen", _event_last_seen),
              _column("Type", lambda o: o.get("type", "")),
              _column("Reason", lambda o: o.get("reason", "")),
              _column("Object", _involved),
              _column("Source", lambda o: (o.get("source") or {}).get("component")
                      or o.get("reportingComponent", ""), priority=1),
              _column("Message", lambda o: (o.get("message") or "").strip()),
              _column("Count", lambda o: o.get("count", 1), priority=1, kind="integer")],
    "CustomResourceDefinition": [_column("Created At", lambda o: o["metadata"].get(
        "creationTimestamp"), kind="date")],
}


def age(timestamp: Any, now: datetime.datetime | None = None) -> str | None:
    """An RFC 3339 timestamp as kubectl's AGE column shows it (``duration.HumanDuration``)."""
    if not isinstance(timestamp, str) or not timestamp:
        return None
    try:
        then = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    now = now or datetime.datetime.now(datetime.UTC)
    return human_duration((now - then).total_seconds())


def human_duration(seconds: float) -> str:
    """Go's ``k8s.io/apimachinery/pkg/util/duration.HumanDuration``."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes, hours = s // 60, s // 3600
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"
