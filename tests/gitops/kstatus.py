"""kstatus's generic status computation, transcribed for our tests.

Source: kubernetes-sigs/cli-utils ``pkg/kstatus/status/status.go`` (``Compute``,
``checkReadyCondition``), ``generic.go`` (``checkGenericProperties``, ``checkGeneration``)
and ``core.go`` (``GetLegacyConditionsFn``: built-in kinds only, none of which is ours),
read at commit 5895ad6c17dd. Flux's health checks (kustomize-controller, helm-controller)
and ``kstatus``-based waits compute exactly this for a custom resource:

1. ``metadata.deletionTimestamp`` set -> Terminating;
2. ``status.observedGeneration`` present and != ``metadata.generation`` -> InProgress;
3. a condition ``Reconciling=True`` -> InProgress; ``Stalled=True`` -> Failed (first found
   in list order);
4. (legacy rules for built-in kinds: not for MPUTask);
5. a ``Ready`` condition: True -> Current; False or Unknown -> InProgress;
6. otherwise Current ("Resource is current"), also when there is no status at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CURRENT = "Current"
IN_PROGRESS = "InProgress"
FAILED = "Failed"
TERMINATING = "Terminating"

# core.go legacyTypes: group/kind keys of the built-in kinds with their own rules.
_LEGACY = frozenset({"Service", "Pod", "Secret", "PersistentVolumeClaim", "apps/StatefulSet",
                     "apps/DaemonSet", "extensions/DaemonSet", "apps/Deployment",
                     "extensions/Deployment", "apps/ReplicaSet", "extensions/ReplicaSet",
                     "policy/PodDisruptionBudget", "batch/CronJob", "ConfigMap", "batch/Job",
                     "apiextensions.k8s.io/CustomResourceDefinition"})


@dataclass(frozen=True)
class Result:
    status: str
    message: str


def compute(obj: dict[str, Any]) -> Result:
    """status.Compute for a custom resource."""
    generic = _check_generic_properties(obj)
    if generic is not None:
        return generic
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    key = f"{group}/{obj.get('kind')}" if group else str(obj.get("kind"))
    assert key not in _LEGACY, f"{key} has kind-specific kstatus rules, not transcribed"
    ready = _check_ready_condition(obj)
    if ready is not None:
        return ready
    return Result(CURRENT, "Resource is current")


def _check_generic_properties(obj: dict[str, Any]) -> Result | None:
    meta = obj.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return Result(TERMINATING, "Resource scheduled for deletion")
    generation = _check_generation(obj)
    if generation is not None:
        return generation
    for cond in _conditions(obj):
        if cond.get("type") == "Reconciling" and cond.get("status") == "True":
            return Result(IN_PROGRESS, str(cond.get("message", "")))
        if cond.get("type") == "Stalled" and cond.get("status") == "True":
            return Result(FAILED, str(cond.get("message", "")))
    return None


def _check_generation(obj: dict[str, Any]) -> Result | None:
    generation = (obj.get("metadata") or {}).get("generation")
    if generation is None:
        return None
    observed = (obj.get("status") or {}).get("observedGeneration")
    if observed is not None and observed != generation:
        return Result(IN_PROGRESS, f"{obj.get('kind')} generation is {generation}, but latest "
                                   f"observed generation is {observed}")
    return None


def _check_ready_condition(obj: dict[str, Any]) -> Result | None:
    for cond in _conditions(obj):
        if cond.get("type") != "Ready":
            continue
        if cond.get("status") == "True":
            return Result(CURRENT, "Resource is Ready")
        if cond.get("status") in ("False", "Unknown"):
            return Result(IN_PROGRESS, str(cond.get("message", "")))
    return None


def _conditions(obj: dict[str, Any]) -> list[dict[str, Any]]:
    items = (obj.get("status") or {}).get("conditions") or []
    return [c for c in items if isinstance(c, dict)]
