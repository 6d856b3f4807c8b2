"""Time for the emulator: one clock object giving both kinds of time it needs.

Rule arithmetic (idle stop, URL cooldown, replay window, rate limits) runs on a monotonic
reading so a wall-clock step cannot free a URL early; records shown to people
(``startedAt``, ``stoppedAt``, history) carry wall-clock UTC. Injecting the clock lets the
state's unit tests move time by hand instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back: for intervals and deadlines."""
        ...

    def wall(self) -> datetime:
        """The current UTC time (timezone-aware): for records and signed timestamps."""
        ...


class SystemClock:
    """The real clocks of the machine."""

    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that moves only when told to: both readings advance together.

    It starts at the real wall time by default, so signed requests from real SDKs still
    fall inside the timestamp window until a test moves the clock far on purpose.
    """

    def __init__(self, start: datetime | None = None, monotonic_start: float = 1000.0) -> None:
        self._wall = (start or datetime.now(UTC)).astimezone(UTC)
        self._mono = monotonic_start
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def wall(self) -> datetime:
        with self._lock:
            return self._wall

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go back")
        with self._lock:
            self._mono += seconds
            self._wall += timedelta(seconds=seconds)


def rfc3339(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds and ``Z``: what ``/_emulator/tasks`` shows."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
