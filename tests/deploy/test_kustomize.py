"""deploy/ and deploy/namespaced/ as kustomize builds them: scope, RBAC, settings.

The namespaced variant's promise (docs/security.md): the operator can touch MPUTasks and
read Secrets only in the namespaces it watches, and no ClusterRole reaches a tenant.
"""

from __future__ import annotations

import copy
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy import checks
from tests.deploy.conftest import REPO, Build

CLUSTERWIDE = REPO / "deploy"
NAMESPACED = REPO / "deploy" / "namespaced"
SHIPPED_TENANTS = ("tenant-a", "tenant-b")


def test_clusterwide_variant_watches_all_namespaces(build: Build) -> None:
    docs = build(CLUSTERWIDE)
    assert checks.clusterwide_problems(docs) == []
    assert checks.scope(docs).default_credentials == "*"
    assert {d["kind"] for d in docs} >= {"CustomResourceDefinition", "Namespace",
                                         "ServiceAccount", "ClusterRole", "Deployment"}


def test_namespaced_variant_reaches_only_its_namespaces(build: Build) -> None:
    docs = build(NAMESPACED)
    assert checks.namespaced_problems(docs) == []
    s = checks.scope(docs)
    assert s.namespaces == SHIPPED_TENANTS
    assert checks.listed(s.default_credentials) == set(SHIPPED_TENANTS)
    assert checks.reach(docs, "", "secrets", "get") == set(SHIPPED_TENANTS)
    cluster_grants = {g for role in checks.of_kind(docs, "ClusterRole")
                      for g in checks.grants(role)}
    assert cluster_grants == {("apiextensions.k8s.io", "customresourcedefinitions", "list"),
                              ("apiextensions.k8s.io", "customresourcedefinitions", "watch")}


@pytest.mark.parametrize("folder", [CLUSTERWIDE, NAMESPACED, REPO / "tests" / "e2e"],
                         ids=["clusterwide", "namespaced", "e2e"])
def test_every_rbac_rule_is_least_privilege(build: Build, folder: Path) -> None:
    docs = build(folder)
    assert checks.of_kind(docs, "Role") + checks.of_kind(docs, "ClusterRole")
    assert checks.rule_problems(docs) == []
    assert checks.binding_problems(docs) == []


@pytest.mark.parametrize("folder", [CLUSTERWIDE, NAMESPACED], ids=["clusterwide", "namespaced"])
def test_leader_election_runs_two_replicas_on_one_lease(build: Build, folder: Path) -> None:
    docs = build(folder)
    assert checks.lease_problems(docs) == []
    assert checks.deployment(docs)["spec"]["replicas"] == 2
    container = checks.manager(docs)
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["MPU_LEADER_ELECTION"] == "true"
    # the standby must count as ready: both probes hit the runner's own /healthz
    assert container["readinessProbe"]["httpGet"] == container["livenessProbe"]["httpGet"]
    assert "--liveness" in " ".join(container["args"])


def test_variants_differ_only_in_scope(build: Build) -> None:
    """One Deployment for both: a fix to base/ cannot miss one variant."""
    wide, narrow = (copy.deepcopy(checks.manager(build(f))) for f in (CLUSTERWIDE, NAMESPACED))
    for container in (wide, narrow):
        container.pop("args")
        container["env"] = [e for e in container["env"] if e["name"] != checks.CREDS_ENV]
    assert wide == narrow


def _mutations() -> dict[str, Callable[[list[dict[str, Any]]], None]]:
    def cluster_secrets(docs: list[dict[str, Any]]) -> None:
        checks.of_kind(docs, "ClusterRole")[0]["rules"].append(
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]})

    def wildcard_verbs(docs: list[dict[str, Any]]) -> None:
        checks.of_kind(docs, "Role")[0]["rules"][0]["verbs"] = ["*"]

    def list_secrets(docs: list[dict[str, Any]]) -> None:
        tenant_role = next(d for d in checks.of_kind(docs, "Role")
                           if d["metadata"]["name"] == "mpu-operator")
        tenant_role["rules"][3]["verbs"].append("list")

    def layouts_not_granted(docs: list[dict[str, Any]]) -> None:
        tenant_role = next(d for d in checks.of_kind(docs, "Role")
                           if d["metadata"]["name"] == "mpu-operator")
        tenant_role["rules"] = [r for r in tenant_role["rules"]
                                if not any(x.startswith("mpulayouts") for x in r["resources"])]

    def env_names_unwatched(docs: list[dict[str, Any]]) -> None:
        _env(docs)["value"] = "tenant-a,tenant-b,other-team"

    def env_star(docs: list[dict[str, Any]]) -> None:
        _env(docs)["value"] = "*"

    def watched_without_role(docs: list[dict[str, Any]]) -> None:
        checks.manager(docs)["args"].append("--namespace=tenant-c")

    def role_without_watch(docs: list[dict[str, Any]]) -> None:
        args = checks.manager(docs)["args"]
        args.remove("--namespace=tenant-b")
        _env(docs)["value"] = "tenant-a"

    def all_namespaces(docs: list[dict[str, Any]]) -> None:
        checks.manager(docs)["args"] = ["run", "--all-namespaces"]

    def foreign_subject(docs: list[dict[str, Any]]) -> None:
        checks.of_kind(docs, "RoleBinding")[0]["subjects"][0]["namespace"] = "tenant-a"

    def cluster_leases(docs: list[dict[str, Any]]) -> None:
        checks.of_kind(docs, "ClusterRole")[0]["rules"].append(
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get"]})

    def no_lease_role(docs: list[dict[str, Any]]) -> None:
        docs.remove(next(d for d in checks.of_kind(docs, "Role")
                         if d["metadata"]["name"] == "mpu-operator-leader-election"))

    def two_replicas_no_election(docs: list[dict[str, Any]]) -> None:
        _env(docs, "MPU_LEADER_ELECTION")["value"] = "false"

    def lease_in_a_tenant(docs: list[dict[str, Any]]) -> None:
        checks.manager(docs)["env"].append(
            {"name": "MPU_LEADER_ELECTION_NAMESPACE", "value": "tenant-a"})

    def shared_identity(docs: list[dict[str, Any]]) -> None:
        _env(docs, "POD_NAME").pop("valueFrom")
        _env(docs, "POD_NAME")["value"] = "operator"

    return {f.__name__: f for f in (cluster_secrets, wildcard_verbs, list_secrets,
                                    layouts_not_granted,
                                    env_names_unwatched, env_star, watched_without_role,
                                    role_without_watch, all_namespaces, foreign_subject,
                                    cluster_leases, no_lease_role, two_replicas_no_election,
                                    lease_in_a_tenant, shared_identity)}


@pytest.mark.parametrize("name", sorted(_mutations()))
def test_checks_catch_a_broken_namespaced_install(build: Build, name: str) -> None:
    docs = copy.deepcopy(build(NAMESPACED))
    _mutations()[name](docs)
    assert checks.namespaced_problems(docs), f"{name} went unnoticed"


def test_adding_a_namespace_as_documented(build: Build, tmp_path: Path) -> None:
    """docs/deploy.md's steps, done literally on a copy of the tree."""
    shutil.copytree(REPO / "deploy", tmp_path / "deploy")
    shutil.copytree(REPO / "crds", tmp_path / "crds")
    root = tmp_path / "deploy" / "namespaced"
    # 1. copy namespaces/tenant-a to namespaces/tenant-c, replace the name in its two files
    shutil.copytree(root / "namespaces" / "tenant-a", root / "namespaces" / "tenant-c")
    for path in (root / "namespaces" / "tenant-c").rglob("kustomization.yaml"):
        path.write_text(path.read_text().replace("tenant-a", "tenant-c"))
    # 2. list it under components
    kustomization = root / "kustomization.yaml"
    text = kustomization.read_text()
    assert "  - namespaces/tenant-b\n" in text
    kustomization.write_text(text.replace("  - namespaces/tenant-b\n",
                                          "  - namespaces/tenant-b\n  - namespaces/tenant-c\n"))
    docs = build(root)
    assert checks.namespaced_problems(docs) == []
    assert checks.scope(docs).namespaces == (*SHIPPED_TENANTS, "tenant-c")
    assert checks.reach(docs, "", "secrets", "get") == {*SHIPPED_TENANTS, "tenant-c"}
    # tenant-c is watched but must bring its own credentials until step 3 lists it
    assert "tenant-c" not in checks.listed(checks.scope(docs).default_credentials)


def test_namespaced_variant_takes_the_emulator_component(build: Build,
                                                         tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [os.path.relpath(NAMESPACED, overlay)],  # kustomize: relative only
        "components": [os.path.relpath(REPO / "deploy" / "emulator", overlay)]}))
    docs = build(overlay)
    assert checks.namespaced_problems(docs) == []
    env = {e["name"]: e.get("value") for e in checks.manager(docs)["env"]}
    assert env["MPU_RTC_ENDPOINT"].startswith("http://mpu-rtc-emulator.")


def _env(docs: list[dict[str, Any]], name: str = checks.CREDS_ENV) -> dict[str, Any]:
    found = [e for e in checks.manager(docs)["env"] if e["name"] == name]
    assert len(found) == 1
    return found[0]


# ------------------------------------------------------------------------- metrics

PODMONITOR = REPO / "deploy" / "components" / "podmonitor"


def _with_component(folder: Path, component: Path, tmp_path: Path) -> Path:
    overlay = tmp_path / f"overlay-{folder.name}"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [os.path.relpath(folder, overlay)],
        "components": [os.path.relpath(component, overlay)]}))
    return overlay


@pytest.mark.parametrize("folder", [CLUSTERWIDE, NAMESPACED], ids=["clusterwide", "namespaced"])
def test_metrics_are_served_on_their_own_port(build: Build, folder: Path) -> None:
    docs = build(folder)
    assert checks.metrics_problems(docs) == []
    assert not checks.of_kind(docs, "PodMonitor"), "the PodMonitor is optional"
    ports = {p["name"]: p["containerPort"] for p in checks.manager(docs)["ports"]}
    assert ports["metrics"] == 8080


@pytest.mark.parametrize("folder", [CLUSTERWIDE, NAMESPACED], ids=["clusterwide", "namespaced"])
def test_the_podmonitor_component_scrapes_the_operator(build: Build, folder: Path,
                                                       tmp_path: Path) -> None:
    docs = build(_with_component(folder, PODMONITOR, tmp_path))
    (monitor,) = checks.of_kind(docs, "PodMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert checks.metrics_problems(docs) == []


def test_the_podmonitor_ignores_the_emulator(build: Build, tmp_path: Path) -> None:
    overlay = _with_component(CLUSTERWIDE, PODMONITOR, tmp_path)
    text = (overlay / "kustomization.yaml").read_text()
    data = yaml.safe_load(text)
    data["components"].append(os.path.relpath(REPO / "deploy" / "emulator", overlay))
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(data))
    assert checks.metrics_problems(build(overlay)) == []


def _metrics_mutations() -> dict[str, Callable[[list[dict[str, Any]]], None]]:
    def liveness_on_metrics_port(docs: list[dict[str, Any]]) -> None:
        container = checks.manager(docs)
        container["args"] = [a.replace(":8081/", ":8080/") for a in container["args"]]
        for port in container["ports"]:
            port["containerPort"] = 8080

    def env_port_differs(docs: list[dict[str, Any]]) -> None:
        _named_env(docs, "MPU_METRICS_PORT")["value"] = "9090"

    def env_port_invalid(docs: list[dict[str, Any]]) -> None:
        _named_env(docs, "MPU_METRICS_PORT")["value"] = "http"

    def metrics_off(docs: list[dict[str, Any]]) -> None:
        env = checks.manager(docs)["env"]
        env.remove(_named_env(docs, "MPU_METRICS_PORT"))

    def monitor_wrong_port(docs: list[dict[str, Any]]) -> None:
        checks.of_kind(docs, "PodMonitor")[0]["spec"]["podMetricsEndpoints"][0]["port"] = "health"

    def monitor_wrong_labels(docs: list[dict[str, Any]]) -> None:
        checks.of_kind(docs, "PodMonitor")[0]["spec"]["selector"]["matchLabels"] = {
            "app.kubernetes.io/name": "mpu"}

    def monitor_wrong_namespace(docs: list[dict[str, Any]]) -> None:
        checks.of_kind(docs, "PodMonitor")[0]["spec"]["namespaceSelector"]["matchNames"] = [
            "default"]

    return {f.__name__: f for f in (liveness_on_metrics_port, env_port_differs,
                                    env_port_invalid, metrics_off, monitor_wrong_port,
                                    monitor_wrong_labels, monitor_wrong_namespace)}


@pytest.mark.parametrize("name", sorted(_metrics_mutations()))
def test_metrics_checks_catch_a_broken_install(build: Build, tmp_path: Path,
                                               name: str) -> None:
    docs = copy.deepcopy(build(_with_component(CLUSTERWIDE, PODMONITOR, tmp_path)))
    _metrics_mutations()[name](docs)
    assert checks.metrics_problems(docs), f"{name} went unnoticed"


def _named_env(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = [e for e in checks.manager(docs)["env"] if e["name"] == name]
    assert len(found) == 1
    return found[0]


def test_the_podmonitor_overlay_of_docs_deploy_md_builds(build: Build, tmp_path: Path) -> None:
    """The overlay docs/deploy.md#metrics shows, taken from the page and built as written."""
    text = (REPO / "docs" / "deploy.md").read_text()
    block = text.split("# my-install/kustomization.yaml\n", 1)[1].split("```", 1)[0]
    shutil.copytree(REPO / "deploy", tmp_path / "mpu-operator" / "deploy")
    shutil.copytree(REPO / "crds", tmp_path / "mpu-operator" / "crds")
    (tmp_path / "my-install").mkdir()
    (tmp_path / "my-install" / "kustomization.yaml").write_text(block)
    docs = build(tmp_path / "my-install")
    assert checks.metrics_problems(docs) == []
    (monitor,) = checks.of_kind(docs, "PodMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
