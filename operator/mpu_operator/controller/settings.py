"""Operator-wide settings, from environment variables (each documented in the README)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from mpu_operator.core.timing import Timing
from mpu_operator.rtc.client import DEFAULT_ENDPOINT
from mpu_operator.rtc.credentials import Credentials


class SettingsError(ValueError):
    """A setting's value is unusable; the message names the variable and the rule."""


@dataclass(frozen=True)
class OperatorConfig:
    endpoint: str = DEFAULT_ENDPOINT
    default_credentials: Credentials | None = field(default=None, repr=False)
    timing: Timing = field(default_factory=Timing)
    max_tasks_per_app: int = 10
    secret_cache_seconds: float = 10.0
    default_credentials_namespaces: frozenset[str] | None = None  # None: every namespace

    def defaults_allowed_in(self, namespace: str) -> bool:
        allowed = self.default_credentials_namespaces
        return allowed is None or namespace in allowed

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> OperatorConfig:
        qps = _float(environ, "MPU_API_QPS", 10.0, minimum=0.1)
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
            endpoint=environ.get("MPU_RTC_ENDPOINT") or DEFAULT_ENDPOINT,
            default_credentials=credentials,
            timing=timing,
            max_tasks_per_app=int(_float(environ, "MPU_MAX_TASKS_PER_APP", 10, minimum=1)),
            secret_cache_seconds=_float(environ, "MPU_SECRET_CACHE_SECONDS", 10.0, minimum=0.0),
            default_credentials_namespaces=_namespaces(
                environ.get("MPU_DEFAULT_CREDENTIALS_NAMESPACES", "")),
        )


def _float(environ: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: must be a number") from None
    if value < minimum:
        raise SettingsError(f"{name}={raw!r}: must be at least {minimum}")
    return value


def _namespaces(raw: str) -> frozenset[str] | None:
    names = frozenset(n.strip() for n in raw.split(",") if n.strip())
    return None if not names or "*" in names else names
