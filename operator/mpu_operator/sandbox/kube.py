"""A Kubernetes API server stand-in: kmock's emulator with the apiserver semantics we rely on.

The operator's integration tests run real kopf against this over loopback HTTP, and
``mpu-operator sandbox`` serves it to real kubectl. kmock 0.8's ``KubernetesEmulator``
stores objects as plain dicts; kopf and kubectl need more of the apiserver than that.
:class:`KubeEmulator` keeps kmock's routing, reactions (fault injection) and ``objects``
history, and replaces the object semantics and the documents kubectl reads. Each fix is
one method below, with the deviation it fixes in its docstring; the rules themselves are
pure functions in :mod:`mpu_operator.sandbox.rules` (discovery, OpenAPI and Tables in
their own modules); ``tests/kube/`` and ``tests/sandbox/`` pin them.

What kubectl gets: legacy discovery, ``/version``, OpenAPI v3 (``explain``; a
``fieldValidation`` parameter on every PATCH so kubectl leaves validation to the server),
``Table`` answers (a CRD's ``additionalPrinterColumns``; on GET, LIST and WATCH), Event
field selectors (``describe``), JSON watch streams (``wait``, ``delete``, ``get -w``) and
protobuf POST/PUT bodies of Namespaces and Secrets (``create namespace``/``secret``).

Fidelity — what still differs from a real kube-apiserver (check here before trusting a
passing test for behaviour that depends on these):

* The served resources are a fixed table (:mod:`mpu_operator.sandbox.resources`).
  Creating a CRD serves nothing new; a stored CRD only lends a type of the table its
  printer columns, its OpenAPI schema and its admission. Admission (schema types, enums,
  ranges, patterns, required, defaults, pruning, CEL ``x-kubernetes-validations``) is done
  by the optional :mod:`mpu_operator.sandbox.admission` when it is importable and the CRD
  has a schema; otherwise custom resources are stored as sent (the tests' default: no CRD;
  run ``mpu-operator validate`` where it matters). Core objects are not validated.
* ``fieldValidation`` is accepted but not enforced: unknown fields are pruned (or kept,
  without admission), never a 400 "strict decoding error" as with ``Strict``.
* resourceVersions are decimal integers in one cluster-wide sequence, as etcd revisions
  happen to be; the API calls them opaque strings, so operator code must not order them.
* Changes reach watchers at once; a real apiserver delivers them milliseconds to seconds
  later, so a test that passes only thanks to that promptness may flake on a cluster.
* No authentication, RBAC or admission webhooks: every request is allowed.
* LIST returns one page (``limit``/``continue`` ignored). ``labelSelector`` supports
  equality and existence only; ``fieldSelector`` ``metadata.name``/``namespace`` plus
  ``involvedObject.*``, ``reason``, ``type``, ``source`` on Events, ``type`` on Secrets.
* WATCH never sends BOOKMARK events and ignores ``sendInitialEvents``; history lives in
  memory and answers 410 Gone only beyond ``history_limit`` events (a real server compacts
  after ~5 minutes). ``timeoutSeconds`` is honoured; without it streams last until closed.
* Strategic-merge patches on core resources are applied as JSON merge patches (lists are
  replaced, not merged by key); server-side apply is rejected with 415; no managedFields.
* Namespaces are deleted at once (no ``Terminating`` phase) and their objects stay;
  there is no garbage collection by ``ownerReferences``.
* DeleteOptions (grace period, preconditions, propagation) and ``dryRun`` are ignored:
  ``kubectl apply --dry-run=server`` WRITES here.
* A POST body without ``apiVersion``/``kind`` is completed rather than rejected.
* Events are stored as posted: no series/aggregation, no TTL.
* A request answered by a kmock reaction (``kube.emulator[...] << 500``) changes nothing:
  injected faults are writes the server refused (stock kmock applies them anyway).
* Writing to ``.objects`` directly bypasses all of the above (no resourceVersion, no events).
* Discovery: no aggregated discovery (kubectl falls back to the legacy documents); every
  resource lists the full verb set. No ``/openapi/v2`` (404); OpenAPI v3 schemas of core
  kinds are short. Table columns of core kinds follow kube-apiserver's printers, trimmed.
* Responses are always JSON (protobuf is accepted only in the request bodies above).
* Every request stays in kmock's request log (memory grows with traffic, for the tests'
  assertions); a request is matched to its reaction without scanning that log.

Speed (``make bench-kube``, ``docs/performance.md``): at 1000 MPUTasks, about 1000
creates/s, 800 status patches/s and 40 LISTs/s of all 1000 on one core. Stored versions
are read-only snapshots shared by the objects array, the change log and the readers (one
deep copy per write, none per read); each change is JSON-encoded once for all watchers.
"""
from __future__ import annotations

import asyncio
import bisect
import copy
import dataclasses
import functools
import importlib
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
import kmock
from kmock._internal import dsl, filtering, parsing, rendering
from kmock._internal.rendering import Response  # not re-exported; needed for 201 Created
from typing_extensions import override

from mpu_operator.sandbox import discovery, openapi, protobuf, rules, tables
from mpu_operator.sandbox.resources import CRDS, DEFAULT_RESOURCES, ResourceType

logger = logging.getLogger(__name__)


def _load_admission() -> Any:
    """Schema, defaults, pruning and CEL rules from the CRD live in an optional module; without
    it (or without its CEL library) custom resources are stored as sent, and we say so."""
    try:
        return importlib.import_module("mpu_operator.sandbox.admission")
    except ImportError as e:
        if e.name != "mpu_operator.sandbox.admission":
            logger.warning("CRD schema validation is off: %s", e)
        return None


_admission = _load_admission()

Body = dict[str, Any]
_VERBS = {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
_TRUE = {"1", "t", "T", "true", "TRUE", "True"}  # Go's strconv.ParseBool, as the apiserver


_NAMESPACE_PATH = re.compile(r"/api/v1/namespaces(?:/([^/]+))?(?:/(status|finalize))?/?")
_parse_path_stock = parsing.parse_path


def _parse_path(path: str) -> parsing.ParsedPath:
    """kmock reads ``/api/v1/namespaces[/{name}]`` as a namespace prefix with no resource and
    crashes (500 on every Namespace request); here it is the cluster-scoped ``namespaces``."""
    if match := _NAMESPACE_PATH.fullmatch(path):
        return parsing.ParsedPath("", "v1", "namespaces", None, match[1], match[2])
    return _parse_path_stock(path)


parsing.parse_path = _parse_path  # kmock's request parser looks it up at call time


@dataclasses.dataclass(frozen=True)
class Change:
    """One entry of the change log that WATCH replays: what an etcd revision recorded."""

    revision: int
    resource: ResourceType
    namespace: str | None
    name: str
    type: str  # ADDED, MODIFIED, DELETED
    object: Body  # the stored snapshot: read-only

    @functools.cached_property
    def event(self) -> bytes:
        """The watch event as sent (one JSON line), encoded once for all watchers."""
        return json.dumps({"type": self.type, "object": self.object}).encode() + b"\n"


@attrs.define(kw_only=True)
class KubeEmulator(kmock.KubernetesEmulator):
    """kmock's KubernetesEmulator, made faithful enough for kopf and for our scenarios."""

    resource_types: tuple[ResourceType, ...] = DEFAULT_RESOURCES
    initial_namespaces: tuple[str, ...] = ("default", "kube-system")
    history_limit: int = 100_000
    _revision: int = attrs.field(default=0, init=False)
    _compacted: int = attrs.field(default=0, init=False)
    _changes: list[Change] = attrs.field(factory=list, init=False)
    _tick: asyncio.Event = attrs.field(factory=asyncio.Event, init=False)
    _epoch: int = attrs.field(default=0, init=False)
    _loop: asyncio.AbstractEventLoop | None = attrs.field(default=None, init=False)
    _ordered: tuple[tuple[int, ...], list[Any]] = attrs.field(default=((), []), init=False)
    _criteria_memo: dict[Any, bool] = attrs.field(factory=dict, init=False)

    def __attrs_post_init__(self) -> None:
        """Discovery for exactly our resource table (kopf waits for namespaces and events)."""
        super().__attrs_post_init__()
        self.fallback[kmock.method.PUT] << self._serve_replace
        self.fallback["get", re.compile(r"/openapi/v3/.+")] << self._serve_openapi_doc
        self.fallback["get /openapi/v3"] << self._serve_openapi_root
        for rt in self.resource_types:
            self.resources[kmock.resource(rt.group, rt.version, rt.plural)] = kmock.ResourceInfo(
                kind=rt.kind, singular=rt.singular, namespaced=rt.namespaced, verbs=_VERBS,
                shortnames=set(rt.short_names),
                subresources={"status"} if rt.status_subresource else set())
        for name in self.initial_namespaces:
            self._create(self._type_by_kind("Namespace"), None, {"metadata": {"name": name}})

    # --- discovery and OpenAPI (what kubectl reads before anything else) ---------------

    @override
    async def _serve_server_version(self, request: kmock.Request) -> Body:
        return dict(discovery.SERVER_VERSION)

    @override
    async def _serve_api(self, request: kmock.Request) -> Body:
        return discovery.core_versions()

    @override
    async def _serve_apis(self, request: kmock.Request) -> Body:
        return discovery.group_list(self.resource_types)

    @override
    async def _serve_group(self, request: kmock.Request) -> Body:
        group = request.resource.group if request.resource is not None else ""
        if not discovery.has_group(self.resource_types, str(group)):
            raise rules.api_error(404, "NotFound", "the server could not find the requested"
                                  " resource")
        return discovery.group(self.resource_types, str(group))

    @override
    async def _serve_version(self, request: kmock.Request) -> Body:
        res = request.resource
        found = res and discovery.resource_list(self.resource_types, str(res.group),
                                                str(res.version))
        if not found:
            raise rules.api_error(404, "NotFound", "the server could not find the requested"
                                  " resource")
        return found

    async def _serve_openapi_root(self, request: kmock.Request) -> Body:
        return openapi.root(self.resource_types, self.crd_version)

    async def _serve_openapi_doc(self, request: kmock.Request) -> Body:
        key = request.url.path.removeprefix("/openapi/v3/").strip("/")
        doc = openapi.document(self.resource_types, key, self.crd_version)
        if doc is None:
            raise rules.api_error(404, "NotFound", f"no OpenAPI document for {key!r}")
        return doc

    def crd_version(self, rt: ResourceType) -> Body | None:
        """The stored CRD's entry for ``rt``'s version: its schema and printer columns."""
        if not rt.custom or rt == CRDS:
            return None
        return copy.deepcopy(_crd_entry(self._peek(CRDS, None, f"{rt.plural}.{rt.group}"), rt))

    # --- public, for tests -------------------------------------------------------------

    @property
    def revision(self) -> int:
        """The cluster-wide resourceVersion of the latest change."""
        return self._revision

    def changes(self, plural: str | None = None, namespace: str | None = None,
                name: str | None = None) -> list[Change]:
        """The change log (what watchers were sent), filtered; an audit trail for asserts."""
        return [c for c in list(self._changes)
                if plural in (None, c.resource.plural) and namespace in (None, c.namespace)
                and name in (None, c.name)]

    def drop_watches(self) -> None:
        """End every open watch stream, as an apiserver restart or a load balancer would.

        Safe to call from the test's thread: the change is made on the server's loop."""
        loop = self._loop
        if loop is not None and loop.is_running() and not _runs_in(loop):
            loop.call_soon_threadsafe(self.drop_watches)
            return
        self._epoch += 1
        self._wake()

    @override
    async def __aenter__(self) -> KubeEmulator:
        self._loop = asyncio.get_running_loop()
        return await super().__aenter__()

    # --- request plumbing --------------------------------------------------------------

    @override
    async def _handle(self, request: kmock.Request) -> Any:
        """Skip the stock handler, which mutates state even for intercepted requests.

        Also: ``watch=1``/``watch=True`` are watches too (the apiserver parses it as a Go
        bool; kmock only recognises ``watch=true``).
        """
        if request.resource is not None and request.action == kmock.action.LIST and \
                request.params.get("watch") in _TRUE:
            # In place: kmock's views match requests by identity, a copy would match nothing.
            object.__setattr__(request, "action", kmock.action.WATCH)
        return await self._dispatch(request)

    async def _dispatch(self, request: kmock.Request) -> Any:
        """kmock's ``RawHandler._handle``: the first reaction, by priority, that sees the
        request and answers it — in time independent of the request log's length.

        Stock kmock asks each reaction's view ``request in view``, which re-filters every
        request ever received: quadratic, the stand-in's whole CPU at a few thousand
        requests. :func:`_sees` answers the same question for this one request.
        """
        for payload in self._by_priority():
            if not payload._disabled.is_set() and _sees(payload._source, request, self):
                try:
                    return await payload(request)
                except rendering.ReactionMismatchError:  # either mismatch or depletion
                    payload._disabled.set()
                except NotImplementedError:  # matched, but nothing to respond with
                    pass
        raise NotImplementedError("Undefined server behaviour: no reaction matching the request"
                                  " is defined.")

    def _by_priority(self) -> list[Any]:
        """The reactions in kmock's order (highest priority first, then as registered),
        sorted again only when reactions were added or replaced."""
        key = tuple(map(id, self._payloads))
        if self._ordered[0] != key:
            payloads = list(self._payloads)
            width = max((len(p.priorities) for p in payloads), default=0)
            ranks = [tuple(-x for x in p.priorities) + (0,) * (width - len(p.priorities))
                     for p in payloads]
            order = sorted(range(len(payloads)), key=lambda i: ranks[i])
            self._ordered = (key, [payloads[i] for i in order])
        return self._ordered[1]

    def _type_of(self, request: kmock.Request, *, subresource_ok: bool = False) -> ResourceType:
        """The served resource of a request, or the apiserver's 404/405 for what is not."""
        res = request.resource
        for rt in self.resource_types:
            if res is not None and (rt.group, rt.version, rt.plural) == (
                    res.group, res.version, res.plural):
                break
        else:
            raise rules.api_error(404, "NotFound", "the server could not find the requested"
                                  f" resource ({request.method} {request.url.path})")
        if request.namespace is not None and not rt.namespaced:
            raise rules.api_error(404, "NotFound", f"{rt.plural} is not namespaced")
        allowed = {None, "status"} if subresource_ok and rt.status_subresource else {None}
        if request.subresource not in allowed:
            raise rules.api_error(404, "NotFound", f"no subresource {request.subresource!r}")
        return rt

    def _type_by_kind(self, kind: str) -> ResourceType:
        return next(rt for rt in self.resource_types if rt.kind == kind)

    # --- storage: kmock's objects array, holding full versions --------------------------

    # A stored version is a snapshot that nothing mutates: each write stores one fresh deep
    # copy, shared by the objects array and the change log. Reads (GET, LIST, WATCH, the
    # update path's "current") hand out the snapshot itself, read-only, without copying:
    # deep copies of every object on every LIST were most of a LIST's time at 1000 objects.

    def _key(self, rt: ResourceType, namespace: str | None, name: str) -> tuple[Any, ...]:
        return (_resource(rt), namespace if rt.namespaced else None, name)

    def _peek(self, rt: ResourceType, namespace: str | None, name: str) -> Body | None:
        """The stored snapshot, read-only (see above), or None."""
        key = self._key(rt, namespace, name)
        if key not in self._objects or self._objects[key].deleted:
            return None
        return self._objects[key].raw

    def _require(self, rt: ResourceType, request: kmock.Request) -> Body:
        """The addressed object's stored snapshot (read-only), or the apiserver's 404/405."""
        if request.name is None:
            raise rules.api_error(405, "MethodNotAllowed", "the server does not allow this"
                                  " method on the requested resource")
        obj = self._peek(rt, request.namespace, request.name)
        if obj is None:
            raise rules.not_found(rt, request.name)
        return obj

    def _all(self, rt: ResourceType, namespace: str | None) -> list[Body]:
        """Current objects (read-only snapshots) in etcd key order (namespace, name), as
        LIST returns them."""
        wanted = _resource(rt)
        found = [(ns or "", name, obj) for (res, ns, name), obj in self._objects.items()
                 if res == wanted and namespace in (None, ns) and not obj.deleted]
        return [obj.raw for _, _, obj in sorted(found, key=lambda t: t[:2])]

    def _store(self, rt: ResourceType, obj: Body) -> Body:
        """Store a snapshot of ``obj`` as the object's new version; return the snapshot."""
        snapshot = copy.deepcopy(obj)
        key = self._key(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        if key in self._objects:
            self._objects[key].history.append(snapshot)
        else:
            self._objects[key] = snapshot
        return snapshot

    def _record(self, rt: ResourceType, type_: str, snapshot: Body) -> None:
        """Append a stored snapshot to the change log at its resourceVersion; wake watchers."""
        meta = snapshot["metadata"]
        self._changes.append(Change(int(meta["resourceVersion"]), rt, meta.get("namespace"),
                                    meta["name"], type_, snapshot))
        if len(self._changes) > self.history_limit:
            dropped = self._changes[: len(self._changes) // 2]
            del self._changes[: len(dropped)]
            self._compacted = dropped[-1].revision
        self._wake()

    def _wake(self) -> None:
        self._tick.set()
        self._tick = asyncio.Event()

    def _next_revision(self) -> str:
        self._revision += 1
        return str(self._revision)

    # --- CREATE ------------------------------------------------------------------------

    async def _serve_create(self, request: kmock.Request) -> Response:
        """POST: uid, resourceVersion, generation 1, creationTimestamp, namespace from the
        URL, generateName, no status for types with the status subresource; 409 on a clash;
        404 in a namespace that does not exist. Answers 201 Created, as the apiserver."""
        rt = self._type_of(request)
        body = _body(request)
        if not isinstance(body, dict):
            raise rules.api_error(400, "BadRequest", "the request body must be a JSON object")
        if rt.namespaced and request.namespace is None:
            raise rules.api_error(405, "MethodNotAllowed", f"{rt.plural} is namespaced: POST"
                                  " to /namespaces/{namespace}/" + rt.plural)
        return Response(status=201, payload=self._create(rt, request.namespace, body))

    def _create(self, rt: ResourceType, namespace: str | None, body: Body) -> Body:
        meta = body.get("metadata") or {}
        self._check_identity(rt, namespace, body)
        if meta.get("resourceVersion"):
            raise rules.api_error(500, "InternalError",
                                  "resourceVersion should not be set on objects to be created")
        name = meta.get("name") or (meta.get("generateName") and rules.generate_name(
            meta["generateName"], lambda n: self._peek(rt, namespace, n) is not None))
        if not name:
            raise rules.invalid(rt, "", "metadata.name: Required value: name or generateName"
                                " is required")
        rules.check_name(rt, name)
        if self._peek(rt, namespace, name) is not None:
            raise rules.api_error(409, "AlreadyExists", f'{rt.plural} "{name}" already exists',
                                  name=name, group=rt.group, kind=rt.plural)
        body = {**body, "metadata": {**meta, "name": name}}
        body = self._admit(rt, {**body, "metadata": {**body["metadata"], "namespace": namespace}}
                           if rt.namespaced else body, None)
        obj = rules.new_object(rt, body, namespace, int(self._next_revision()))
        self._record(rt, "ADDED", self._store(rt, obj))
        return obj

    def _admit(self, rt: ResourceType, obj: Body, old: Body | None) -> Body:
        """The CRD's schema (types, enums, ranges, patterns, required), defaults, pruning and
        ``x-kubernetes-validations`` rules, by :mod:`mpu_operator.sandbox.admission` when it
        is installed; 422 Invalid with one cause per field, as the apiserver answers."""
        crd = self._peek(CRDS, None, f"{rt.plural}.{rt.group}") if (
            rt.custom and rt != CRDS) else None
        version = _crd_entry(crd, rt)
        if _admission is None or crd is None or version is None or not (
                version.get("schema") or {}).get("openAPIV3Schema"):
            return obj
        admitted, errors = _admission.admit(crd, obj, old)
        if errors:
            raise rules.refused(rt, str((obj.get("metadata") or {}).get("name", "")), errors)
        return admitted

    def _check_identity(self, rt: ResourceType, namespace: str | None, body: Body) -> None:
        body_ns = (body.get("metadata") or {}).get("namespace")
        if rt.namespaced and body_ns not in (None, "", namespace):
            raise rules.api_error(400, "BadRequest", "the namespace of the provided object"
                                  " does not match the namespace sent on the request")
        for field, ours in (("apiVersion", rt.api_version), ("kind", rt.kind)):
            if body.get(field) not in (None, ours):
                raise rules.api_error(400, "BadRequest", f"{field} {body.get(field)!r} does not"
                                      f" match the endpoint ({ours!r})")
        if rt.namespaced and self._peek(self._type_by_kind("Namespace"), None,
                                       str(namespace)) is None:
            raise rules.api_error(404, "NotFound", f'namespaces "{namespace}" not found',
                                  name=namespace, kind="namespaces")

    # --- GET, LIST ---------------------------------------------------------------------

    async def _serve_fetch(self, request: kmock.Request) -> Body:
        """GET of one object (also via ``/status``), 404 with a proper Status if absent; a
        ``Table`` if the client asks for one (``kubectl get NAME``)."""
        rt = self._type_of(request, subresource_ok=True)
        obj = self._require(rt, request)
        return self._as_table(request, rt, [obj]) if tables.wants_table(request.headers) else obj

    async def _serve_list(self, request: kmock.Request) -> Body:
        """LIST with a real cluster-wide resourceVersion (stock kmock: a placeholder); a
        ``Table`` with the CRD's printer columns if the client asks for one (``kubectl get``)."""
        rt = self._type_of(request)
        match = self._matcher(request)
        items = [obj for obj in self._all(rt, request.namespace) if match(obj)]
        if tables.wants_table(request.headers):
            return self._as_table(request, rt, items)
        return {"apiVersion": rt.api_version, "kind": f"{rt.kind}List",
                "metadata": {"resourceVersion": str(self._revision)}, "items": items}

    def _as_table(self, request: kmock.Request, rt: ResourceType, objs: list[Body]) -> Body:
        return tables.table(rt, objs, self.crd_version(rt), str(self._revision),
                            request.params.get("includeObject", "Metadata"))

    def _matcher(self, request: kmock.Request) -> Callable[[Body], bool]:
        labels = rules.label_matcher(request.params.get("labelSelector", ""))
        rt = self._type_of(request, subresource_ok=True)
        fields = rules.field_matcher(request.params.get("fieldSelector", ""), rt.kind)
        name = request.name
        return lambda obj: labels(obj) and fields(obj) and name in (None, obj["metadata"]["name"])

    # --- PATCH, PUT ---------------------------------------------------------------------

    async def _serve_update(self, request: kmock.Request) -> Body:
        """PATCH (merge or JSON patch, main resource or ``/status``), with the apiserver's
        failures: 422 for a failed JSON-patch ``test`` (stock kmock: 500), 409 for a stale
        resourceVersion, 415 for unknown patch types."""
        rt = self._type_of(request, subresource_ok=True)
        current = self._require(rt, request)
        content_type = rules.content_type_of(request.headers)
        patched = rules.apply_patch(rt, current, content_type, request.data)
        return self._update(rt, current, patched, request.subresource)

    async def _serve_replace(self, request: kmock.Request) -> Body:
        """PUT: a full replacement; custom resources require a resourceVersion (422)."""
        rt = self._type_of(request, subresource_ok=True)
        current = self._require(rt, request)
        body = _body(request)
        if not isinstance(body, dict) or (body.get("metadata") or {}).get("name") != request.name:
            raise rules.api_error(400, "BadRequest", "the name of the object does not match"
                                  " the name on the URL")
        self._check_identity(rt, request.namespace, body)
        if rt.custom and not body["metadata"].get("resourceVersion"):
            raise rules.invalid(rt, str(request.name), "metadata.resourceVersion: Invalid value:"
                                " 0x0: must be specified for an update")
        return self._update(rt, current, body, request.subresource)

    def _update(self, rt: ResourceType, current: Body, new: Body, sub: str | None) -> Body:
        """The update path shared by PATCH and PUT.

        Precondition (409), update strategy (status vs. main resource), no-op detection (no
        new resourceVersion, no event — kopf relies on this to avoid reacting to itself),
        generation bump on spec changes only, and release of a deleting object whose last
        finalizer is gone (DELETED event; stock kmock keeps such objects around).
        """
        rules.check_precondition(rt, current, new)
        result = rules.updated_object(rt, current, new, sub)
        if result != current:
            result = self._admit(rt, result, current)
        if result == current:
            return current
        if rt.custom and rules.spec_changed(rt, current, result):
            result["metadata"]["generation"] = current["metadata"].get("generation", 0) + 1
        result["metadata"]["resourceVersion"] = self._next_revision()
        meta = result["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            self._forget(rt, result)
            return result
        self._record(rt, "MODIFIED", self._store(rt, result))
        return result

    # --- DELETE -------------------------------------------------------------------------

    async def _serve_delete(self, request: kmock.Request) -> Body:
        """DELETE: with finalizers, only mark (``deletionTimestamp``, generation+1, MODIFIED);
        without, remove (DELETED). Repeated DELETEs of a deleting object change nothing."""
        rt = self._type_of(request)
        current = self._require(rt, request)
        meta = current["metadata"]
        if meta.get("finalizers") and meta.get("deletionTimestamp"):
            return current
        if meta.get("finalizers"):
            result = rules.mark_deleting(rt, current)
            result["metadata"]["resourceVersion"] = self._next_revision()
            self._record(rt, "MODIFIED", self._store(rt, result))
            return result
        final = {**current, "metadata": {**meta, "resourceVersion": self._next_revision()}}
        self._forget(rt, final)
        return final

    def _forget(self, rt: ResourceType, final: Body) -> None:
        snapshot = self._store(rt, final)
        self._objects[self._key(rt, final["metadata"].get("namespace"),
                                final["metadata"]["name"])].delete()
        self._record(rt, "DELETED", snapshot)

    # --- WATCH --------------------------------------------------------------------------

    async def _serve_watch(  # type: ignore[override]  # a Response wrapping the stream
            self, request: kmock.Request) -> Response:
        """WATCH that honours ``?resourceVersion=`` and loses nothing.

        Stock kmock replays every object as ADDED whatever the resourceVersion, and takes
        its snapshot before subscribing (a change in between is lost). Here, without a
        resourceVersion (or with "0") the snapshot and the log position are taken together,
        then only later changes follow; with one, only changes after it are sent, or a 410
        ``Expired`` error event if it is older than the retained history. Sent as
        ``application/json`` (kubectl's watch decoder refuses kmock's octet-stream).
        """
        stream = self._watch_events(request)
        first = await anext(stream)  # the checks above the first yield, before any header
        return Response(payload=_prepend(first, stream),
                        headers={"Content-Type": "application/json"})

    async def _watch_events(self, request: kmock.Request) -> AsyncIterator[Any]:
        rt = self._type_of(request)
        match, epoch = self._matcher(request), self._epoch
        since = request.params.get("resourceVersion") or "0"
        if not since.isdigit():
            raise rules.api_error(400, "BadRequest", f"invalid resourceVersion {since!r}")
        position = int(since) if since != "0" else self._revision
        initial = [] if since != "0" else self._all(rt, request.namespace)
        deadline = self._deadline(request)
        shape = self._watch_shape(request, rt)
        yield b""  # send the headers now, as the apiserver does
        for obj in initial:
            if match(obj):
                yield {"type": "ADDED", "object": obj if shape is None else shape(obj)}
        while epoch == self._epoch:
            if position < self._compacted:
                yield _expired(position, self._compacted)
                return
            tick, changes = self._tick, self._changes_after(position)
            for change in changes:
                position = change.revision
                if self._is_watched(rt, request.namespace, match, change):
                    yield change.event if shape is None else {
                        "type": change.type, "object": shape(change.object)}
            if not changes and not await _wait(tick, deadline):
                return

    def _watch_shape(self, request: kmock.Request,
                     rt: ResourceType) -> Callable[[Body], Body] | None:
        """``kubectl get -w`` watches with Table accepted: each event's object is a one-row
        Table (the first one with the column definitions, as the apiserver sends them).
        None for plain watches: they are sent each change's :attr:`Change.event` as is."""
        if not tables.wants_table(request.headers):
            return None
        return lambda obj: self._as_table(request, rt, [obj])

    def _changes_after(self, position: int) -> list[Change]:
        return self._changes[bisect.bisect_right(self._changes, position,
                                                 key=lambda c: c.revision):]

    @staticmethod
    def _is_watched(rt: ResourceType, namespace: str | None,
                    match: Callable[[Body], bool], change: Change) -> bool:
        return change.resource == rt and namespace in (None, change.namespace) and match(
            change.object)

    @staticmethod
    def _deadline(request: kmock.Request) -> float | None:
        timeout = request.params.get("timeoutSeconds")
        return asyncio.get_running_loop().time() + float(timeout) if timeout else None


def _body(request: kmock.Request) -> Any:
    """The request's object: JSON as kmock parsed it, or protobuf as kubectl's typed clients
    send Namespaces and Secrets (415 for protobuf we cannot read)."""
    content_type = rules.content_type_of(request.headers)
    if "protobuf" not in content_type:
        rules.check_media_type(content_type)
        return request.data
    try:
        return protobuf.decode(request.body)
    except protobuf.DecodeError as e:
        raise rules.api_error(415, "UnsupportedMediaType", f"cannot read this protobuf body"
                              f" ({e}); send application/json") from e


@functools.cache
def _resource(rt: ResourceType) -> Any:
    """kmock's resource reference for ``rt`` (the objects array's key), made once."""
    return kmock.resource(rt.group, rt.version, rt.plural)


def _crd_entry(crd: Body | None, rt: ResourceType) -> Body | None:
    """The CRD's ``spec.versions`` entry for ``rt``'s version, if any (not copied)."""
    versions = ((crd or {}).get("spec") or {}).get("versions") or []
    return next((v for v in versions if v.get("name") == rt.version), None)


def _sees(view: Any, request: kmock.Request, root: Any) -> bool:
    """``request in view`` for the request being served, without iterating the log.

    Each kind of view is asked what it would yield for this request alone, in the order its
    ``__iter__`` asks (a filter's criteria see only what its source lets through). Views
    whose answer depends on other requests (slices such as ``[:1]``, reactions' own logs)
    and unknown kinds get kmock's own, iterating answer.
    """
    kind = type(view)
    if view is root:
        return True  # the request was just appended to the root's log
    if kind is dsl.Filter:
        return _sees(view._source, request, root) and _passes(view.criteria, request, root)
    if kind in (dsl.Priority, dsl.Chained):
        return _sees(view._source, request, root)
    if kind is dsl.Stream:
        return _sees(view._source, request, root) and bool(
            request._stream_bus.consumer_count)
    if kind is dsl.OrGroup:
        return any(_sees(source, request, root) for source in view._sources)
    if kind is dsl.AndGroup:
        return all(_sees(source, request, root) for source in view._sources)
    if kind is dsl.Exclusion:
        return _sees(view._source, request, root) and not any(
            _sees(other, request, root) for other in view._exclusions)
    return request in view


_HTTP_ONLY = ("text", "body", "data", "params", "cookies", "headers")


def _passes(criteria: Any, request: kmock.Request, root: Any) -> bool:
    """``criteria(request)``, remembered for kmock's path/method and Kubernetes criteria.

    Those depend on a few request fields only (method, path; action, resource, ...), and
    kmock's checks are slow (a runtime-Protocol isinstance, regexes compiled per check): a
    fifth of the stand-in's time went to asking the same dozen fallbacks the same question.
    """
    key = _criteria_key(criteria, request)
    if key is None:
        return bool(criteria(request))
    memo: dict[Any, bool] = root._criteria_memo
    if key not in memo:
        if len(memo) > 10_000:
            memo.clear()
        memo[key] = bool(criteria(request))
    return memo[key]


def _criteria_key(criteria: Any, request: kmock.Request) -> tuple[Any, ...] | None:
    """What ``criteria``'s answer depends on, or None if it may read more of the request."""
    kind = type(criteria)
    if kind is filtering.HTTPCriteria and all(
            getattr(criteria, field) is ... for field in _HTTP_ONLY):
        return criteria, request.method, request.url.path
    if kind is filtering.K8sCriteria:
        res = request.resource
        return (criteria, request.method, request.action, request.subresource,
                None if res is None else (res.group, res.version, res.plural),
                None if criteria.namespace is ... else request.namespace,
                None if criteria.name is ... else request.name)
    return None


async def _prepend(first: Any, rest: AsyncIterator[Any]) -> AsyncIterator[Any]:
    yield first
    async for item in rest:
        yield item


def _runs_in(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


async def _wait(tick: asyncio.Event, deadline: float | None) -> bool:
    """Wait for the next change; False if the watch's ``timeoutSeconds`` ran out first."""
    remaining = None if deadline is None else deadline - asyncio.get_running_loop().time()
    try:
        await asyncio.wait_for(tick.wait(), remaining)
    except TimeoutError:
        return False
    return True


def _expired(position: int, compacted: int) -> Body:
    return {"type": "ERROR", "object": {
        "apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
        "reason": "Expired", "code": 410,
        "message": f"too old resource version: {position} ({compacted + 1})"}}
