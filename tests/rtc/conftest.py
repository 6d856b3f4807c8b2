"""Fixtures of the RTC client tests: the loopback fake service and test credentials."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from mpu_operator.rtc.credentials import Credentials

from .fakertc import KEY_ID, SECRET, TOKEN, FakeRTC


@pytest.fixture
def fake_rtc() -> Iterator[FakeRTC]:
    fake = FakeRTC()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
    assert not fake.violations, fake.violations


@pytest.fixture
def creds() -> Credentials:
    return Credentials(KEY_ID, SECRET, TOKEN)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
