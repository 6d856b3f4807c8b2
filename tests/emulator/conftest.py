"""Fixtures of the emulator tests: one shared emulator with short timings, reset per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from mpu_operator.emulator import EmulatorConfig, EmulatorThread

#: Short enough to observe within a test, long enough that polling over HTTP sees the
#: states in between.
IDLE = 0.3
COOLDOWN = 0.3
QUOTA = 3

_names = itertools.count(1)


def fresh(prefix: str) -> str:
    """A name no other test in the session uses."""
    return f"{prefix}{next(_names)}"


def short_config(**overrides: object) -> EmulatorConfig:
    settings: dict[str, object] = {"idle_stop_seconds": IDLE, "url_cooldown_seconds": COOLDOWN,
                                   "max_concurrent_tasks": QUOTA}
    settings.update(overrides)
    return EmulatorConfig(**settings)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def shared_emulator() -> Iterator[EmulatorThread]:
    with EmulatorThread(short_config()) as emulator:
        yield emulator


@pytest.fixture
def emu(shared_emulator: EmulatorThread) -> EmulatorThread:
    shared_emulator.reset()
    return shared_emulator
