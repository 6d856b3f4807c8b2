"""The object rules of a kube-apiserver, as pure functions over JSON dicts.

Kept apart from the HTTP plumbing in :mod:`mpu_operator.sandbox.kube` so that each rule
reads as one small function and the emulator reads as "parse, apply rules, store, notify".
Every rule here names the apiserver behaviour it copies; none of them does I/O.
"""
from __future__ import annotations

import base64
import copy
import datetime
import random
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import jsonpatch
import jsonpointer
from kmock import KubernetesError

from mpu_operator.sandbox.resources import ResourceType

Body = dict[str, Any]

# The characters apiserver's names.SimpleNameGenerator uses (no vowels, no look-alikes).
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

# Fields of metadata that only the server writes; a client's value is ignored on update.
_SERVER_OWNED_META = ("uid", "creationTimestamp", "deletionTimestamp",
                      "deletionGracePeriodSeconds", "generation", "namespace", "name")


def api_error(code: int, reason: str, message: str, **details: Any) -> KubernetesError:
    """A ``Status`` failure as the apiserver sends it (kmock renders the JSON)."""
    return KubernetesError(status=code, reason=reason, message=message, details=details or None)


def not_found(rt: ResourceType, name: str) -> KubernetesError:
    return api_error(404, "NotFound", f'{_qualified(rt)} "{name}" not found',
                     name=name, group=rt.group, kind=rt.plural)


def conflict(rt: ResourceType, name: str) -> KubernetesError:
    return api_error(409, "Conflict", f'Operation cannot be fulfilled on {_qualified(rt)} "{name}":'
                     " the object has been modified; please apply your changes to the latest"
                     " version and try again", name=name, group=rt.group, kind=rt.plural)


def invalid(rt: ResourceType, name: str, message: str) -> KubernetesError:
    return api_error(422, "Invalid", f'{rt.kind} "{name}" is invalid: {message}',
                     name=name, group=rt.group, kind=rt.kind)


def _qualified(rt: ResourceType) -> str:
    return f"{rt.plural}.{rt.group}" if rt.group else rt.plural


def now_rfc3339() -> str:
    """Timestamps as the apiserver writes them: UTC, second precision, ``Z``."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_name(prefix: str, taken: Callable[[str], bool]) -> str:
    """``metadata.generateName``: the prefix plus 5 random characters, retried on a clash."""
    for _ in range(100):
        name = prefix + "".join(random.choices(_NAME_ALPHABET, k=5))
        if not taken(name):
            return name
    raise api_error(409, "AlreadyExists", f"no free name for generateName={prefix!r}")


def check_name(rt: ResourceType, name: str) -> None:
    """Names of the resources we serve must be DNS subdomains (422 otherwise)."""
    if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        raise invalid(rt, name, f"metadata.name: Invalid value: {name!r}: a lowercase RFC 1123"
                      " subdomain must consist of lower case alphanumeric characters, '-' or '.'")


def new_object(rt: ResourceType, body: Body, namespace: str | None, revision: int) -> Body:
    """What POST stores: server-owned metadata filled in, status dropped if a subresource."""
    obj = copy.deepcopy(body)
    obj.setdefault("apiVersion", rt.api_version)
    obj.setdefault("kind", rt.kind)
    meta = obj.setdefault("metadata", {})
    meta.pop("deletionTimestamp", None)
    meta.pop("deletionGracePeriodSeconds", None)
    if rt.namespaced:
        meta["namespace"] = namespace
    meta.update(uid=str(uuid.uuid4()), creationTimestamp=now_rfc3339(),
                resourceVersion=str(revision))
    if rt.custom:
        meta["generation"] = 1
    if rt.status_subresource:
        obj.pop("status", None)  # customResourceStrategy.PrepareForCreate
    if rt.kind == "Namespace":
        obj["status"] = {"phase": "Active"}
    if rt.kind == "Secret" and not obj.get("type"):
        obj["type"] = "Opaque"  # SetDefaults_Secret
    return fold_string_data(obj)


def fold_string_data(obj: Body) -> Body:
    """Secrets: ``stringData`` is write-only; the server merges it into base64 ``data``."""
    if obj.get("kind") == "Secret" and "stringData" in obj:
        data = obj.setdefault("data", {}) or {}
        for key, value in (obj.pop("stringData") or {}).items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data
    return obj


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: dicts merge, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def apply_patch(rt: ResourceType, current: Body, content_type: str, patch: Any) -> Body:
    """Apply a PATCH body by its content type, with the apiserver's status codes for failures."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/merge-patch+json" or (
            kind == "application/strategic-merge-patch+json" and not rt.custom):
        if not isinstance(patch, Mapping):
            raise api_error(400, "BadRequest", "a merge patch must be a JSON object")
        return merge_patch(current, patch)
    if kind == "application/json-patch+json":
        return _json_patch(rt, current, patch)
    raise api_error(415, "UnsupportedMediaType",
                    f"the body of the request was in an unknown format - accepted media types"
                    f" include: application/json-patch+json, application/merge-patch+json"
                    f" (got {content_type!r})")


def _json_patch(rt: ResourceType, current: Body, ops: Any) -> Body:
    """RFC 6902. A failed ``test`` or a bad path is 422, as in apiserver's applyJSPatch."""
    if not isinstance(ops, list):
        raise api_error(400, "BadRequest", "a JSON patch must be a JSON array of operations")
    try:
        patched: Body = jsonpatch.apply_patch(current, ops, in_place=False)
    except jsonpatch.InvalidJsonPatch as e:
        raise api_error(400, "BadRequest", f"invalid JSON patch: {e}") from e
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as e:
        raise api_error(422, "Invalid", f"the server rejected our request due to an error in"
                        f" our request: {e}", kind=rt.kind) from e
    return patched


def check_precondition(rt: ResourceType, current: Body, wanted: Body) -> None:
    """Optimistic concurrency: a resourceVersion in the new body must be the stored one (409)."""
    wanted_rv = (wanted.get("metadata") or {}).get("resourceVersion")
    if wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
        raise conflict(rt, current["metadata"]["name"])


def updated_object(rt: ResourceType, old: Body, new: Body, subresource: str | None) -> Body:
    """What an update stores, before versioning: the apiserver's update strategies.

    * ``/status`` changes only ``status`` (customResourceStatusStrategy.PrepareForUpdate);
    * the main resource of a type with the status subresource keeps the old ``status``;
    * server-owned metadata (uid, timestamps, generation, name, namespace) keeps old values;
    * no finalizer may be added to an object that is being deleted (422).
    """
    if subresource == "status":
        result = copy.deepcopy(old)
        _put_or_drop(result, "status", new.get("status"))
    else:
        result = copy.deepcopy(new)
        if rt.status_subresource:
            _put_or_drop(result, "status", old.get("status"))
    meta = result.setdefault("metadata", {})
    for key in (*_SERVER_OWNED_META, "resourceVersion"):
        _put_or_drop(meta, key, old["metadata"].get(key))
    result["apiVersion"], result["kind"] = old["apiVersion"], old["kind"]
    _forbid_new_finalizers(rt, old, result)
    return fold_string_data(result)


def _put_or_drop(mapping: Body, key: str, value: Any) -> None:
    if value is None:
        mapping.pop(key, None)
    else:
        mapping[key] = copy.deepcopy(value)


def _forbid_new_finalizers(rt: ResourceType, old: Body, new: Body) -> None:
    if not old["metadata"].get("deletionTimestamp"):
        return
    added = set(new["metadata"].get("finalizers") or ()) - set(
        old["metadata"].get("finalizers") or ())
    if added:
        raise invalid(rt, old["metadata"]["name"], f"metadata.finalizers: Forbidden: no new"
                      f" finalizers can be added if the object is being deleted, found new"
                      f" finalizers {sorted(added)!r}")


def spec_changed(rt: ResourceType, old: Body, new: Body) -> bool:
    """Whether ``metadata.generation`` must grow: any change outside metadata (and status)."""
    ignored = {"metadata", "status"} if rt.status_subresource else {"metadata"}
    return {k: v for k, v in old.items() if k not in ignored} != {
        k: v for k, v in new.items() if k not in ignored}


def mark_deleting(rt: ResourceType, obj: Body) -> Body:
    """DELETE of an object with finalizers (registry Store's markAsDeleting).

    Sets ``deletionTimestamp`` and ``deletionGracePeriodSeconds: 0`` and, for objects that
    have a generation, bumps it: watchers of ``observedGeneration`` see deletion as a change.
    """
    result = copy.deepcopy(obj)
    meta = result["metadata"]
    meta["deletionTimestamp"] = now_rfc3339()
    meta["deletionGracePeriodSeconds"] = 0
    if meta.get("generation"):
        meta["generation"] += 1
    return result


def label_matcher(selector: str) -> Callable[[Body], bool]:
    """``labelSelector``: equality (``k=v``, ``k==v``, ``k!=v``) and existence (``k``, ``!k``)."""
    tests: list[Callable[[Mapping[str, str]], bool]] = []
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if match := re.fullmatch(r"([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)", term):
            key, op, value = match.groups()
            tests.append(_label_equals(key, value, op != "!="))
        elif match := re.fullmatch(r"(!?)([\w./-]+)", term):
            negated, key = match.groups()
            tests.append(_label_exists(key, not negated))
        else:
            raise api_error(400, "BadRequest", f"unsupported labelSelector term: {term!r}")
    return lambda obj: all(t((obj.get("metadata") or {}).get("labels") or {}) for t in tests)


def _label_exists(key: str, present: bool) -> Callable[[Mapping[str, str]], bool]:
    return lambda labels: (key in labels) == present


def _label_equals(key: str, value: str, equal: bool) -> Callable[[Mapping[str, str]], bool]:
    return lambda labels: (labels.get(key) == value) == equal


#: The field selectors each kind supports beyond metadata.name/namespace (the apiserver's
#: field label conversion functions; custom resources support only those two).
_FIELD_LABELS: dict[str, frozenset[str]] = {
    "Event": frozenset({"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                        "involvedObject.uid", "involvedObject.apiVersion",
                        "involvedObject.resourceVersion", "involvedObject.fieldPath",
                        "reason", "reportingComponent", "source", "type"}),
    "Secret": frozenset({"type"}),
    "Namespace": frozenset({"status.phase"}),
}


def field_matcher(selector: str, kind: str = "") -> Callable[[Body], bool]:
    """``fieldSelector``: ``=``, ``==`` and ``!=`` on metadata.name/namespace, plus the fields
    the kind supports (``involvedObject.*`` of Events, as ``kubectl describe`` asks)."""
    allowed = {"metadata.name", "metadata.namespace"} | _FIELD_LABELS.get(kind, frozenset())
    tests: list[Callable[[Body], bool]] = []
    for term in filter(None, (t.strip() for t in selector.split(","))):
        match = re.fullmatch(r"([\w.]+)\s*(==|=|!=)\s*(\S*)", term)
        if match is None or match.group(1) not in allowed:
            raise api_error(400, "BadRequest", f'field label not supported: "{term}"')
        tests.append(_field_test(match.group(1), match.group(3), match.group(2) != "!="))
    return lambda obj: all(t(obj) for t in tests)


def _field_test(path: str, wanted: str, equal: bool) -> Callable[[Body], bool]:
    def value(obj: Body) -> str:
        node: Any = obj
        for part in path.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        if path == "source" and isinstance(node, Mapping):
            node = node.get("component")
        return "" if node is None else str(node)
    return lambda obj: (value(obj) == wanted) == equal


def refused(rt: ResourceType, name: str, errors: list[str]) -> KubernetesError:
    """422 Invalid for admission errors (``spec.x: Invalid value: ...``), with the apiserver's
    ``details.causes`` so that kubectl lists each field."""
    causes = [_cause(e) for e in errors]
    listed = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
    return api_error(422, "Invalid", f'{rt.kind}.{rt.group} "{name}" is invalid: {listed}',
                     name=name, group=rt.group, kind=rt.kind, causes=causes)


_CAUSE_REASONS = {"Invalid value": "FieldValueInvalid", "Required value": "FieldValueRequired",
                  "Unsupported value": "FieldValueNotSupported",
                  "Duplicate value": "FieldValueDuplicate", "Forbidden": "FieldValueForbidden",
                  "Too long": "FieldValueTooLong", "Too many": "FieldValueTooMany",
                  "Invalid type": "FieldValueTypeInvalid", "Not found": "FieldValueNotFound"}


def _cause(error: str) -> Body:
    field, sep, message = error.partition(": ")
    if not sep or " " in field:
        return {"reason": "FieldValueInvalid", "message": error, "field": ""}
    kind = next((r for p, r in _CAUSE_REASONS.items() if message.startswith(p)),
                "FieldValueInvalid")
    return {"reason": kind, "message": message, "field": field}


def check_media_type(content_type: str) -> None:
    """Bodies must be JSON (or YAML-free JSON patches): protobuf is answered 415, which makes
    client-go (kubectl create namespace/secret) retry the request as JSON."""
    if "protobuf" in content_type or "cbor" in content_type:
        raise api_error(415, "UnsupportedMediaType", f"the body of the request was in an"
                        f" unknown format - accepted media types include: application/json"
                        f" (got {content_type!r})")


def content_type_of(headers: Mapping[str, str]) -> str:
    """The request's Content-Type, whatever the case of the header name."""
    for key, value in headers.items():
        if key.lower() == "content-type":
            return value
    return ""

