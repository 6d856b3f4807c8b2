"""Faults at a rate: "about one call in ten fails", drawn from a seeded RNG.

Ordered faults (``/_emulator/faults``) hit the next N calls, which suits a scenario that
knows which call it is testing. A soak does not: it wants background trouble spread over
thousands of calls of every action, and the same trouble again when rerun with the same
seed. Ordered faults still go first; a call no ordered fault took is drawn for here.

Kinds (each drawn with equal chance among those enabled):

- ``error``: a 5xx answer, the call does not take effect;
- ``error-applied``: the call takes effect, the answer is a 5xx anyway;
- ``timeout``: no answer, the call does not take effect;
- ``timeout-applied``: the call takes effect, its answer is lost;
- ``late`` (StartMPUTask; for other actions it acts as ``timeout-applied``): no answer, the
  start takes effect a random 0..``lateSeconds`` later.
"""

from __future__ import annotations

import math
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .errors import ControlError
from .faults import LATE_ACTIONS, Applied, Fault

KINDS = ("error", "error-applied", "timeout", "timeout-applied", "late")
DEFAULT_CODE = "ServiceUnavailable"
DEFAULT_HTTP = 503
MAX_LATE_SECONDS = 3600.0


@dataclass
class RandomFaults:
    """The settings, the seeded generator and what it has injected so far."""

    rate: float
    kinds: tuple[str, ...]
    seed: int | None = None
    late_seconds: float = 5.0
    code: str = DEFAULT_CODE
    http: int = DEFAULT_HTTP
    actions: tuple[str, ...] | None = None  # None: every API action
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def draw(self, action: str) -> Fault | None:
        """A one-use fault for this call, or None (most calls)."""
        if self.actions is not None and action not in self.actions:
            return None
        with self._lock:
            if self._rng.random() >= self.rate:
                return None
            kind = self._rng.choice(self.kinds)
            delay = self._rng.uniform(0, self.late_seconds)
            if kind == "late" and action not in LATE_ACTIONS:
                kind = "timeout-applied"
            self.injected[kind] += 1
        return self._fault(action, kind, delay)

    def _fault(self, action: str, kind: str, delay: float) -> Fault:
        applied = (Applied.LATE if kind == "late" else
                   Applied.AT_ONCE if kind.endswith("-applied") else Applied.NEVER)
        return Fault(action, self.code, self.http, f"injected random fault ({self.code})", 1,
                     timeout=kind.startswith("timeout") or kind == "late", applied=applied,
                     apply_after_seconds=delay if applied is Applied.LATE else None)

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {"rate": self.rate, "kinds": list(self.kinds), "seed": self.seed,
                    "lateSeconds": self.late_seconds, "code": self.code, "http": self.http,
                    "actions": None if self.actions is None else list(self.actions),
                    "injected": dict(self.injected)}


def _number(body: dict[str, Any], name: str, default: float, high: float) -> float:
    value = body.get(name, default)
    if (not isinstance(value, int | float) or isinstance(value, bool)
            or not math.isfinite(value) or not 0 <= value <= high):
        raise ControlError(400, f'"{name}" must be a number in [0, {high:g}]; got {value!r}')
    return float(value)


def _names(body: dict[str, Any], name: str, allowed: tuple[str, ...]) -> tuple[str, ...] | None:
    value = body.get(name)
    if value is None:
        return None
    if (not isinstance(value, list) or not value
            or any(not isinstance(v, str) or v not in allowed for v in value)):
        raise ControlError(400, f'"{name}" must be a non-empty list of {", ".join(allowed)}; '
                                f"got {value!r}")
    return tuple(value)


def parse_random_faults(body: Any, actions: tuple[str, ...]) -> RandomFaults:
    """The control call's JSON, or ControlError naming the bad field."""
    if not isinstance(body, dict):
        raise ControlError(400, "expected a JSON object")
    if "rate" not in body:
        raise ControlError(400, '"rate" (the share of calls to fail, 0..1) is required')
    seed = body.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise ControlError(400, f'"seed" must be an integer; got {seed!r}')
    code = body.get("code", DEFAULT_CODE)
    if not isinstance(code, str) or not code:
        raise ControlError(400, f'"code" must be a non-empty string; got {code!r}')
    http = body.get("http", DEFAULT_HTTP)
    if not isinstance(http, int) or isinstance(http, bool) or not 200 <= http <= 599:
        raise ControlError(400, f'"http" must be an HTTP status 200..599; got {http!r}')
    return RandomFaults(
        rate=_number(body, "rate", 0.0, 1.0),
        kinds=_names(body, "kinds", KINDS) or KINDS, seed=seed,
        late_seconds=_number(body, "lateSeconds", 5.0, MAX_LATE_SECONDS),
        code=code, http=http, actions=_names(body, "actions", actions))
