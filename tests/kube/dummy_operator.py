"""A tiny kopf operator exercising what the real one will: finalizer, status, Events,
spec updates, a timer and a daemon — to prove the stand-in and the runner carry kopf."""
from __future__ import annotations

import asyncio
import threading
from typing import Any

import kopf

GROUP, VERSION, PLURAL = "mpu-operator.io", "v1alpha1", "mputasks"


def make_registry(gate: threading.Event | None = None,
                  calls: list[tuple[str, str]] | None = None) -> kopf.OperatorRegistry:
    """A fresh registry per test, so handlers never leak between tests.

    ``gate``: while unset, the create handler hangs mid-way (after recording its entry),
    so a test can kill the operator at a known point. ``calls``: (step, thread name) log.
    """
    registry = kopf.OperatorRegistry()
    log = calls if calls is not None else []

    def record(step: str) -> None:
        log.append((step, threading.current_thread().name))

    @kopf.on.create(GROUP, VERSION, PLURAL, registry=registry)
    async def created(spec: kopf.Spec, body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        record("create:entered")
        while gate is not None and not gate.is_set():
            await asyncio.sleep(0.02)  # the operator's own pace, not a test wait
        patch.status["phase"] = "Running"
        patch.status["seenSize"] = spec.get("size")
        kopf.info(body, reason="Started", message="Dummy task started.")
        record("create:done")

    @kopf.on.update(GROUP, VERSION, PLURAL, field="spec", registry=registry)
    def updated(spec: kopf.Spec, meta: kopf.Meta, patch: kopf.Patch, **_: Any) -> None:
        record("update")
        patch.status["seenSize"] = spec.get("size")
        patch.status["observedGeneration"] = meta["generation"]

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry)
    def deleted(body: kopf.Body, **_: Any) -> None:
        record("delete")
        kopf.info(body, reason="Stopped", message="Dummy task stopped.")

    @kopf.timer(GROUP, VERSION, PLURAL, interval=0.2, registry=registry)
    def ticked(patch: kopf.Patch, **_: Any) -> None:
        patch.status["ticked"] = True

    @kopf.daemon(GROUP, VERSION, PLURAL, cancellation_timeout=1, registry=registry)
    async def watched(stopped: kopf.DaemonStopped, **_: Any) -> None:
        record("daemon:started")
        while not stopped:
            await asyncio.sleep(0.05)

    return registry
