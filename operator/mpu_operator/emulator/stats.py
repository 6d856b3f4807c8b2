"""What the emulator saw of its callers: counts per action and code, call rates, throttling.

Tests of the operator assert on these numbers (``/_emulator/stats``) rather than on the
operator's insides: "no more than N calls a second", "no error we did not expect".
"""

from __future__ import annotations

import math
import threading
from collections import Counter, deque
from typing import Any


class SlidingWindow:
    """Events within the last ``span`` seconds (monotonic)."""

    def __init__(self, span: float = 1.0) -> None:
        self.span = span
        self._times: deque[float] = deque()

    def _trim(self, now: float) -> None:
        while self._times and self._times[0] <= now - self.span:
            self._times.popleft()

    def count(self, now: float) -> int:
        self._trim(now)
        return len(self._times)

    def add(self, now: float) -> int:
        self._trim(now)
        self._times.append(now)
        return len(self._times)

    def frees_in(self, now: float) -> float:
        """Seconds until the oldest event leaves the window."""
        self._trim(now)
        return max(0.0, self._times[0] + self.span - now) if self._times else 0.0

    def clear(self) -> None:
        self._times.clear()


class CallStats:
    """Calls per action, errors per code, and the busiest second seen."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.calls: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.faults_injected = 0
        self.timeouts_injected = 0
        self.peak_calls_per_second = 0
        self._window = SlidingWindow()

    def call(self, action: str, now: float) -> None:
        with self._lock:
            self.calls[action or "(none)"] += 1
            self.peak_calls_per_second = max(self.peak_calls_per_second, self._window.add(now))

    def error(self, code: str, *, injected: bool = False) -> None:
        with self._lock:
            self.errors[code] += 1
            self.faults_injected += injected

    def timeout(self) -> None:
        with self._lock:
            self.faults_injected += 1
            self.timeouts_injected += 1

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {"calls": dict(self.calls), "errors": dict(self.errors),
                    "faultsInjected": self.faults_injected,
                    "timeoutsInjected": self.timeouts_injected,
                    "peakCallsPerSecond": self.peak_calls_per_second}


class RateLimiter:
    """At most ``floor(qps)`` (at least 1) accepted calls in any sliding second."""

    def __init__(self, qps: float | None) -> None:
        self.limit = None if qps is None else max(1, math.floor(qps))
        self._window = SlidingWindow()
        self._lock = threading.Lock()

    def admit(self, now: float) -> float | None:
        """None if admitted (and counted); else seconds until a call would be."""
        if self.limit is None:
            return None
        with self._lock:
            if self._window.count(now) >= self.limit:
                return self._window.frees_in(now)
            self._window.add(now)
            return None

    def reset(self) -> None:
        with self._lock:
            self._window.clear()
