"""What an install must satisfy, as functions that return problems (empty list: fine).

Kept apart from the tests so that the same checks run on the shipped variants, on an
overlay built the way docs/deploy.md says to add a namespace, and on deliberately broken
copies (to prove each check can fail).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mpu_operator.cli import _parser
from mpu_operator.controller.settings import OperatorConfig, SettingsError

Doc = dict[str, Any]

OPERATOR_NS = "mpu-operator-system"
SERVICE_ACCOUNT = "mpu-operator"
CREDS_ENV = "MPU_DEFAULT_CREDENTIALS_NAMESPACES"

#: Every (apiGroup, resource) the operator may be granted, and the most it may do there.
#: A new permission must be added here on purpose, with its user in the manifest's comment.
ALLOWED: dict[tuple[str, str], frozenset[str]] = {
    ("mpu-operator.io", "mputasks"): frozenset({"list", "watch", "patch"}),
    ("mpu-operator.io", "mputasks/status"): frozenset({"patch"}),
    ("mpu-operator.io", "mputasks/finalizers"): frozenset({"update"}),
    ("mpu-operator.io", "mpulayouts"): frozenset({"list", "watch", "patch"}),
    ("mpu-operator.io", "mpulayouts/status"): frozenset({"patch"}),
    ("mpu-operator.io", "mpulayouts/finalizers"): frozenset({"update"}),
    ("", "secrets"): frozenset({"get"}),
    ("", "events"): frozenset({"create", "patch"}),
    ("apiextensions.k8s.io", "customresourcedefinitions"): frozenset({"list", "watch"}),
    ("", "namespaces"): frozenset({"list", "watch"}),
    # Leader election (deploy/base/leader-election.yaml): one Lease, own namespace only.
    ("coordination.k8s.io", "leases"): frozenset({"get", "create", "update"}),
}
LEASE_VERBS = ("get", "create", "update")

#: Resources that reach into a tenant's namespace: never granted cluster-wide when namespaced.
TENANT_RESOURCES = {("", "secrets"), ("mpu-operator.io", "mputasks"),
                    ("mpu-operator.io", "mputasks/status"), ("mpu-operator.io", "mpulayouts"),
                    ("mpu-operator.io", "mpulayouts/status")}


@dataclass(frozen=True)
class Scope:
    """What the operator's Deployment asks for: its watched namespaces and credentials rule."""

    all_namespaces: bool
    namespaces: tuple[str, ...]
    default_credentials: str | None  # the env value; None when unset


def of_kind(docs: Iterable[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d.get("kind") == kind]


def grants(role: Doc) -> Iterator[tuple[str, str, str]]:
    """(apiGroup, resource, verb) for every combination a Role/ClusterRole's rules allow."""
    for rule in role.get("rules") or []:
        for group in rule.get("apiGroups") or []:
            for resource in rule.get("resources") or []:
                for verb in rule.get("verbs") or []:
                    yield group, resource, verb


def rule_problems(docs: Iterable[Doc]) -> list[str]:
    """Least privilege: no wildcards, nothing outside ALLOWED, no resourceNames surprises."""
    problems = []
    for role in of_kind(docs, "Role") + of_kind(docs, "ClusterRole"):
        where = _where(role)
        for rule in role.get("rules") or []:
            if rule.get("nonResourceURLs"):
                problems.append(f"{where}: nonResourceURLs {rule['nonResourceURLs']}")
            for key in ("apiGroups", "resources", "verbs"):
                if "*" in (rule.get(key) or []):
                    problems.append(f"{where}: '*' in {key}")
        for group, resource, verb in grants(role):
            allowed = ALLOWED.get((group, resource))
            if allowed is None:
                problems.append(f"{where}: {resource!r} in apiGroup {group!r} is not needed")
            elif verb not in allowed and verb != "*":
                problems.append(f"{where}: verb {verb!r} on {resource!r} is more than "
                                f"{sorted(allowed)}")
    return problems


def binding_problems(docs: Iterable[Doc]) -> list[str]:
    """Every binding names a role in the build and binds only the operator's ServiceAccount."""
    docs = list(docs)
    problems = []
    for binding in of_kind(docs, "RoleBinding") + of_kind(docs, "ClusterRoleBinding"):
        if role_of(docs, binding) is None:
            problems.append(f"{_where(binding)}: roleRef {binding['roleRef']} is not installed")
        for subject in binding.get("subjects") or []:
            if (subject.get("kind"), subject.get("name"), subject.get("namespace")) != (
                    "ServiceAccount", SERVICE_ACCOUNT, OPERATOR_NS):
                problems.append(f"{_where(binding)}: binds {subject}, not the operator")
    return problems


def role_of(docs: Iterable[Doc], binding: Doc) -> Doc | None:
    ref = binding["roleRef"]
    for role in of_kind(docs, ref["kind"]):
        same_ns = ref["kind"] == "ClusterRole" or (
            role["metadata"].get("namespace") == binding["metadata"].get("namespace"))
        if role["metadata"]["name"] == ref["name"] and same_ns:
            return role
    return None


def reach(docs: Iterable[Doc], group: str, resource: str, verb: str) -> set[str]:
    """Where the operator may do ``verb`` on ``resource``: namespaces, or ``*`` (cluster)."""
    docs = list(docs)
    where: set[str] = set()
    for binding in of_kind(docs, "RoleBinding") + of_kind(docs, "ClusterRoleBinding"):
        role = role_of(docs, binding)
        if role is None or not any(g in (group, "*") and r in (resource, "*")
                                   and v in (verb, "*") for g, r, v in grants(role)):
            continue
        where.add("*" if binding["kind"] == "ClusterRoleBinding"
                  else binding["metadata"]["namespace"])
    return where


def deployment(docs: Iterable[Doc]) -> Doc:
    found = [d for d in of_kind(docs, "Deployment") if d["metadata"]["name"] == "mpu-operator"]
    assert len(found) == 1, f"expected one mpu-operator Deployment, found {len(found)}"
    return found[0]


def manager(docs: Iterable[Doc]) -> Doc:
    containers = deployment(docs)["spec"]["template"]["spec"]["containers"]
    found = [c for c in containers if c["name"] == "manager"]
    assert len(found) == 1, "expected one container named manager"
    return found[0]


def scope(docs: Iterable[Doc]) -> Scope:
    """The Deployment's arguments read by the operator's own argument parser."""
    container = manager(docs)
    args = _parser().parse_args(container["args"])
    assert args.command == "run", f"the operator runs {args.command!r}, not 'run'"
    env = {e["name"]: e.get("value") for e in container.get("env") or []}
    return Scope(all_namespaces=args.all_namespaces, namespaces=tuple(args.namespace),
                 default_credentials=env.get(CREDS_ENV))


def listed(value: str | None) -> set[str]:
    return {part.strip() for part in (value or "").split(",") if part.strip()}


def namespaced_problems(docs: Iterable[Doc]) -> list[str]:
    """The namespaced variant: the operator reaches exactly the namespaces it watches."""
    docs = list(docs)
    problems = rule_problems(docs) + binding_problems(docs) + lease_problems(docs)
    for role in of_kind(docs, "ClusterRole"):
        tenant = {(g, r) for g, r, _ in grants(role)} & TENANT_RESOURCES
        if tenant or any(r == "*" for _, r, _ in grants(role)):
            problems.append(f"{_where(role)}: a ClusterRole grants {sorted(tenant) or '*'}")
    s = scope(docs)
    watched = set(s.namespaces)
    if s.all_namespaces or not watched:
        problems.append("the operator watches every namespace (--all-namespaces or no -n)")
    for ns in sorted(watched):
        if any(ch in ns for ch in "*?!,"):
            problems.append(f"-n {ns}: a pattern; without namespaces list/watch kopf serves "
                            "exact names only")
    for group, resource, verb in (("", "secrets", "get"),
                                  ("mpu-operator.io", "mputasks", "watch"),
                                  ("mpu-operator.io", "mputasks/status", "patch"),
                                  ("mpu-operator.io", "mpulayouts", "watch"),
                                  ("mpu-operator.io", "mpulayouts/status", "patch"),
                                  ("", "events", "create")):
        granted = reach(docs, group, resource, verb)
        if "*" in granted:
            problems.append(f"{verb} {resource} is granted cluster-wide")
        for ns in sorted(watched - granted):
            problems.append(f"watched namespace {ns} lacks {verb} {resource}")
        for ns in sorted(granted - watched - {"*"}):
            problems.append(f"{verb} {resource} granted in {ns}, which is not watched")
    creds = s.default_credentials
    if creds is None or creds.strip() == "*":
        problems.append(f"{CREDS_ENV} must list the namespaces (got {creds!r})")
    else:
        for ns in sorted(listed(creds) - watched):
            problems.append(f"{CREDS_ENV} names {ns}, which is not watched")
    return problems


def lease_problems(docs: Iterable[Doc]) -> list[str]:
    """Leader election: on whenever replicas > 1, Lease rights in the operator's namespace
    only (never a ClusterRole), and an identity unique per pod."""
    docs = list(docs)
    problems = []
    env = {e["name"]: e for e in manager(docs).get("env") or []}
    replicas = deployment(docs)["spec"].get("replicas", 1)
    if str((env.get("MPU_LEADER_ELECTION") or {}).get("value")).lower() != "true":
        if replicas > 1:
            problems.append(f"{replicas} replicas without MPU_LEADER_ELECTION=true: each "
                            "would run the handlers")
        return problems
    lease_ns = (env.get("MPU_LEADER_ELECTION_NAMESPACE") or {}).get("value") or OPERATOR_NS
    if lease_ns != OPERATOR_NS:
        problems.append(f"the Lease is in {lease_ns}, not the operator's {OPERATOR_NS}")
    for verb in LEASE_VERBS:
        granted = reach(docs, "coordination.k8s.io", "leases", verb)
        if granted != {OPERATOR_NS}:
            problems.append(f"{verb} leases is granted in {sorted(granted)}, not exactly "
                            f"[{OPERATOR_NS!r}]")
    for name, field in (("POD_NAME", "metadata.name"), ("POD_NAMESPACE", "metadata.namespace")):
        ref = ((env.get(name) or {}).get("valueFrom") or {}).get("fieldRef") or {}
        if ref.get("fieldPath") != field:
            problems.append(f"{name} must come from the downward API ({field})")
    return problems


def clusterwide_problems(docs: Iterable[Doc]) -> list[str]:
    docs = list(docs)
    problems = rule_problems(docs) + binding_problems(docs) + lease_problems(docs)
    s = scope(docs)
    if not s.all_namespaces or s.namespaces:
        problems.append(f"the cluster-wide operator watches only {s.namespaces}")
    if s.default_credentials is None:
        problems.append(f"{CREDS_ENV} is not set: set it (even to '*') so it is visible")
    for group, resource, verb in (("", "secrets", "get"),
                                  ("mpu-operator.io", "mputasks", "watch"),
                                  ("mpu-operator.io", "mpulayouts", "watch"),
                                  ("mpu-operator.io", "mpulayouts/status", "patch")):
        if reach(docs, group, resource, verb) != {"*"}:
            problems.append(f"{verb} {resource} is not granted cluster-wide")
    return problems


def metrics_problems(docs: Iterable[Doc]) -> list[str]:
    """/metrics is served where the Deployment says, on a port of its own, and a PodMonitor
    (if the podmonitor component is in the build) scrapes exactly that port of these pods."""
    docs = list(docs)
    container = manager(docs)
    ports = {p.get("name"): p.get("containerPort") for p in container.get("ports") or []}
    problems = []
    numbers = [p.get("containerPort") for p in container.get("ports") or []]
    if len(set(numbers)) != len(numbers):
        problems.append(f"two container ports share a number: {numbers}")
    env = {e["name"]: e["value"] for e in container.get("env") or [] if "value" in e}
    try:
        config = OperatorConfig.from_env(env)
    except SettingsError as exc:
        return [*problems, f"the operator would refuse its settings: {exc}"]
    if config.metrics_port is None:
        problems.append("MPU_METRICS_PORT is not set: no /metrics")
    elif ports.get("metrics") != config.metrics_port:
        problems.append(f"MPU_METRICS_PORT={config.metrics_port} but the 'metrics' port is "
                        f"{ports.get('metrics')}")
    liveness = _parser().parse_args(container["args"]).liveness
    if liveness is not None and ports.get("health") != urlsplit(liveness).port:
        problems.append(f"--liveness {liveness} is not the 'health' port {ports.get('health')}")
    probe_port = ((container.get("livenessProbe") or {}).get("httpGet") or {}).get("port")
    if probe_port is not None and probe_port not in ports:
        problems.append(f"the liveness probe uses port {probe_port!r}, which is not declared")
    for monitor in of_kind(docs, "PodMonitor"):
        problems += _pod_monitor_problems(docs, monitor, ports)
    return problems


def _pod_monitor_problems(docs: list[Doc], monitor: Doc, ports: dict[Any, Any]) -> list[str]:
    where, spec = _where(monitor), monitor.get("spec") or {}
    found = deployment(docs)
    pod_labels = found["spec"]["template"]["metadata"].get("labels") or {}
    problems = []
    wanted = (spec.get("selector") or {}).get("matchLabels") or {}
    if not wanted or any(pod_labels.get(k) != v for k, v in wanted.items()):
        problems.append(f"{where}: selector {wanted} does not match the pods {pod_labels}")
    others = [d for d in of_kind(docs, "Deployment") if d is not found
              and all(((d["spec"]["template"]["metadata"].get("labels") or {}).get(k) == v)
                      for k, v in wanted.items())]
    if wanted and others:
        problems.append(f"{where}: selector {wanted} also matches {_where(others[0])}")
    names = (spec.get("namespaceSelector") or {}).get("matchNames") or []
    namespace = found["metadata"].get("namespace")
    looked_in = names or [monitor["metadata"].get("namespace")]  # none listed: its own
    if namespace not in looked_in:
        problems.append(f"{where}: does not look in namespace {namespace}")
    endpoints = spec.get("podMetricsEndpoints") or []
    if not endpoints:
        problems.append(f"{where}: no podMetricsEndpoints")
    for endpoint in endpoints:
        if endpoint.get("port") != "metrics" or "metrics" not in ports:
            problems.append(f"{where}: scrapes port {endpoint.get('port')!r}, not 'metrics'")
        if endpoint.get("path", "/metrics") != "/metrics":
            problems.append(f"{where}: scrapes {endpoint.get('path')}, not /metrics")
    return problems


def _where(obj: Doc) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{obj.get('kind')} {ns + '/' if ns else ''}{meta.get('name')}"
