"""``mpu-operator run``: kopf with our registry, scope and logging."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import kopf

from mpu_operator import logsafety
from mpu_operator.controller.settings import OperatorConfig, SettingsError


def run(*, namespaces: Sequence[str], all_namespaces: bool, verbose: bool,
        liveness: str | None) -> int:
    kopf.configure(verbose=verbose, log_format=kopf.LogFormat.PLAIN)
    try:
        config = OperatorConfig.from_env()  # fail fast, naming the variable, before connecting
    except SettingsError as exc:
        logging.getLogger(__name__).error("bad setting: %s", exc)
        return 2
    creds = config.default_credentials
    logsafety.install([creds.access_key_secret, creds.security_token or ""] if creds else [])
    from mpu_operator.controller.handlers import registry

    clusterwide = all_namespaces or not namespaces
    asyncio.run(kopf.operator(
        registry=registry,
        clusterwide=clusterwide,
        namespaces=[] if clusterwide else list(namespaces),
        liveness_endpoint=liveness,
        standalone=True,
    ))
    return 0
