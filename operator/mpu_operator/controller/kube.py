"""The few Kubernetes calls the operator makes itself: status writes and Secret reads.

kopf owns watching, finalizers and Events; a long-running daemon can't return a patch to
kopf after every step, so status goes through here (merge patch on the status
subresource). The sync ``kubernetes`` client runs in worker threads.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import kubernetes

from mpu_operator import logsafety
from mpu_operator.api.crd import GROUP, PLURAL, VERSION

MERGE_PATCH = "application/merge-patch+json"


class SecretProblem(Exception):
    """A Secret or key is missing or unreadable. The text names them, never a value."""


def load_config() -> kubernetes.client.ApiClient:
    """In-cluster config when running in a Pod, else ``KUBECONFIG`` / ~/.kube/config."""
    try:
        kubernetes.config.load_incluster_config()
    except kubernetes.config.ConfigException:
        kubernetes.config.load_kube_config()
    return kubernetes.client.ApiClient()


IN_CLUSTER_VARS = ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")
_NO_CLUSTER_HINT = ("set KUBECONFIG to a cluster's kubeconfig, run in a Pod, or start a local "
                    "one with `mpu-operator sandbox`")


def cluster_problem(probe_timeout: float = 3.0) -> str | None:
    """None when there is a cluster to run against; else ONE line saying why not.

    ``mpu-operator run`` without a cluster used to print a traceback and retry for ever.
    This names where we looked (``KUBECONFIG`` / ~/.kube/config and the in-cluster
    variables) and what to do instead. A kubeconfig whose API server refuses connections
    counts as no cluster (a deleted kind cluster, a laptop with nothing running); in a Pod
    the API is not probed, so a slow apiserver at start-up still gets kopf's retries."""
    if all(os.environ.get(name) for name in IN_CLUSTER_VARS):
        try:
            kubernetes.config.load_incluster_config()
        except kubernetes.config.ConfigException as exc:
            return (f"no Kubernetes cluster: {'/'.join(IN_CLUSTER_VARS)} are set but the Pod's "
                    f"service account is unusable ({_one_line(exc)}); {_NO_CLUSTER_HINT}")
        return None
    where = _kubeconfig_where()
    try:
        kubernetes.config.load_kube_config()
    except Exception as exc:  # ConfigException, YAML errors, unreadable files, bad certs
        return (f"no Kubernetes cluster: {where} has no usable configuration "
                f"({_one_line(exc)}) and {'/'.join(IN_CLUSTER_VARS)} are not set "
                f"(not in a Pod); {_NO_CLUSTER_HINT}")
    return _unreachable(where, probe_timeout)


def _kubeconfig_where() -> str:
    path = os.environ.get("KUBECONFIG")
    if path:
        return f"KUBECONFIG ({path})"
    return f"KUBECONFIG is not set and {os.path.expanduser('~/.kube/config')}"


def _unreachable(where: str, timeout: float) -> str | None:
    """One quick GET /version without retries: any HTTP answer means a server is there."""
    config = kubernetes.client.Configuration.get_default_copy()
    config.retries = 0
    try:
        with kubernetes.client.ApiClient(config) as api:
            kubernetes.client.VersionApi(api).get_code(_request_timeout=timeout)
    except kubernetes.client.ApiException:
        return None  # it answered (perhaps 401/403/404): kopf will say the rest
    except Exception as exc:
        return (f"no Kubernetes cluster: the API server of {where}, {config.host}, does not "
                f"answer ({type(exc).__name__}) and {'/'.join(IN_CLUSTER_VARS)} are not set "
                f"(not in a Pod); {_NO_CLUSTER_HINT}")
    return None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


@dataclass
class _Cached:
    data: Mapping[str, str]
    at: float


class Kube:
    def __init__(self, api: kubernetes.client.ApiClient, secret_ttl: float = 10.0) -> None:
        self._custom = kubernetes.client.CustomObjectsApi(api)
        self._core = kubernetes.client.CoreV1Api(api)
        self._secret_ttl = secret_ttl
        self._secrets: dict[tuple[str, str], _Cached] = {}

    async def patch_status(self, namespace: str, name: str, status: Mapping[str, Any],
                           plural: str = PLURAL) -> None:
        """Merge-patch ``status`` (of an MPUTask, or of ``plural``); an object that is
        already gone is not an error."""
        try:
            await asyncio.to_thread(
                self._custom.patch_namespaced_custom_object_status, GROUP, VERSION,
                namespace, plural, name, {"status": dict(status)}, _content_type=MERGE_PATCH)
        except kubernetes.client.ApiException as exc:
            if exc.status != 404:
                raise

    async def secret_data(self, namespace: str, name: str) -> Mapping[str, str]:
        """A Secret's base64 ``data``, cached briefly so a rotated Secret is picked up
        within seconds without re-reading it on every fast poll."""
        cached = self._secrets.get((namespace, name))
        if cached is not None and time.monotonic() - cached.at < self._secret_ttl:
            return cached.data
        try:
            secret = await asyncio.to_thread(self._core.read_namespaced_secret, name, namespace)
        except kubernetes.client.ApiException as exc:
            if exc.status == 404:
                raise SecretProblem(f"Secret {namespace}/{name} not found") from None
            raise SecretProblem(f"Secret {namespace}/{name} unreadable "
                                f"(HTTP {exc.status})") from None
        data = {str(k): str(v) for k, v in (secret.data or {}).items()}
        self._secrets[(namespace, name)] = _Cached(data, time.monotonic())
        return data

    async def secret_value(self, namespace: str, name: str, key: str) -> str:
        data = await self.secret_data(namespace, name)
        if key not in data:
            raise SecretProblem(f"Secret {namespace}/{name} has no key {key!r}")
        try:
            value = base64.b64decode(data[key]).decode("utf-8").strip()
        except (ValueError, UnicodeDecodeError):
            raise SecretProblem(f"Secret {namespace}/{name} key {key!r} is not valid "
                                "base64 UTF-8") from None
        logsafety.remember(value)  # whatever it holds, no log line may ever show it
        return value
