"""``mpu-operator emulator`` as a person runs it."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from mpu_operator.emulator.config import EmulatorConfig
from mpu_operator.emulator.server import main

from .sdk import Acs3Caller, Refused, V1Caller


def test_config_from_flags() -> None:
    args = argparse.Namespace(host="0.0.0.0", port=9, credential=["a:b:c", "d:e"],
                              idle_stop_seconds=1.5, url_cooldown_seconds=2.0,
                              max_concurrent_tasks=4, qps=3.0, latency_ms=7.0, verbose=True)
    config = EmulatorConfig.from_args(args)
    assert config.credentials == {"a": "b:c", "d": "e"}
    assert (config.idle_stop_seconds, config.qps, config.max_concurrent_tasks) == (1.5, 3.0, 4)
    assert config.task_clear_seconds is None
    assert "b:c" not in str(config.public())


def test_bad_credential_flag_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argparse.Namespace(credential=["nocolon"])) == 2
    assert "ID:SECRET" in capsys.readouterr().err


@pytest.fixture
def process() -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mpu_operator", "emulator", "--port", "0",
         "--credential", "mykey:mysupersecret", "--credential", "testid:testsecret"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.integration
def test_the_command_serves_both_sdks(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    banner = [process.stdout.readline() for _ in range(5)]
    port = re.search(r"listening on http://127\.0\.0\.1:(\d+)", banner[0])
    assert port, banner
    text = "".join(banner)
    assert "mykey:(secret not shown)" in text and "mysupersecret" not in text
    assert "testid:testsecret" in text  # the well-known default is printed
    endpoint = f"127.0.0.1:{port.group(1)}"
    for sdk in (V1Caller(endpoint, "mykey", "mysupersecret"), Acs3Caller(endpoint)):
        with pytest.raises(Refused) as caught:
            sdk.status("app", "t")
        assert caught.value.code == "Service.NoTask"
