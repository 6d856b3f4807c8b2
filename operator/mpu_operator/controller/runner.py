"""``mpu-operator run``: kopf with our registry, scope and logging."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import kopf

from mpu_operator import jsonlog, logsafety, metrics
from mpu_operator.controller.kube import cluster_problem
from mpu_operator.controller.settings import OperatorConfig, SettingsError


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
    asyncio.run(kopf.operator(
        registry=registry,
        clusterwide=clusterwide,
        namespaces=[] if clusterwide else list(namespaces),
        liveness_endpoint=liveness,
        standalone=True,
    ))
    if server is not None:  # on an error it is a daemon thread: it ends with the process
        server.stop()
    return 0
