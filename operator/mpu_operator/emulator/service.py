"""The API pipeline, one call at a time, independent of the HTTP library.

Order: count the call, wait the configured latency, authenticate, throttle, check action
and version, take an injected fault, run the action against the state (now, later for a
``"late"`` fault, or not at all), record it in the touched task's history, log one line.
Every step that refuses raises :class:`ApiError`; the caller turns the :class:`Reply` into
bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mpu_operator.rtc import codes

from . import errors, layouts, validation
from .auth import Authenticator, Verified
from .clock import Clock, SystemClock
from .config import EmulatorConfig
from .errors import ApiError
from .faults import Applied, Fault, FaultBook
from .state import EmulatorState
from .stats import CallStats, RateLimiter
from .wire import API_VERSION, ApiCall

log = logging.getLogger("mpu_operator.emulator")

Params = dict[str, str]


@dataclass
class Reply:
    action: str
    request_id: str
    fields: dict[str, Any] = field(default_factory=dict)
    error: ApiError | None = None
    drop: bool = False  # send nothing: the client sees a timeout or a reset connection


class Service:
    """The emulated RTC endpoint: state, credentials, limits, faults and counters."""

    def __init__(self, config: EmulatorConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.state = EmulatorState(config, self.clock)
        self.auth = Authenticator(config.credentials, config.timestamp_window_seconds)
        self.stats = CallStats()
        self.limiter = RateLimiter(config.qps)
        self.faults = FaultBook()
        self._release: asyncio.Event | None = None
        self._actions: dict[str, Callable[[Params, str], dict[str, Any]]] = {
            "StartMPUTask": self._start,
            "GetMPUTaskStatus": self._get_status,
            "UpdateMPULayout": self._update_layout,
            "UpdateMPUTask": self._update_task,
            "StopMPUTask": self._stop,
        }
        self.layouts = layouts.LayoutBook()  # custom layouts: emulator/layouts.py
        self._actions.update(layouts.actions(self.layouts))

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(self._actions)

    def reset(self) -> None:
        """Forget tasks, channels, counters, faults, nonces and the rate window."""
        self.state.reset()
        self.layouts.reset()
        self.stats.reset()
        self.faults.clear()
        self.faults.random = None
        self.auth.nonces.clear()
        self.limiter.reset()

    def release_held_calls(self) -> None:
        """Let calls held by timeout faults go (at shutdown, so it is not delayed)."""
        if self._release is not None:
            self._release.set()

    # -- the pipeline --------------------------------------------------------------------

    async def handle(self, call: ApiCall, request_id: str) -> Reply:
        began = time.perf_counter()
        reply = Reply(call.action, request_id)
        verified: Verified | None = None
        self.stats.call(call.action, self.clock.monotonic())
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000)
        try:
            verified = self.auth.verify(call.signed, self.clock.wall(), self.clock.monotonic())
            self._throttle()
            self._check_action(call)
            fault = self.faults.take(call.action)
            if fault is None or fault.applied is Applied.AT_ONCE:
                reply.fields = self._execute(call, request_id)
            elif fault.applied is Applied.LATE:
                self._schedule_late(call, fault, request_id)
            else:
                self._touch(call, fault.code, request_id)
            if fault is not None:
                await self._inject(fault, reply)
        except ApiError as error:
            reply.error = error
            self.stats.error(error.code, injected=error.injected)
        self._log(call, reply, verified, began)
        return reply

    def _throttle(self) -> None:
        wait = self.limiter.admit(self.clock.monotonic())
        if wait is not None:
            retry_ms = max(1, math.ceil(wait * 1000))
            raise ApiError(codes.THROTTLING, 400, "Request was denied due to user flow control.",
                           headers={"x-acs-retry-after": str(retry_ms)})

    def _check_action(self, call: ApiCall) -> None:
        if not call.action:
            raise errors.missing("Action")
        if call.action not in self._actions:
            raise errors.unsupported_operation()
        if call.version != API_VERSION:
            raise ApiError(errors.INVALID_VERSION, 400,
                           f"Specified parameter Version is not valid: the RTC API is "
                           f"{API_VERSION}.")

    def _execute(self, call: ApiCall, request_id: str) -> dict[str, Any]:
        """Run the action and note it on the task it touched, with nothing awaited between."""
        try:
            fields = self._actions[call.action](call.params, request_id)
        except ApiError as error:
            self._touch(call, error.code, request_id)
            raise
        self._touch(call, "OK", request_id)
        return fields

    def _schedule_late(self, call: ApiCall, fault: Fault, request_id: str) -> None:
        """Validate now (a malformed call is refused at once, as the service would), apply
        later: ``fault.apply_after_seconds`` from now, under the rules of that moment."""
        assert fault.apply_after_seconds is not None and call.action == "StartMPUTask"
        spec = validation.start(call.params)
        self._touch(call, fault.code, request_id)  # only an existing task has a history
        self.state.start_later(spec, fault.apply_after_seconds, request_id)

    def _touch(self, call: ApiCall, outcome: str, request_id: str) -> None:
        params = call.params
        app_id, task_id = params.get("AppId"), params.get("TaskId")
        if app_id and task_id:
            self.state.record(app_id, task_id, call.action, outcome, request_id)

    async def _inject(self, fault: Fault, reply: Reply) -> None:
        if fault.timeout:
            self.stats.timeout()
            if self._release is None:
                self._release = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), self.config.fault_hold_seconds)
            reply.drop = True
            return
        raise ApiError(fault.code, fault.http, fault.message, injected=True)

    # -- the actions ---------------------------------------------------------------------

    def _start(self, params: Params, request_id: str) -> dict[str, Any]:
        spec = validation.start(params)
        self.layouts.check_ids(spec.app_id, spec.layout.layout_ids)
        self.state.start(spec, request_id)
        return {"RequestId": request_id}

    def _get_status(self, params: Params, request_id: str) -> dict[str, Any]:
        app_id, task_id = validation.task_ref(params)
        return {"RequestId": request_id, "Status": int(self.state.status(app_id, task_id))}

    def _update_layout(self, params: Params, request_id: str) -> dict[str, Any]:
        app_id, task_id = validation.task_ref(params)
        layout = validation.layout(params)
        self.layouts.check_ids(app_id, layout.layout_ids)
        self.state.update_layout(app_id, task_id, layout)
        return {"RequestId": request_id}

    def _update_task(self, params: Params, request_id: str) -> dict[str, Any]:
        self.state.update_task(validation.update_task(params))
        return {"RequestId": request_id}

    def _stop(self, params: Params, request_id: str) -> dict[str, Any]:
        app_id, task_id = validation.task_ref(params)
        self.state.stop(app_id, task_id, request_id)
        return {"RequestId": request_id}

    # -- logging -------------------------------------------------------------------------

    @staticmethod
    def _log(call: ApiCall, reply: Reply, verified: Verified | None, began: float) -> None:
        """One line per call: never the secret, signature, token or the URL's query."""
        params = call.params
        outcome = "TIMEOUT" if reply.drop else (reply.error.code if reply.error else "OK")
        log.info("%s app=%s task=%s outcome=%s request_id=%s key=%s auth=%s ms=%.1f",
                 _short(call.action) or "-", _short(params.get("AppId")),
                 _short(params.get("TaskId")), outcome, reply.request_id,
                 verified.access_key_id if verified else "-",
                 verified.style if verified else "-",
                 (time.perf_counter() - began) * 1000)


def _short(value: str | None, limit: int = 64) -> str:
    """A caller-supplied id, made safe for one log line."""
    if not value:
        return "-"
    shown = value if value.isprintable() else value.encode("unicode_escape").decode()
    return shown if len(shown) <= limit else shown[:limit] + "..."
