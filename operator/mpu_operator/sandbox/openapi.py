"""OpenAPI v3 documents (``/openapi/v3`` and one per group version), derived from CRDs.

kubectl needs them for three things:

* ``kubectl explain mputask.spec --recursive`` reads the schema of a kind, found by its
  ``x-kubernetes-group-version-kind`` in ``components.schemas``;
* ``kubectl apply``/``create`` validation: kubectl looks for a ``fieldValidation`` query
  parameter on the kind's PATCH operation; if present it leaves validation to the server
  (which is where the CRD's schema and CEL rules are enforced) instead of downloading the
  v2 document (not served here) to validate client-side;
* strategic-merge patches of built-in kinds (kubectl falls back to its compiled-in types).

A custom resource's schema is its CRD's ``openAPIV3Schema`` with ``metadata`` pointing
at ``ObjectMeta``, as the apiextensions builder does; the core kinds get short schemas.
"""
from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from mpu_operator.sandbox.resources import ResourceType

Body = dict[str, Any]
CrdLookup = Callable[[ResourceType], Body | None]  # the CRD version entry of a type, or None
_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_STR = {"type": "string"}
_STR_MAP = {"type": "object", "additionalProperties": _STR}


def gv_path(rt: ResourceType) -> str:
    """The key of a group version in ``/openapi/v3``: ``api/v1`` or ``apis/{group}/{version}``."""
    return f"apis/{rt.group}/{rt.version}" if rt.group else f"api/{rt.version}"


def root(resources: Iterable[ResourceType], crd_of: CrdLookup) -> Body:
    """``/openapi/v3``: one entry per group version, its URL carrying the content hash."""
    paths: Body = {}
    for key in sorted({gv_path(rt) for rt in resources}):
        doc = document(resources, key, crd_of)
        digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest().upper()
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return {"paths": paths}


def document(resources: Iterable[ResourceType], key: str, crd_of: CrdLookup) -> Body | None:
    """The OpenAPI document of one group version (``key`` as in :func:`gv_path`)."""
    served = [rt for rt in resources if gv_path(rt) == key]
    if not served:
        return None
    schemas: Body = {_OBJECT_META: _object_meta()}
    paths: Body = {}
    for rt in served:
        schemas[schema_name(rt)] = _schema(rt, crd_of(rt))
        paths.update(_paths(rt))
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"},
            "paths": paths, "components": {"schemas": schemas}}


def schema_name(rt: ResourceType) -> str:
    if not rt.group:
        return f"io.k8s.api.core.{rt.version}.{rt.kind}"
    if rt.kind == "CustomResourceDefinition":
        return f"io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.{rt.version}.{rt.kind}"
    reverse = ".".join(reversed(rt.group.split(".")))
    return f"{reverse}.{rt.version}.{rt.kind}"


def _gvk(rt: ResourceType) -> Body:
    return {"group": rt.group, "version": rt.version, "kind": rt.kind}


def _schema(rt: ResourceType, crd_version: Body | None) -> Body:
    given = ((crd_version or {}).get("schema") or {}).get("openAPIV3Schema")
    schema = copy.deepcopy(given) if given else _BUILT_IN.get(rt.kind, {"type": "object"})
    schema = copy.deepcopy(schema)
    props = schema.setdefault("properties", {})
    props.setdefault("apiVersion", {**_STR, "description": "APIVersion defines the versioned"
                                    " schema of this representation of an object."})
    props.setdefault("kind", {**_STR, "description": "Kind is a string value representing the"
                              " REST resource this object represents."})
    props["metadata"] = {"allOf": [{"$ref": f"#/components/schemas/{_OBJECT_META}"}],
                         "description": "Standard object's metadata."}
    schema["x-kubernetes-group-version-kind"] = [_gvk(rt)]
    return schema


def _paths(rt: ResourceType) -> Body:
    """Collection and item paths, each operation tagged with the kind (kubectl matches it)."""
    ns = "namespaces/{namespace}/" if rt.namespaced else ""
    root_ = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
    ref = {"$ref": f"#/components/schemas/{schema_name(rt)}"}
    collection, item = f"{root_}/{ns}{rt.plural}", f"{root_}/{ns}{rt.plural}/{{name}}"
    paths = {
        collection: {"get": _op(rt, "list", ref), "post": _op(rt, "post", ref, writes=True)},
        item: {"get": _op(rt, "get", ref), "put": _op(rt, "put", ref, writes=True),
               "patch": _op(rt, "patch", ref, writes=True), "delete": _op(rt, "delete", ref)},
    }
    if rt.status_subresource:
        paths[f"{item}/status"] = {"get": _op(rt, "get", ref),
                                   "patch": _op(rt, "patch", ref, writes=True),
                                   "put": _op(rt, "put", ref, writes=True)}
    return paths


def _op(rt: ResourceType, action: str, ref: Body, *, writes: bool = False) -> Body:
    params = [{"name": "fieldValidation", "in": "query", "schema": _STR,
               "description": "Ignore, Warn or Strict: what to do with unknown fields."},
              {"name": "fieldManager", "in": "query", "schema": _STR},
              {"name": "dryRun", "in": "query", "schema": _STR}] if writes else []
    return {"operationId": f"{action}{rt.kind}", "parameters": params,
            "responses": {"200": {"description": "OK",
                                  "content": {"application/json": {"schema": ref}}}},
            "x-kubernetes-action": action, "x-kubernetes-group-version-kind": _gvk(rt)}


def _object_meta() -> Body:
    return {"type": "object", "description": "Standard object metadata.", "properties": {
        "name": {**_STR, "description": "Name must be unique within a namespace."},
        "generateName": {**_STR, "description": "A prefix for a server-generated name."},
        "namespace": {**_STR, "description": "The namespace of the object."},
        "labels": {**_STR_MAP, "description": "Labels, for selecting objects."},
        "annotations": {**_STR_MAP, "description": "Annotations: non-identifying metadata."},
        "finalizers": {"type": "array", "items": _STR,
                       "description": "Must be empty before the object is deleted."},
        "uid": {**_STR, "description": "Set by the server: unique in time and space."},
        "resourceVersion": {**_STR, "description": "Set by the server: the version, opaque."},
        "generation": {"type": "integer", "format": "int64",
                       "description": "Set by the server: the version of the desired state."},
        "creationTimestamp": {**_STR, "format": "date-time", "description": "Set by the server."},
        "deletionTimestamp": {**_STR, "format": "date-time",
                              "description": "Set by the server when deletion was requested."},
        "ownerReferences": {"type": "array", "items": {"type": "object"},
                            "description": "Objects this one depends on."},
    }}


_BUILT_IN: dict[str, Body] = {
    "Secret": {"type": "object", "description": "Secret holds secret data of a certain type.",
               "properties": {
                   "data": {**_STR_MAP, "description": "Base64-encoded values by key."},
                   "stringData": {**_STR_MAP, "description": "Write-only plain values,"
                                  " merged into data."},
                   "type": {**_STR, "description": "Used to ease programmatic handling."},
                   "immutable": {"type": "boolean", "description": "Data cannot change."}}},
    "Namespace": {"type": "object", "description": "Namespace provides a scope for Names.",
                  "properties": {"spec": {"type": "object", "properties": {
                      "finalizers": {"type": "array", "items": _STR}}},
                      "status": {"type": "object", "properties": {"phase": _STR}}}},
    "Event": {"type": "object", "description": "A report of an event somewhere in the cluster.",
              "properties": {
                  "involvedObject": {"type": "object", "description": "What it is about.",
                                     "properties": {k: _STR for k in (
                                         "apiVersion", "kind", "name", "namespace", "uid",
                                         "fieldPath", "resourceVersion")}},
                  "reason": {**_STR, "description": "Why, short and machine-readable."},
                  "message": {**_STR, "description": "Why, for humans."},
                  "type": {**_STR, "description": "Normal or Warning."},
                  "count": {"type": "integer", "format": "int32"},
                  "firstTimestamp": {**_STR, "format": "date-time"},
                  "lastTimestamp": {**_STR, "format": "date-time"},
                  "source": {"type": "object", "properties": {"component": _STR,
                                                              "host": _STR}}}},
}
