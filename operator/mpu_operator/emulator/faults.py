"""Injected failures: "the next N calls of this action fail so".

The service fails in ways a healthy emulator never would (5xx, throttling, an answer that
never comes); an operator's retry and ambiguity handling is only tested if those can be
ordered up. A fault is consumed by an authenticated call of its action, first come first
served. ``applied`` faults let the call take effect and then lose or replace its answer:
the ambiguous case (did my StartMPUTask happen?) that write-ahead logic exists for.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from .errors import INTERNAL_ERROR, ControlError

ANY_ACTION = "*"


@dataclass
class Fault:
    action: str
    code: str
    http: int
    message: str
    remaining: int
    timeout: bool = False
    applied: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "code": self.code, "http": self.http,
                "message": self.message, "count": self.remaining, "timeout": self.timeout,
                "applied": self.applied}


def parse_fault(body: Any) -> Fault:
    """A fault from the control call's JSON body, or ControlError saying what is wrong."""
    if not isinstance(body, dict):
        raise ControlError(400, "expected a JSON object")
    action = body.get("action")
    if not isinstance(action, str) or not action:
        raise ControlError(400, '"action" (an API action name, or "*") is required')
    http = body.get("http", 500)
    count = body.get("count", 1)
    if not isinstance(http, int) or not 200 <= http <= 599:
        raise ControlError(400, '"http" must be an HTTP status 200..599')
    if not isinstance(count, int) or count < 1:
        raise ControlError(400, '"count" must be a positive integer')
    code = body.get("code") or INTERNAL_ERROR
    message = body.get("message") or f"injected fault ({code})"
    return Fault(action, str(code), http, str(message), count,
                 timeout=bool(body.get("timeout", False)), applied=bool(body.get("applied", False)))


class FaultBook:
    """Pending faults in the order they were ordered."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

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
            return None

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_json() for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
