"""Operator-wide settings, from environment variables (each documented in the README).

A bad value stops start-up with one line naming the variable and the rule (the runner
prints :class:`SettingsError` and exits 2): a typo must not become a NaN poll interval, an
endpoint that every call fails on, or default credentials offered to every namespace.
"""

from __future__ import annotations

import math
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from mpu_operator.core.shard import Shard, parse_selector, parse_shard
from mpu_operator.core.timing import Timing
from mpu_operator.rtc.client import DEFAULT_ENDPOINT, ENV_ENDPOINT
from mpu_operator.rtc.credentials import Credentials

ENV_DEFAULT_CREDENTIALS_NAMESPACES = "MPU_DEFAULT_CREDENTIALS_NAMESPACES"
ENV_METRICS_PORT = "MPU_METRICS_PORT"
ENV_LOG_FORMAT = "MPU_LOG_FORMAT"
ENV_SHARD = "MPU_SHARD"
ENV_SHARD_SELECTOR = "MPU_SHARD_SELECTOR"
LOG_FORMATS = ("plain", "json")
ALL_NAMESPACES = "*"
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_ENDPOINT_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?)"
                            r"(:[0-9]{1,5})?")
_SHOWN = 80  # characters of a bad value echoed back


class SettingsError(ValueError):
    """A setting's value is unusable; the message names the variable and the rule."""


@dataclass(frozen=True)
class OperatorConfig:
    endpoint: str = DEFAULT_ENDPOINT
    default_credentials: Credentials | None = field(default=None, repr=False)
    timing: Timing = field(default_factory=Timing)
    max_tasks_per_app: int = 10
    secret_cache_seconds: float = 10.0
    #: Namespaces whose MPUTasks may use ``default_credentials``; None means all.
    default_credentials_namespaces: frozenset[str] | None = None
    #: Where ``/metrics`` is served; None: nowhere (metrics off).
    metrics_port: int | None = None
    log_format: str = "plain"
    #: This process's shard (``MPU_SHARD=i/k``); None: the only operator.
    shard: Shard | None = None

    def defaults_allowed_in(self, namespace: str) -> bool:
        """May an MPUTask in ``namespace`` without ``credentialsRef`` use the defaults?"""
        allowed = self.default_credentials_namespaces
        return allowed is None or namespace in allowed

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> OperatorConfig:
        shard = shard_setting(environ)
        # MPU_API_QPS is the account's budget, shared by all shards: each takes 1/k of it.
        qps = _float(environ, "MPU_API_QPS", 10.0, minimum=0.1) / (shard.count if shard else 1)
        timing = Timing(
            steady_poll=_float(environ, "MPU_POLL_STEADY_SECONDS", 30.0, minimum=1.0),
            fast_poll=_float(environ, "MPU_POLL_FAST_SECONDS", 2.0, minimum=0.1),
            backoff_max=_float(environ, "MPU_RESTART_BACKOFF_MAX_SECONDS", 300.0, minimum=1.0),
            url_cooldown=_float(environ, "MPU_URL_COOLDOWN_SECONDS", 10.0, minimum=0.0),
            api_qps=qps,
        )
        try:
            credentials = Credentials.from_env(environ)
        except ValueError as exc:  # e.g. an id without a secret; the text names the variable
            raise SettingsError(str(exc)) from None
        return cls(
            endpoint=_endpoint(environ),
            default_credentials=credentials,
            timing=timing,
            max_tasks_per_app=_int(environ, "MPU_MAX_TASKS_PER_APP", 10, minimum=1),
            secret_cache_seconds=_float(environ, "MPU_SECRET_CACHE_SECONDS", 10.0, minimum=0.0),
            default_credentials_namespaces=_namespaces(environ),
            metrics_port=_port(environ, ENV_METRICS_PORT),
            log_format=log_format(environ),
            shard=shard,
        )


def shard_setting(environ: Mapping[str, str] = os.environ) -> Shard | None:
    """``MPU_SHARD=i/k``: this process drives shard i of k (unset or blank: no sharding).
    With ``MPU_SHARD_SELECTOR`` it drives the MPUTasks that label selector picks instead of
    a hash's share; ``i/k`` still says its slice of the API budget and quota (and Lease)."""
    raw = environ.get(ENV_SHARD)
    raw_selector = environ.get(ENV_SHARD_SELECTOR, "")
    if raw is None or raw.strip() == "":
        if raw_selector.strip():
            raise SettingsError(f"{_shown(ENV_SHARD_SELECTOR, raw_selector)}: needs "
                                f"{ENV_SHARD}=i/k too (this shard's slice of MPU_API_QPS "
                                "and MPU_MAX_TASKS_PER_APP: i of k shards)")
        return None
    try:
        shard = parse_shard(raw)
    except ValueError as exc:
        raise SettingsError(f"{_shown(ENV_SHARD, raw)}: {exc}") from None
    if not raw_selector.strip():
        return shard
    try:
        selector = parse_selector(raw_selector)
    except ValueError as exc:
        raise SettingsError(f"{_shown(ENV_SHARD_SELECTOR, raw_selector)}: {exc}") from None
    return Shard(shard.index, shard.count, selector)


def log_format(environ: Mapping[str, str] = os.environ) -> str:
    """``MPU_LOG_FORMAT``: ``plain`` (the default) or ``json``, any case."""
    raw = environ.get(ENV_LOG_FORMAT, "")
    value = raw.strip().lower() or "plain"
    if value not in LOG_FORMATS:
        raise SettingsError(f"{_shown(ENV_LOG_FORMAT, raw)}: must be one of "
                            f"{', '.join(LOG_FORMATS)}")
    return value


def _shown(name: str, raw: str) -> str:
    """``NAME='value'`` for a message: repr escapes control characters; long values cut."""
    value = raw if len(raw) <= _SHOWN else raw[:_SHOWN] + "..."
    return f"{name}={value!r}"


def _float(environ: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{_shown(name, raw)}: must be a number") from None
    if not math.isfinite(value):  # float() reads "nan", "inf", "1e999"
        raise SettingsError(f"{_shown(name, raw)}: must be a finite number")
    if value < minimum:
        raise SettingsError(f"{_shown(name, raw)}: must be at least {minimum}")
    return value


def _int(environ: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 9):
        raise SettingsError(f"{_shown(name, raw)}: must be a whole number "
                            f"(at least {minimum})")
    value = int(text)
    if value < minimum:
        raise SettingsError(f"{_shown(name, raw)}: must be at least {minimum}")
    return value


def _port(environ: Mapping[str, str], name: str) -> int | None:
    """A TCP port 1-65535; None when unset or blank (the feature is off)."""
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    text = raw.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 5
            and 1 <= int(text) <= 65535):
        raise SettingsError(f"{_shown(name, raw)}: must be a port number 1-65535 "
                            "(unset: off)")
    return int(text)


def _endpoint(environ: Mapping[str, str]) -> str:
    """``http(s)://host[:port][/path]``: no spaces, userinfo, query or fragment."""
    raw = environ.get(ENV_ENDPOINT, "")
    value = raw.strip()
    if not value:
        return DEFAULT_ENDPOINT
    rule = "must be http(s)://host[:port][/path]"
    if not re.fullmatch(r"[\x21-\x7e]+", value):
        raise SettingsError(f"{_shown(ENV_ENDPOINT, raw)}: {rule}, printable ASCII without "
                            "spaces")
    scheme, sep, rest = value.partition("://")
    authority = rest.partition("/")[0]
    if not sep or scheme.lower() not in ("http", "https") or any(c in rest for c in "?#@") \
            or not _ENDPOINT_HOST.fullmatch(authority):
        raise SettingsError(f"{_shown(ENV_ENDPOINT, raw)}: {rule}")
    try:
        port = urlsplit(value).port
    except ValueError:  # out of range, or a bracketed host that is not IPv6
        port = 0
    if port is not None and not 1 <= port <= 65535:
        raise SettingsError(f"{_shown(ENV_ENDPOINT, raw)}: {rule}, port 1-65535")
    return value


def _namespaces(environ: Mapping[str, str]) -> frozenset[str] | None:
    """The comma list of namespaces that may use the default credentials; None for all."""
    name = ENV_DEFAULT_CREDENTIALS_NAMESPACES
    raw = environ.get(name, "")
    if raw.strip() == "":
        return None
    entries = [entry.strip() for entry in raw.split(",")]
    for entry in entries:
        if entry != ALL_NAMESPACES and not _NAMESPACE.fullmatch(entry):
            shown = _shown("entry", entry).removeprefix("entry=")
            raise SettingsError(
                f"{name}: entry {shown} must be a namespace name (lower-case letters, digits "
                f"and '-', at most 63) or '{ALL_NAMESPACES}' for all; entries are "
                "comma-separated")
    return None if ALL_NAMESPACES in entries else frozenset(entries)


# --- leader election (high availability) -------------------------------------------------

ENV_LEADER_ELECTION = "MPU_LEADER_ELECTION"
ENV_LEADER_ELECTION_NAMESPACE = "MPU_LEADER_ELECTION_NAMESPACE"
ENV_LEASE_SECONDS = "MPU_LEADER_ELECTION_LEASE_SECONDS"
ENV_RENEW_SECONDS = "MPU_LEADER_ELECTION_RENEW_SECONDS"
ENV_RETRY_SECONDS = "MPU_LEADER_ELECTION_RETRY_SECONDS"
#: Where Kubernetes tells a pod its own namespace (the ServiceAccount token's mount).
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
_TRUE_WORDS = {"1", "true", "yes", "on"}
_FALSE_WORDS = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class LeaderElectionConfig:
    """Who competes for which Lease, and how fast (see docs/deploy.md, "High availability").

    ``lease_seconds`` is a whole number: it is the Lease's ``leaseDurationSeconds`` (an
    int32), and the client library round-trips it through ``str``/``int``. The library also
    ``sys.exit``s on timings it dislikes; checking them here names the variable instead.
    """

    namespace: str
    identity: str
    lease_seconds: int = 15
    renew_seconds: float = 10.0
    retry_seconds: float = 2.0
    name: str = "mpu-operator"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, *,
                 namespace_file: Path = SERVICE_ACCOUNT_NAMESPACE,
                 ) -> LeaderElectionConfig | None:
        """None unless ``MPU_LEADER_ELECTION`` is true (then every value is checked)."""
        if not _bool(environ, ENV_LEADER_ELECTION, default=False):
            return None
        lease = _int(environ, ENV_LEASE_SECONDS, 15, minimum=2)
        renew = _float(environ, ENV_RENEW_SECONDS, 10.0, minimum=1.0)
        retry = _float(environ, ENV_RETRY_SECONDS, 2.0, minimum=1.0)
        if renew >= lease:
            raise SettingsError(f"{ENV_RENEW_SECONDS}={renew:g}: must be less than "
                                f"{ENV_LEASE_SECONDS}={lease} (renew before the Lease expires)")
        if renew <= 1.2 * retry:
            raise SettingsError(f"{ENV_RENEW_SECONDS}={renew:g}: must be more than 1.2 x "
                                f"{ENV_RETRY_SECONDS}={retry:g} (room for a retry)")
        shard = shard_setting(environ)  # each shard elects its own leader
        name = f"mpu-operator-shard-{shard.index}-of-{shard.count}" if shard else "mpu-operator"
        return cls(namespace=_lease_namespace(environ, namespace_file),
                   identity=_identity(environ), lease_seconds=lease, renew_seconds=renew,
                   retry_seconds=retry, name=name)


def _bool(environ: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    word = raw.strip().lower()
    if word in _TRUE_WORDS | _FALSE_WORDS:
        return word in _TRUE_WORDS
    raise SettingsError(f"{_shown(name, raw)}: must be true or false")


def _lease_namespace(environ: Mapping[str, str], namespace_file: Path) -> str:
    """The explicit setting, else the pod's own namespace (downward API, then the mount)."""
    for name in (ENV_LEADER_ELECTION_NAMESPACE, "POD_NAMESPACE"):
        raw = environ.get(name, "")
        if raw.strip():
            if not _NAMESPACE.fullmatch(raw.strip()):
                raise SettingsError(f"{_shown(name, raw)}: must be a namespace name "
                                    "(lower-case letters, digits and '-', at most 63)")
            return raw.strip()
    try:
        found = namespace_file.read_text().strip()
    except OSError:
        found = ""
    if not _NAMESPACE.fullmatch(found):
        raise SettingsError(f"{ENV_LEADER_ELECTION_NAMESPACE} is not set and this is not a "
                            f"pod (no POD_NAMESPACE, no {namespace_file}): set it to the "
                            "namespace of the mpu-operator Lease")
    return found


def _identity(environ: Mapping[str, str]) -> str:
    """``POD_NAME`` (unique among replicas, stable across a container restart), else
    hostname-pid: two processes on one machine must never share an identity."""
    pod = environ.get("POD_NAME", "").strip()
    return pod or f"{socket.gethostname()}-{os.getpid()}"
