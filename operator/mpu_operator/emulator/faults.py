"""Injected failures: "the next N calls of this action fail so".

The service fails in ways a healthy emulator never would (5xx, throttling, an answer that
never comes); an operator's retry and ambiguity handling is only tested if those can be
ordered up. A fault is consumed by an authenticated call of its action, first come first
served. ``applied`` says whether the call still takes effect:

- ``false`` (default): it does not; the caller gets the error (or no answer).
- ``true``: it takes effect at once, then its answer is lost or replaced: the ambiguous
  case (did my StartMPUTask happen?) that write-ahead logic exists for.
- ``"late"`` (StartMPUTask only): it takes effect ``applyAfterSeconds`` after it arrived,
  under the rules as they are at that moment. A client that saw a timeout and concluded
  "never started" learns otherwise only later: the case that makes retrying the *same*
  TaskId the only safe retry.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from .errors import INTERNAL_ERROR, ControlError

ANY_ACTION = "*"
#: The actions a late apply is modelled for (the one whose ambiguity can leak a task).
LATE_ACTIONS = ("StartMPUTask",)
#: The longest delay a late apply may be ordered with (an hour: longer proves nothing more).
MAX_APPLY_AFTER_SECONDS = 3600.0


class Applied(Enum):
    """Whether, and when, a faulted call still takes effect."""

    NEVER = False
    AT_ONCE = True
    LATE = "late"


@dataclass
class Fault:
    action: str
    code: str
    http: int
    message: str
    remaining: int
    timeout: bool = False
    applied: Applied = Applied.NEVER
    apply_after_seconds: float | None = None  # only with Applied.LATE

    def to_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "action": self.action, "code": self.code, "http": self.http,
            "message": self.message, "count": self.remaining, "timeout": self.timeout,
            "applied": self.applied.value}
        if self.applied is Applied.LATE:
            shown["applyAfterSeconds"] = self.apply_after_seconds
        return shown


def _int(body: dict[str, Any], name: str, default: int, low: int, high: int | None,
         rule: str) -> int:
    value = body.get(name, default)
    # bool is an int to Python, but "http": true is a mistake, not status 1.
    if (not isinstance(value, int) or isinstance(value, bool) or value < low
            or (high is not None and value > high)):
        raise ControlError(400, f'"{name}" must be {rule}; got {value!r}')
    return value


def _bool(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise ControlError(400, f'"{name}" must be true or false; got {value!r}')
    return value


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise ControlError(400, f'"{name}" must be a string; got {value!r}')
    return value or None


def _applied(body: dict[str, Any]) -> Applied:
    value = body.get("applied", False)
    if isinstance(value, bool) or value == Applied.LATE.value:
        return Applied(value)
    raise ControlError(400, f'"applied" must be true, false or "late"; got {value!r}')


def _apply_after(body: dict[str, Any], action: str, applied: Applied) -> float | None:
    present = "applyAfterSeconds" in body
    if applied is not Applied.LATE:
        if present:
            raise ControlError(400, '"applyAfterSeconds" is only for "applied": "late"')
        return None
    if action not in LATE_ACTIONS:
        raise ControlError(400, f'"applied": "late" is only for action '
                                f'{" or ".join(LATE_ACTIONS)}; got {action!r}')
    if not present:
        raise ControlError(400, '"applyAfterSeconds" is required with "applied": "late"')
    value = body["applyAfterSeconds"]
    if (not isinstance(value, int | float) or isinstance(value, bool)
            or not math.isfinite(value) or not 0 <= value <= MAX_APPLY_AFTER_SECONDS):
        raise ControlError(400, f'"applyAfterSeconds" must be a number of seconds in '
                                f'[0, {MAX_APPLY_AFTER_SECONDS:g}]; got {value!r}')
    return float(value)


def parse_fault(body: Any) -> Fault:
    """A fault from the control call's JSON body, or ControlError naming the bad field."""
    if not isinstance(body, dict):
        raise ControlError(400, "expected a JSON object")
    action = body.get("action")
    if not isinstance(action, str) or not action:
        raise ControlError(400, '"action" (an API action name, or "*") is required')
    http = _int(body, "http", 500, 200, 599, "an HTTP status 200..599")
    count = _int(body, "count", 1, 1, None, "a positive integer")
    code = _text(body, "code") or INTERNAL_ERROR
    message = _text(body, "message") or f"injected fault ({code})"
    timeout = _bool(body, "timeout")
    applied = _applied(body)
    after = _apply_after(body, action, applied)
    return Fault(action, code, http, message, count, timeout=timeout, applied=applied,
                 apply_after_seconds=after)


class RandomSource(Protocol):
    """Faults at a rate (``random_faults.RandomFaults``): asked when no ordered fault hit."""

    def draw(self, action: str) -> Fault | None: ...


class FaultBook:
    """Pending faults in the order they were ordered, then faults at a rate, if set."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.random: RandomSource | None = None

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, action: str) -> Fault | None:
        """Consume one use of the first fault matching ``action``."""
        with self._lock:
            for fault in self._faults:
                if fault.action in (action, ANY_ACTION):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        source = self.random
        return source.draw(action) if source is not None else None

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_json() for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
