"""``mpu-operator run``: kopf with our registry, scope and logging."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Sequence
from typing import Any

import kopf

from mpu_operator import jsonlog, logsafety, metrics
from mpu_operator.controller.kube import cluster_problem
from mpu_operator.controller.settings import LeaderElectionConfig, OperatorConfig, SettingsError


def run(*, namespaces: Sequence[str], all_namespaces: bool, verbose: bool,
        liveness: str | None) -> int:
    kopf.configure(verbose=verbose, log_format=kopf.LogFormat.PLAIN)
    jsonlog.install()  # MPU_LOG_FORMAT=json (validated with the other settings below)
    log = logging.getLogger(__name__)
    try:
        # Before anything is logged: every record, Event and traceback is scrubbed from here.
        logsafety.install()
    except RuntimeError as exc:  # this kopf moved its Event queue: refuse rather than leak
        log.error("cannot start: %s", exc)
        return 2
    try:
        config = OperatorConfig.from_env()  # fail fast, naming the variable, before connecting
        election = LeaderElectionConfig.from_env()
    except SettingsError as exc:
        log.error("bad setting: %s", exc)
        return 2
    problem = cluster_problem()  # no cluster: one line and exit 2, not kopf's endless retries
    if problem is not None:
        log.error("%s", problem)
        return 2
    creds = config.default_credentials
    for secret in creds.sensitive_values() if creds else ():
        logsafety.remember(secret)
    from mpu_operator.controller.handlers import registry

    try:
        server = metrics.serve(config.metrics_port)  # None: MPU_METRICS_PORT unset
    except OSError as exc:
        log.error("cannot serve metrics on port %s: %s", config.metrics_port, exc)
        return 2
    clusterwide = all_namespaces or not namespaces
    operator = functools.partial(
        kopf.operator, registry=registry, clusterwide=clusterwide,
        namespaces=[] if clusterwide else list(namespaces), standalone=True)
    try:
        if election is not None:  # the runner's health endpoint, kopf only while leading
            return _run_as_candidate(election, operator, liveness)
        asyncio.run(operator(liveness_endpoint=liveness))
        return 0
    finally:
        if server is not None:  # a standby serves /metrics too, from start-up on
            server.stop()


def _run_as_candidate(election: LeaderElectionConfig, operator: functools.partial[Any],
                      liveness: str | None) -> int:
    import kubernetes

    from mpu_operator.controller.kube import load_config
    from mpu_operator.controller.leader import operate_when_leader

    try:
        api = load_config()
    except kubernetes.config.ConfigException as exc:
        logging.getLogger(__name__).error("cannot start: no Kubernetes configuration for "
                                          "the Lease (%s)", exc)
        return 2
    asyncio.run(operate_when_leader(election, api, operator, liveness))
    return 0
