"""Leader election: its settings, and the Lease lock's workarounds for the client library.

The library (``kubernetes.leaderelection``) is exercised for real; only the Lease API under
it is a small in-memory fake here, so that failures (a dropped connection, a hung call) can
be planted. tests/operator/test_failover.py runs it against the API stand-in.
"""

from __future__ import annotations

import copy
import json
import os
import re
import socket
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from kubernetes.client import V1Lease
from kubernetes.client.rest import ApiException
from kubernetes.leaderelection import electionconfig, leaderelection
from kubernetes.leaderelection.resourcelock.leaselock import LeaseLock

from mpu_operator.controller.leader import Elector, Lease, serve_health
from mpu_operator.controller.settings import LeaderElectionConfig, SettingsError

ON = {"MPU_LEADER_ELECTION": "true", "MPU_LEADER_ELECTION_NAMESPACE": "ops"}
FAST = LeaderElectionConfig(namespace="ops", identity="a", lease_seconds=3,
                            renew_seconds=2.0, retry_seconds=1.0)


# --- settings -------------------------------------------------------------------------


def _config(env: dict[str, str], tmp_path: Path) -> LeaderElectionConfig | None:
    return LeaderElectionConfig.from_env(env, namespace_file=tmp_path / "absent")


def test_off_unless_asked(tmp_path: Path) -> None:
    assert _config({}, tmp_path) is None
    assert _config({"MPU_LEADER_ELECTION": "false"}, tmp_path) is None
    assert _config({"MPU_LEADER_ELECTION": " "}, tmp_path) is None


def test_defaults_when_on(tmp_path: Path) -> None:
    config = _config({**ON, "MPU_LEADER_ELECTION": "TRUE", "POD_NAME": "op-7d9-x2"}, tmp_path)
    assert config == LeaderElectionConfig(namespace="ops", identity="op-7d9-x2",
                                          lease_seconds=15, renew_seconds=10.0,
                                          retry_seconds=2.0, name="mpu-operator")


def test_identity_without_pod_name_is_host_and_pid(tmp_path: Path) -> None:
    config = _config(ON, tmp_path)
    assert config is not None
    assert config.identity == f"{socket.gethostname()}-{os.getpid()}"


def test_namespace_from_the_pod(tmp_path: Path) -> None:
    env = {"MPU_LEADER_ELECTION": "1"}
    assert _config({**env, "POD_NAMESPACE": "mpu-operator-system"},
                   tmp_path).namespace == "mpu-operator-system"  # type: ignore[union-attr]
    mounted = tmp_path / "namespace"
    mounted.write_text("from-the-mount\n")
    config = LeaderElectionConfig.from_env(env, namespace_file=mounted)
    assert config is not None and config.namespace == "from-the-mount"
    explicit = LeaderElectionConfig.from_env({**env, "MPU_LEADER_ELECTION_NAMESPACE": "x"},
                                             namespace_file=mounted)
    assert explicit is not None and explicit.namespace == "x"


def test_timings(tmp_path: Path) -> None:
    config = _config({**ON, "MPU_LEADER_ELECTION_LEASE_SECONDS": "4",
                      "MPU_LEADER_ELECTION_RENEW_SECONDS": "2.5",
                      "MPU_LEADER_ELECTION_RETRY_SECONDS": "1"}, tmp_path)
    assert config is not None
    assert (config.lease_seconds, config.renew_seconds, config.retry_seconds) == (4, 2.5, 1.0)


@pytest.mark.parametrize(("env", "fragment"), [
    ({"MPU_LEADER_ELECTION": "maybe"}, "MPU_LEADER_ELECTION='maybe': must be true or false"),
    ({"MPU_LEADER_ELECTION_NAMESPACE": ""}, "MPU_LEADER_ELECTION_NAMESPACE is not set"),
    ({"MPU_LEADER_ELECTION_NAMESPACE": "Ops_1"}, "MPU_LEADER_ELECTION_NAMESPACE='Ops_1'"),
    ({"MPU_LEADER_ELECTION_NAMESPACE": "", "POD_NAMESPACE": "a b"}, "POD_NAMESPACE='a b'"),
    ({"MPU_LEADER_ELECTION_LEASE_SECONDS": "1.5"},
     "MPU_LEADER_ELECTION_LEASE_SECONDS='1.5': must be a whole number"),
    ({"MPU_LEADER_ELECTION_LEASE_SECONDS": "10"},
     "MPU_LEADER_ELECTION_RENEW_SECONDS=10: must be less than"),
    ({"MPU_LEADER_ELECTION_RENEW_SECONDS": "2.4"},
     "MPU_LEADER_ELECTION_RENEW_SECONDS=2.4: must be more than 1.2 x"),
    ({"MPU_LEADER_ELECTION_RETRY_SECONDS": "0.5"},
     "MPU_LEADER_ELECTION_RETRY_SECONDS='0.5': must be at least 1"),
    ({"MPU_LEADER_ELECTION_RENEW_SECONDS": "nan"}, "must be a finite number"),
])
def test_bad_values_name_the_variable(env: dict[str, str], fragment: str,
                                      tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        _config({**ON, **env}, tmp_path)
    assert fragment in str(info.value)


# --- the Lease lock, on an in-memory Lease API ------------------------------------------


class FakeLeases:
    """read/create/replace of Leases with resourceVersion checks; faults can be planted."""

    def __init__(self) -> None:
        self.stored: dict[tuple[str, str], V1Lease] = {}
        self.version = 0
        self.fail: BaseException | None = None  # raised by the next calls
        self.hold: threading.Event | None = None  # the next calls block until it is set

    def _fault(self) -> None:
        if self.hold is not None:
            self.hold.wait(30)
        if self.fail is not None:
            raise self.fail

    def read_namespaced_lease(self, name: str, namespace: str, **_: Any) -> V1Lease:
        self._fault()
        if (namespace, name) not in self.stored:
            raise _api_error(404)
        return copy.deepcopy(self.stored[namespace, name])

    def create_namespaced_lease(self, namespace: str, body: V1Lease, **_: Any) -> V1Lease:
        self._fault()
        name = body.metadata.name
        if (namespace, name) in self.stored:
            raise _api_error(409)
        return self._put(namespace, name, body)

    def replace_namespaced_lease(self, name: str, namespace: str, body: V1Lease,
                                 **_: Any) -> V1Lease:
        self._fault()
        current = self.stored[namespace, name]
        if body.metadata.resource_version != current.metadata.resource_version:
            raise _api_error(409)
        return self._put(namespace, name, body)

    def _put(self, namespace: str, name: str, body: V1Lease) -> V1Lease:
        self.version += 1
        stored = copy.deepcopy(body)
        stored.metadata.resource_version = str(self.version)
        self.stored[namespace, name] = stored
        return copy.deepcopy(stored)

    def holder(self) -> str | None:
        lease = self.stored.get(("ops", "mpu-operator"))
        return lease.spec.holder_identity if lease else None


def _api_error(code: int) -> ApiException:
    exc = ApiException(status=code, reason="planted")
    exc.body = json.dumps({"code": code})
    return exc


def _election(lock: LeaseLock) -> leaderelection.LeaderElection:
    config = electionconfig.Config(lock, lease_duration=3, renew_deadline=2, retry_period=1,
                                   onstarted_leading=lambda: None,
                                   onstopped_leading=lambda: None)
    return leaderelection.LeaderElection(config)


def test_a_connection_error_is_a_failed_attempt_not_a_dead_elector() -> None:
    api = FakeLeases()
    api.fail = ConnectionResetError("planted")
    lock = Lease(FAST, api)
    assert _election(lock).try_acquire_or_renew() is False
    api.fail = None
    assert _election(lock).try_acquire_or_renew() is True
    assert api.holder() == "a" and lock.renewed_at is not None


def test_the_stock_lock_dies_on_a_connection_error() -> None:
    """Why Lease wraps the calls: the library's own lock lets the error kill the thread."""
    api = FakeLeases()
    api.fail = ConnectionResetError("planted")
    stock = LeaseLock("mpu-operator", "ops", "a")
    stock.api_instance = api
    with pytest.raises(ConnectionResetError):
        _election(stock).try_acquire_or_renew()


def test_writes_that_fail_are_refused_not_raised() -> None:
    api = FakeLeases()
    lock = Lease(FAST, api)
    assert _election(lock).try_acquire_or_renew() is True
    api.fail = OSError("planted")
    assert _election(lock).try_acquire_or_renew() is False


def test_times_always_carry_six_fraction_digits() -> None:
    """The apiserver reads a Lease's times as RFC3339Micro: "10:00:00+00:00" is refused."""
    from kubernetes.client import ApiClient
    from kubernetes.leaderelection.leaderelectionrecord import LeaderElectionRecord

    record = LeaderElectionRecord("a", "3", "2024-01-01 10:00:00", "2024-01-01 10:00:00.5")
    spec = ApiClient().sanitize_for_serialization(Lease(FAST, FakeLeases()).get_lease_spec(
        record))
    assert re.fullmatch(r".*T\d\d:\d\d:\d\d\.\d{6}\+00:00", spec["acquireTime"])
    assert spec["renewTime"].endswith(".500000+00:00")


def test_a_standby_takes_over_a_released_lease_at_its_next_retry() -> None:
    api = FakeLeases()
    a, b = Lease(FAST, api), Lease(_as("b"), api)
    assert _election(a).try_acquire_or_renew() is True
    b_election = _election(b)
    assert b_election.try_acquire_or_renew() is False  # held, not expired
    a.release()
    assert api.holder() is None
    assert _election(a).try_acquire_or_renew() is False  # released: a never renews again
    assert b_election.try_acquire_or_renew() is True
    assert api.holder() == "b"


def test_a_leader_whose_renewals_hang_exits_before_its_lease_expires() -> None:
    """The library would wait on the hung call; the watchdog exits after renew_seconds."""
    api = FakeLeases()
    exits: list[tuple[int, float]] = []
    exited, leading = threading.Event(), threading.Event()

    def on_lost(code: int) -> None:
        exits.append((code, time.monotonic()))
        exited.set()

    elector = Elector(FAST, api, on_leading=leading.set, on_lost=on_lost).start()
    assert leading.wait(5), "the only candidate did not become leader"
    api.hold = threading.Event()
    try:
        assert exited.wait(FAST.lease_seconds + 5), "still leading after the Lease expired"
        renewed = elector.lock.renewed_at
        assert renewed is not None
        [(code, at)] = exits
        # A standby may take over lease_seconds after our last renewal: exit before that.
        assert code == 1 and at - renewed < FAST.lease_seconds
    finally:
        api.hold.set()
        elector.release()


def test_a_clean_release_does_not_exit() -> None:
    api = FakeLeases()
    lost: list[int] = []
    leading = threading.Event()
    elector = Elector(FAST, api, on_leading=leading.set, on_lost=lost.append).start()
    assert leading.wait(5)
    elector.release()
    assert api.holder() is None
    # The library notices its failed renewals after renew_seconds and returns: no exit.
    elector.thread.join(FAST.renew_seconds + FAST.retry_seconds + 5)
    assert not elector.thread.is_alive()
    assert lost == []


def _as(identity: str) -> LeaderElectionConfig:
    return LeaderElectionConfig(namespace="ops", identity=identity, lease_seconds=3,
                                renew_seconds=2.0, retry_seconds=1.0)


async def test_the_health_endpoint_answers_before_and_after_leadership() -> None:
    """A standby is ready (the Deployment's probes pass) and says what it is."""
    elector = Elector(FAST, FakeLeases(), on_leading=lambda: None)  # not started
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    runner = await serve_health(f"http://127.0.0.1:{port}/healthz", elector)
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/healthz"
            async with session.get(url) as rsp:
                assert rsp.status == 200
                assert await rsp.json() == {"role": "standby", "identity": "a"}
            elector.leading.set()
            async with session.get(url) as rsp:
                assert (rsp.status, (await rsp.json())["role"]) == (200, "leader")
            async with session.get(f"http://127.0.0.1:{port}/other") as rsp:
                assert rsp.status == 404
    finally:
        await runner.cleanup()
