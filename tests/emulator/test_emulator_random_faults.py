"""Faults at a rate: seeded, at about the rate asked, of the kinds asked, and refusable.

Through the control API (as a soak drives it) and through ``RandomFaults`` directly, where
the draw itself is the subject.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mpu_operator.emulator import EmulatorThread
from mpu_operator.emulator.errors import ControlError
from mpu_operator.emulator.faults import Applied
from mpu_operator.emulator.random_faults import KINDS, RandomFaults, parse_random_faults

from .conftest import fresh, short_config
from .sdk import Refused, V1Caller

ACTIONS = ("StartMPUTask", "GetMPUTaskStatus", "UpdateMPULayout", "StopMPUTask")


def _draws(source: RandomFaults, action: str, n: int) -> list[str | None]:
    out: list[str | None] = []
    for _ in range(n):
        fault = source.draw(action)
        out.append(None if fault is None else
                   f"{fault.applied.name}/{fault.timeout}/{fault.apply_after_seconds}")
    return out


def test_the_same_seed_draws_the_same_faults() -> None:
    a = RandomFaults(0.3, KINDS, seed=7)
    b = RandomFaults(0.3, KINDS, seed=7)
    assert _draws(a, "StartMPUTask", 300) == _draws(b, "StartMPUTask", 300)
    c = RandomFaults(0.3, KINDS, seed=8)
    assert _draws(a, "StartMPUTask", 300) != _draws(c, "StartMPUTask", 300)


def test_the_rate_is_about_what_was_asked() -> None:
    source = RandomFaults(0.1, KINDS, seed=1)
    hits = sum(d is not None for d in _draws(source, "GetMPUTaskStatus", 5000))
    assert 400 <= hits <= 600
    assert sum(source.injected.values()) == hits
    assert RandomFaults(0.0, KINDS, seed=1).draw("StartMPUTask") is None


@pytest.mark.parametrize(("kind", "applied", "timeout"), [
    ("error", Applied.NEVER, False), ("error-applied", Applied.AT_ONCE, False),
    ("timeout", Applied.NEVER, True), ("timeout-applied", Applied.AT_ONCE, True),
    ("late", Applied.LATE, True)])
def test_each_kind_is_the_fault_it_names(kind: str, applied: Applied, timeout: bool) -> None:
    fault = RandomFaults(1.0, (kind,), seed=3, late_seconds=4).draw("StartMPUTask")
    assert fault is not None
    assert (fault.applied, fault.timeout, fault.http) == (applied, timeout, 503)
    if applied is Applied.LATE:
        assert fault.apply_after_seconds is not None and 0 <= fault.apply_after_seconds <= 4


def test_late_is_only_for_starts_elsewhere_the_answer_is_lost() -> None:
    fault = RandomFaults(1.0, ("late",), seed=3).draw("StopMPUTask")
    assert fault is not None and fault.applied is Applied.AT_ONCE and fault.timeout


def test_actions_limit_what_is_hit() -> None:
    source = RandomFaults(1.0, ("error",), seed=3, actions=("StopMPUTask",))
    assert source.draw("StartMPUTask") is None
    assert source.draw("StopMPUTask") is not None


@pytest.mark.parametrize(("body", "field"), [
    ({}, '"rate"'), ({"rate": 1.5}, '"rate"'), ({"rate": "0.1"}, '"rate"'),
    ({"rate": 0.1, "kinds": ["boom"]}, '"kinds"'), ({"rate": 0.1, "kinds": []}, '"kinds"'),
    ({"rate": 0.1, "seed": "x"}, '"seed"'), ({"rate": 0.1, "lateSeconds": -1}, '"lateSeconds"'),
    ({"rate": 0.1, "http": 99}, '"http"'), ({"rate": 0.1, "actions": ["Nope"]}, '"actions"'),
    ([], "JSON object")])
def test_bad_settings_are_refused_naming_the_field(body: object, field: str) -> None:
    with pytest.raises(ControlError) as error:
        parse_random_faults(body, ACTIONS)
    assert field in error.value.message and error.value.http == 400


@pytest.fixture
def emu() -> Iterator[EmulatorThread]:
    with EmulatorThread(short_config(fault_hold_seconds=0.2)) as emulator:
        yield emulator


@pytest.mark.integration
def test_over_http_errors_come_at_the_rate_and_stop_when_cleared(emu: EmulatorThread) -> None:
    caller = V1Caller(emu.endpoint, auto_retry=False)
    app = fresh("app")
    shown = emu.random_faults(0.5, kinds=["error"], seed=11)
    assert shown["randomFaults"]["rate"] == 0.5
    refused = 0
    for _ in range(60):
        try:
            caller.status(app, "none")
        except Refused as error:
            refused += error.code == "ServiceUnavailable"
    assert 15 <= refused <= 45
    record = emu.no_random_faults()["randomFaults"]
    assert record["injected"] == {"error": refused}
    assert emu.stats()["faultsInjected"] == refused
    assert emu.control("GET", "/_emulator/random-faults") == {"randomFaults": None}


@pytest.mark.integration
def test_over_http_a_bad_setting_is_a_400(emu: EmulatorThread) -> None:
    with pytest.raises(RuntimeError, match=r'400.*kinds.* must be'):
        emu.random_faults(0.1, kinds=["nope"])
