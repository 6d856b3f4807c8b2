"""The resource types the sandbox serves and the tests talk about, in one table.

Both faces of the stand-in cluster read it: the API server stand-in serves exactly these
(discovery, scope, status subresource), and the tests' ``Cluster`` helpers resolve
``"mputasks"``, ``"MPUTask"`` or ``"mpu"`` to a URL with it. One table, so a resource the
stand-in serves is always one the helpers can address, and vice versa.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable


@dataclasses.dataclass(frozen=True)
class ResourceType:
    """What discovery says about one resource, plus the apiserver rules that depend on it."""

    group: str  # '' for the core API
    version: str
    plural: str
    kind: str
    namespaced: bool
    status_subresource: bool = False
    custom: bool = False  # custom resources get metadata.generation; core ones we use do not
    short_names: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def names(self) -> frozenset[str]:
        """Every spelling the helpers accept for this resource."""
        return frozenset({self.plural, self.kind, self.singular, *self.short_names,
                          f"{self.plural}.{self.group}" if self.group else self.plural})

    def path(self, namespace: str | None = None, name: str | None = None,
             subresource: str | None = None) -> str:
        """The REST path, e.g. ``/apis/mpu-operator.io/v1alpha1/namespaces/ns/mputasks/x``."""
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        parts = [root]
        if self.namespaced and namespace is not None:
            parts += ["namespaces", namespace]
        parts.append(self.plural)
        if name is not None:
            parts.append(name)
        if subresource is not None:
            parts.append(subresource)
        return "/".join(parts)


MPUTASKS = ResourceType(
    group="mpu-operator.io", version="v1alpha1", plural="mputasks", kind="MPUTask",
    namespaced=True, status_subresource=True, custom=True, short_names=("mpu",))
MPULAYOUTS = ResourceType(
    group="mpu-operator.io", version="v1alpha1", plural="mpulayouts", kind="MPULayout",
    namespaced=True, status_subresource=True, custom=True, short_names=("mpul",))
SECRETS = ResourceType(group="", version="v1", plural="secrets", kind="Secret", namespaced=True)
EVENTS = ResourceType(group="", version="v1", plural="events", kind="Event", namespaced=True,
                      short_names=("ev",))
NAMESPACES = ResourceType(group="", version="v1", plural="namespaces", kind="Namespace",
                          namespaced=False, short_names=("ns",))
CRDS = ResourceType(
    group="apiextensions.k8s.io", version="v1", plural="customresourcedefinitions",
    kind="CustomResourceDefinition", namespaced=False, status_subresource=True, custom=True,
    short_names=("crd", "crds"))
# The operator's leader election (MPU_LEADER_ELECTION): get, create, PUT with the
# resourceVersion precondition, as the apiserver (unconditional PUT allowed for core types).
LEASES = ResourceType(group="coordination.k8s.io", version="v1", plural="leases", kind="Lease",
                      namespaced=True)

DEFAULT_RESOURCES: tuple[ResourceType, ...] = (MPUTASKS, MPULAYOUTS, SECRETS, EVENTS,
                                                NAMESPACES, CRDS, LEASES)


def resolve(name: str, resources: Iterable[ResourceType] = DEFAULT_RESOURCES) -> ResourceType:
    """Find a resource by plural, kind, singular or short name (as kubectl does)."""
    for resource in resources:
        if name in resource.names:
            return resource
    raise LookupError(f"Unknown resource {name!r}; known: "
                      f"{sorted(r.plural for r in resources)}. Add it to resources.py.")


def resolve_body(body: dict[str, object],
                 resources: Iterable[ResourceType] = DEFAULT_RESOURCES) -> ResourceType:
    """Find the resource of a manifest by its ``apiVersion`` and ``kind``."""
    for resource in resources:
        if (resource.api_version, resource.kind) == (body.get("apiVersion"), body.get("kind")):
            return resource
    raise LookupError(f"Unknown apiVersion/kind {body.get('apiVersion')}/{body.get('kind')}.")
