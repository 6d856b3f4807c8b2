"""The emulator's settings: one typed object mirroring the ``mpu-operator emulator`` flags.

Embedded uses (the operator's tests, the demo) build it directly; the command line builds
it from argparse. Times are seconds as floats so tests can use fractions of a second.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_CREDENTIALS: dict[str, str] = {"testid": "testsecret"}


def _default_credentials() -> dict[str, str]:
    return dict(DEFAULT_CREDENTIALS)


@dataclass
class EmulatorConfig:
    """Everything the emulator can be told. Defaults are the real service's documented values."""

    host: str = "127.0.0.1"
    port: int = 8080
    #: AccessKeyId -> AccessKeySecret accepted by the signature checks.
    credentials: dict[str, str] = field(default_factory=_default_credentials)
    #: A running task stops by itself (status 4) this long after its channel empties.
    idle_stop_seconds: float = 120.0
    #: A stopped task's StreamURL may not be used again for this long.
    url_cooldown_seconds: float = 10.0
    #: Live (status 0/1) tasks allowed per app; one more start gets a quota error.
    max_concurrent_tasks: int = 10
    #: Accepted API calls per sliding second (all apps, all keys); None: no throttling.
    qps: float | None = None
    #: Added before answering every API call (not control calls).
    latency_ms: float = 0.0
    #: A stopped task's TaskId becomes free again this long after it stopped. None: never
    #: within the emulator's life (the real service clears it at a time it does not document).
    task_clear_seconds: float | None = None
    #: Signed timestamps further than this from the emulator's clock are refused; a
    #: SignatureNonce is remembered this long (it cannot be replayed inside the window).
    timestamp_window_seconds: float = 900.0
    #: How long a ``timeout`` fault holds a call before dropping the connection.
    fault_hold_seconds: float = 30.0
    #: Entries kept per task in ``history`` (oldest dropped first); pollers add one a call.
    history_limit: int = 1000
    verbose: bool = False

    def __post_init__(self) -> None:
        if not self.credentials:
            raise ValueError("at least one credential is needed")
        if self.max_concurrent_tasks < 1:
            raise ValueError("max_concurrent_tasks must be at least 1")
        if self.qps is not None and self.qps <= 0:
            raise ValueError("qps must be positive (or None for no throttling)")
        for name in ("idle_stop_seconds", "url_cooldown_seconds", "latency_ms",
                     "timestamp_window_seconds", "fault_hold_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")

    def public(self) -> dict[str, Any]:
        """The settings safe to show (camelCase, like the rest of the control API): the
        credential ids only, never secrets; no host or port (a harness binds a free one)."""
        shown = asdict(self)
        shown["credentials"] = sorted(self.credentials)
        del shown["host"], shown["port"]
        return {_camel(k): v for k, v in shown.items()}

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> EmulatorConfig:
        """From the ``emulator`` subcommand's flags; flags it lacks keep their defaults."""
        defaults = cls()
        credentials = parse_credentials(getattr(args, "credential", None) or [])
        return cls(
            host=getattr(args, "host", defaults.host),
            port=getattr(args, "port", defaults.port),
            credentials=credentials or _default_credentials(),
            idle_stop_seconds=getattr(args, "idle_stop_seconds", defaults.idle_stop_seconds),
            url_cooldown_seconds=getattr(args, "url_cooldown_seconds",
                                         defaults.url_cooldown_seconds),
            max_concurrent_tasks=getattr(args, "max_concurrent_tasks",
                                         defaults.max_concurrent_tasks),
            qps=getattr(args, "qps", defaults.qps),
            latency_ms=getattr(args, "latency_ms", defaults.latency_ms),
            task_clear_seconds=getattr(args, "task_clear_seconds", defaults.task_clear_seconds),
            fault_hold_seconds=getattr(args, "fault_hold_seconds", defaults.fault_hold_seconds),
            verbose=getattr(args, "verbose", defaults.verbose),
        )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.title() for w in rest)


def parse_credentials(values: list[str]) -> dict[str, str]:
    """``ID:SECRET`` strings -> {id: secret}; the secret may itself contain colons."""
    credentials: dict[str, str] = {}
    for value in values:
        key_id, sep, secret = value.partition(":")
        if not sep or not key_id or not secret:
            raise ValueError("a credential must look like ID:SECRET")
        credentials[key_id] = secret
    return credentials
