"""Flux and ``kubectl wait`` judge an MPUTask as Argo CD's health.lua does (or we say why not).

Flux's health checks use kstatus (tests/gitops/kstatus.py, transcribed from cli-utils);
``kubectl wait --for=condition=Ready`` reads the Ready condition, skipping one written for
an older generation (kubectl ``pkg/cmd/wait/condition.go``: ``checkCondition`` with
``getObservedGeneration``). Both run here on the same testdata as the Argo CD cases, and
the verdicts are compared through a fixed correspondence:

    Argo CD       kstatus       kubectl wait --for=condition=Ready
    Healthy       Current       met
    Suspended     Current       met   (kstatus has no "suspended": a suspended MPUTask has
                                       reached what its spec asks, no task, so Ready=True)
    Degraded      Failed        never met (Stalled=True comes with Ready=False)
    Progressing   InProgress    not yet met

with two differences that are kstatus's own rules, documented in docs/deploy.md:
* being deleted: kstatus says Terminating (its own state; Flux waits for it);
* no status yet: kstatus says Current — without observedGeneration or conditions it cannot
  tell that a controller has not acted yet. Argo CD says Progressing; kubectl wait waits.
A Stopped task (restartPolicy ended it) counts as Healthy/Current/met only once the
operator writes Ready=True for it (healthy_stopped.yaml); today it writes Ready=False
(progressing_stopped_today.yaml): Progressing/InProgress/never met, consistently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.gitops import argocd_lua, kstatus

ARGOCD = Path(__file__).resolve().parents[2] / "deploy" / "argocd"

KSTATUS_OF = {"Healthy": kstatus.CURRENT, "Suspended": kstatus.CURRENT,
              "Degraded": kstatus.FAILED, "Progressing": kstatus.IN_PROGRESS}
KSTATUS_EXCEPTIONS = {
    "progressing_deleting.yaml": kstatus.TERMINATING,
    "progressing_no_status.yaml": kstatus.CURRENT,
}
READY_MET = {"Healthy", "Suspended"}


def _argo_verdicts() -> dict[str, str]:
    cases = yaml.safe_load((ARGOCD / "health_test.yaml").read_text())["tests"]
    return {c["inputPath"].removeprefix("testdata/"): c["healthStatus"]["status"]
            for c in cases}


VERDICTS = _argo_verdicts()


@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_kstatus_agrees_with_argocd(name: str) -> None:
    obj = argocd_lua.load_object(ARGOCD / "testdata" / name)
    want = KSTATUS_EXCEPTIONS.get(name, KSTATUS_OF[VERDICTS[name]])
    assert kstatus.compute(obj).status == want


@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_kubectl_wait_for_ready_agrees_with_argocd(name: str) -> None:
    obj = argocd_lua.load_object(ARGOCD / "testdata" / name)
    assert kubectl_wait_condition_met(obj, "Ready") == (VERDICTS[name] in READY_MET)


def test_kstatus_messages_come_from_the_conditions() -> None:
    """What `flux get kustomizations` and its events show for a stuck MPUTask."""
    for name, verdict in VERDICTS.items():
        if verdict != "Degraded":
            continue
        obj = argocd_lua.load_object(ARGOCD / "testdata" / name)
        stalled = next(c for c in obj["status"]["conditions"] if c["type"] == "Stalled")
        assert kstatus.compute(obj).message == stalled["message"]


def test_the_exceptions_are_exactly_kstatus_rules() -> None:
    """Each exception disappears once its cause is removed: they are not hidden bugs."""
    deleting = argocd_lua.load_object(ARGOCD / "testdata" / "progressing_deleting.yaml")
    del deleting["metadata"]["deletionTimestamp"]
    assert kstatus.compute(deleting).status == kstatus.IN_PROGRESS  # Reconciling=True
    fresh = argocd_lua.load_object(ARGOCD / "testdata" / "progressing_no_status.yaml")
    fresh["status"] = {"observedGeneration": 0}
    assert kstatus.compute(fresh).status == kstatus.IN_PROGRESS


def kubectl_wait_condition_met(obj: dict[str, Any], ctype: str, want: str = "True") -> bool:
    """kubectl's ``ConditionalWait.checkCondition`` (pkg/cmd/wait/condition.go)."""
    status = obj.get("status") or {}
    generation = (obj.get("metadata") or {}).get("generation")
    for cond in status.get("conditions") or []:
        if str(cond.get("type", "")).casefold() != ctype.casefold() or "status" not in cond:
            continue
        observed = cond.get("observedGeneration", status.get("observedGeneration"))
        if generation is not None and observed is not None and observed < generation:
            return False
        return str(cond["status"]).casefold() == want.casefold()
    return False
