"""Test-side helpers for a Kubernetes API — the stand-in or a real cluster, same code path.

Scenarios talk to the cluster only through :class:`Cluster`: plain REST over HTTP with
``requests``, so what passes against the stand-in is what a real apiserver is asked. The
two backends differ only in how the session is built (:meth:`Cluster.for_url` for the
stand-in, :meth:`Cluster.from_kubeconfig` for kind/any cluster) and in ``timeout_scale``.

Sync helpers for sync tests; the same helpers as coroutines on ``cluster.aio`` for async
tests (run in a worker thread, so they never block the test's event loop).
"""
from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import requests

from mpu_operator.sandbox.resources import (
    DEFAULT_RESOURCES,
    EVENTS,
    NAMESPACES,
    ResourceType,
    resolve,
    resolve_body,
)

Body = dict[str, Any]
Items = list[Body]  # an alias: inside Cluster, `list` is the helper method
T = TypeVar("T")
_MERGE = "application/merge-patch+json"
_JSON_PATCH = "application/json-patch+json"


class ApiError(Exception):
    """A non-2xx answer, with the apiserver's ``Status`` fields for assertions."""

    def __init__(self, status: int, body: Any, what: str) -> None:
        self.status = status
        self.body = body
        self.reason = body.get("reason") if isinstance(body, dict) else None
        message = body.get("message") if isinstance(body, dict) else str(body)[:500]
        super().__init__(f"{what} -> {status} {self.reason}: {message}")


class Cluster:
    """Small REST helpers: create, get, find, patch, replace, delete, list, events, wait_for."""

    def __init__(self, url: str, session: requests.Session | None = None, *,
                 resources: tuple[ResourceType, ...] = DEFAULT_RESOURCES,
                 timeout_scale: float = 1.0, poll_interval: float = 0.02,
                 emulator: Any = None) -> None:
        self.url = url.rstrip("/")
        self.session = session or requests.Session()
        self.resources = resources
        self.timeout_scale = timeout_scale  # real clusters are slower; waits stretch by this
        self.poll_interval = poll_interval
        self.emulator = emulator  # the KubeEmulator behind the stand-in; None on a real cluster
        self.aio = AsyncCluster(self)

    @classmethod
    def for_url(cls, url: str, **kwargs: Any) -> Cluster:
        """The stand-in (or any unauthenticated API on loopback)."""
        return cls(url, **kwargs)

    @classmethod
    def from_kubeconfig(cls, path: str | None = None, context: str | None = None,
                        **kwargs: Any) -> Cluster:
        """A real cluster: TLS and credentials from a kubeconfig, as kubectl would use them."""
        from kubernetes import client, config

        cfg = client.Configuration()
        config.load_kube_config(config_file=path, context=context, client_configuration=cfg)
        session = requests.Session()
        session.verify = (cfg.ssl_ca_cert or True) if cfg.verify_ssl else False
        if cfg.cert_file:
            session.cert = (str(cfg.cert_file), str(cfg.key_file))
        token = cfg.get_api_key_with_prefix("authorization")
        if token:
            session.headers["Authorization"] = token
        kwargs.setdefault("timeout_scale", 5.0)
        return cls(cfg.host, session, **kwargs)

    @property
    def is_real(self) -> bool:
        return self.emulator is None

    # --- raw requests ---------------------------------------------------------------

    def request(self, method: str, path: str, *, body: Any = None, content_type: str | None = None,
                params: dict[str, str] | None = None) -> Any:
        """One API call; raises :class:`ApiError` on non-2xx, returns the parsed JSON."""
        headers = {"Content-Type": content_type or "application/json"}
        data = None if body is None else json.dumps(body)
        rsp = self.session.request(method, self.url + path, data=data, headers=headers,
                                   params=params, timeout=30)
        try:
            parsed = rsp.json()
        except ValueError:
            parsed = rsp.text
        if rsp.status_code >= 300:
            raise ApiError(rsp.status_code, parsed, f"{method} {path}")
        return parsed

    def _type(self, resource: str | ResourceType) -> ResourceType:
        return resource if isinstance(resource, ResourceType) else resolve(resource, self.resources)

    # --- object helpers ---------------------------------------------------------------

    def create(self, obj: Body, namespace: str | None = None) -> Body:
        """POST a manifest (``apiVersion``/``kind`` pick the resource). Status is dropped by
        the server for types with the status subresource: use ``patch(..., status=True)``."""
        rt = resolve_body(obj, self.resources)
        ns = namespace or (obj.get("metadata") or {}).get("namespace")
        return self.request("POST", rt.path(ns), body=obj)

    def get(self, resource: str | ResourceType, namespace: str | None, name: str) -> Body:
        return self.request("GET", self._type(resource).path(namespace, name))

    def find(self, resource: str | ResourceType, namespace: str | None, name: str) -> Body | None:
        """Like :meth:`get`, but None for an object that does not exist."""
        try:
            return self.get(resource, namespace, name)
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    def patch(self, resource: str | ResourceType, namespace: str | None, name: str,
              patch: Body | Items, *, status: bool = False) -> Body:
        """A dict is sent as a JSON merge patch, a list as a JSON patch (as kopf does);
        ``status=True`` targets the ``/status`` subresource."""
        path = self._type(resource).path(namespace, name, "status" if status else None)
        kind = _JSON_PATCH if isinstance(patch, list) else _MERGE
        return self.request("PATCH", path, body=patch, content_type=kind)

    def replace(self, obj: Body, *, status: bool = False) -> Body:
        """PUT the whole object; its ``metadata.resourceVersion`` is the precondition."""
        rt = resolve_body(obj, self.resources)
        meta = obj["metadata"]
        path = rt.path(meta.get("namespace"), meta["name"], "status" if status else None)
        return self.request("PUT", path, body=obj)

    def delete(self, resource: str | ResourceType, namespace: str | None, name: str, *,
               missing_ok: bool = False) -> Body | None:
        try:
            return self.request("DELETE", self._type(resource).path(namespace, name))
        except ApiError as e:
            if missing_ok and e.status == 404:
                return None
            raise

    def list(self, resource: str | ResourceType, namespace: str | None = None, *,
             label_selector: str | None = None) -> Items:
        return self.list_raw(resource, namespace, label_selector=label_selector)["items"]

    def list_raw(self, resource: str | ResourceType, namespace: str | None = None, *,
                 label_selector: str | None = None) -> Body:
        """The whole list response, with ``metadata.resourceVersion`` to watch from."""
        params = {"labelSelector": label_selector} if label_selector else None
        return self.request("GET", self._type(resource).path(namespace), params=params)

    def events(self, namespace: str | None = None, involved_name: str | None = None,
               reason: str | None = None) -> Items:
        """Core v1 Events (kopf posts these), oldest first, optionally about one object."""
        found = [e for e in self.list(EVENTS, namespace)
                 if involved_name in (None, e.get("involvedObject", {}).get("name"))
                 and reason in (None, e.get("reason"))]
        return sorted(found, key=lambda e: int(e["metadata"].get("resourceVersion", 0)))

    def watch(self, resource: str | ResourceType, namespace: str | None = None, *,
              resource_version: str | None = None, timeout: float = 5) -> Iterator[Body]:
        """Raw watch events until the server-side ``timeoutSeconds`` ends the stream."""
        params = {"watch": "true", "timeoutSeconds": str(max(1, round(timeout)))}
        if resource_version is not None:
            params["resourceVersion"] = resource_version
        url = self.url + self._type(resource).path(namespace)
        with self.session.get(url, params=params, stream=True, timeout=timeout + 30) as rsp:
            if rsp.status_code >= 300:
                raise ApiError(rsp.status_code, rsp.text, f"WATCH {url}")
            for line in rsp.iter_lines():
                if line:
                    yield json.loads(line)

    # --- namespaces -------------------------------------------------------------------

    def create_namespace(self, prefix: str = "mpu-test-") -> str:
        """A fresh namespace per test: the only isolation a shared real cluster offers."""
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"generateName": prefix}}
        return self.create(body)["metadata"]["name"]

    def delete_namespace(self, name: str) -> None:
        self.delete(NAMESPACES, None, name, missing_ok=True)

    # --- waiting ----------------------------------------------------------------------

    def wait_for(self, fn: Callable[[], T], timeout: float = 10, what: str = "a condition") -> T:
        """Poll ``fn`` until it returns something truthy; return that.

        Exceptions from ``fn`` (an ``ApiError``, a failing ``assert``) count as "not yet".
        At the deadline, raise an AssertionError naming ``what`` and the last value or error
        seen, so a failed wait says what it saw rather than just "timeout".
        """
        deadline = time.monotonic() + timeout * self.timeout_scale
        while True:
            last, error = _attempt(fn)
            if last and error is None:
                return last
            if time.monotonic() >= deadline:
                raise _timeout(what, timeout * self.timeout_scale, last, error)
            time.sleep(self.poll_interval)


class AsyncCluster:
    """:class:`Cluster`'s helpers as coroutines, for async tests: ``await kube.aio.get(...)``."""

    def __init__(self, cluster: Cluster) -> None:
        self._sync = cluster

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        fn = getattr(self._sync, name)
        if not callable(fn) or name.startswith("_"):
            raise AttributeError(name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(fn, *args, **kwargs)
        return call

    async def wait_for(self, fn: Callable[[], Any], timeout: float = 10,
                       what: str = "a condition") -> Any:
        """As :meth:`Cluster.wait_for`; ``fn`` may be sync or async. Never blocks the loop."""
        scaled = timeout * self._sync.timeout_scale
        deadline = time.monotonic() + scaled
        while True:
            last, error = await _aattempt(fn)
            if last and error is None:
                return last
            if time.monotonic() >= deadline:
                raise _timeout(what, scaled, last, error)
            await asyncio.sleep(self._sync.poll_interval)


def _attempt(fn: Callable[[], Any]) -> tuple[Any, Exception | None]:
    try:
        return fn(), None
    except Exception as e:
        return None, e


async def _aattempt(fn: Callable[[], Any]) -> tuple[Any, Exception | None]:
    try:
        result = fn()
        return (await result if inspect.isawaitable(result) else result), None
    except Exception as e:
        return None, e


def _timeout(what: str, timeout: float, last: Any, error: Exception | None) -> AssertionError:
    seen = f"last error: {error!r}" if error is not None else f"last value: {last!r}"
    exc = AssertionError(f"Timed out after {timeout:g}s waiting for {what}; {seen[:2000]}")
    exc.__cause__ = error
    return exc
