"""Discovery documents (``/api``, ``/apis``, ``/apis/{group}[/{version}]``, ``/version``).

kmock's stock discovery lists every verb and the short names on subresources too, so
``kubectl get mpu`` warns that "mpu" could also mean ``mputasks/status``. These are built
from the resource table as kube-apiserver builds them: subresources carry get/patch/update
and no short names. Aggregated discovery (``apidiscovery.k8s.io/v2``) is not served:
kubectl asks for it first and falls back to these legacy documents, as with older servers.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mpu_operator.sandbox.resources import ResourceType

Body = dict[str, Any]
_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
_SUB_VERBS = ["get", "patch", "update"]

#: What ``kubectl version`` shows; a recent minor so kubectl does not warn about skew.
SERVER_VERSION: Body = {
    "major": "1", "minor": "32", "gitVersion": "v1.32.0+mpu-sandbox",
    "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23", "compiler": "gc",
    "platform": "linux/amd64"}


def core_versions() -> Body:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}]}


def group_list(resources: Iterable[ResourceType]) -> Body:
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [group(resources, name) for name in _groups(resources)]}


def group(resources: Iterable[ResourceType], name: str) -> Body:
    versions = sorted({rt.version for rt in resources if rt.group == name})
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": name, "versions": entries,
            "preferredVersion": entries[0] if entries else {}}


def has_group(resources: Iterable[ResourceType], name: str) -> bool:
    return name in _groups(resources)


def resource_list(resources: Iterable[ResourceType], group_name: str, version: str) -> Body | None:
    """The APIResourceList of one group version, or None if nothing is served there."""
    served = [rt for rt in resources if (rt.group, rt.version) == (group_name, version)]
    if not served:
        return None
    entries: list[Body] = []
    for rt in served:
        entries.append({"name": rt.plural, "singularName": rt.singular, "kind": rt.kind,
                        "namespaced": rt.namespaced, "verbs": _VERBS,
                        "shortNames": list(rt.short_names)})
        if rt.status_subresource:
            entries.append({"name": f"{rt.plural}/status", "singularName": "", "kind": rt.kind,
                            "namespaced": rt.namespaced, "verbs": _SUB_VERBS})
    gv = f"{group_name}/{version}" if group_name else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": entries}


def _groups(resources: Iterable[ResourceType]) -> list[str]:
    return sorted({rt.group for rt in resources if rt.group})
