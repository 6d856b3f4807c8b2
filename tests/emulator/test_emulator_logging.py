"""One INFO line per API call, and never a secret in any of the emulator's logs."""

from __future__ import annotations

import logging
import re

import pytest

from mpu_operator.emulator import EmulatorThread

from .conftest import fresh
from .sdk import SECRET, Acs3Caller, Refused, V1Caller

pytestmark = pytest.mark.integration

CDN_KEY = "1700000000-0-0-0123456789abcdefCDNKEY"


def emulator_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name.startswith(("mpu_operator.emulator", "aiohttp"))]


def test_no_secret_in_the_logs(emu: EmulatorThread, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    app = fresh("app")
    for kind in (V1Caller, Acs3Caller):
        sdk = kind(emu.endpoint)
        task = fresh("task")
        sdk.start(app, "ch", task, f"rtmp://push.example.com/live/{task}?auth_key={CDN_KEY}")
        sdk.status(app, task)
        sdk.update(app, task, [1])
        sdk.stop(app, task)
        with pytest.raises(Refused):
            kind(emu.endpoint, secret="wrong" + SECRET).status(app, task)
    lines = emulator_lines(caplog)
    assert len(lines) >= 10
    text = "\n".join(lines)
    for secret in (SECRET, CDN_KEY, "auth_key", "Signature=", "ACS3-HMAC-SHA256 Credential"):
        assert secret not in text


def test_one_line_per_call_with_what_an_operator_needs(
        emu: EmulatorThread, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mpu_operator.emulator")
    sdk = Acs3Caller(emu.endpoint)
    app, task = fresh("app"), fresh("task")
    body = sdk.start(app, "ch", task, "rtmp://push.example.com/live/x")
    with pytest.raises(Refused):
        sdk.status(app, "missing")
    lines = emulator_lines(caplog)
    assert len(lines) == 2
    assert re.search(rf"StartMPUTask app={app} task={task} outcome=OK "
                     rf"request_id={body['RequestId']}", lines[0])
    assert "GetMPUTaskStatus" in lines[1] and "outcome=Service.NoTask" in lines[1]
