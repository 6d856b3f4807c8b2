"""The emulator embedded in tests and demos: in the running loop, or in a thread of its own.

``EmulatorServer`` serves inside the caller's event loop (``async with``);
``EmulatorThread`` gives a synchronous test its own loop in a background thread. Both bind
a free port on 127.0.0.1 unless told otherwise, expose ``.url`` and ``.endpoint`` (what the
SDKs take), and wrap the control API in small helpers that go over HTTP like any outside
driver would, so a test exercises the same surface a person with curl does.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote

import aiohttp
from aiohttp import web

from .clock import Clock
from .config import EmulatorConfig
from .control import PREFIX, SERVICE_KEY
from .server import bound_port, build_app, make_runner
from .service import Service

__all__ = ["EmulatorConfig", "EmulatorServer", "EmulatorThread"]


AppliedArg = bool | Literal["late"]


def _fault_body(action: str, code: str | None, http: int | None, count: int, timeout: bool,
                applied: AppliedArg, apply_after_seconds: float | None) -> dict[str, Any]:
    """The control call's JSON; the emulator validates it (and names a bad field)."""
    body: dict[str, Any] = {"action": action, "count": count, "timeout": timeout,
                            "applied": applied}
    if code is not None:
        body["code"] = code
    if http is not None:
        body["http"] = http
    if apply_after_seconds is not None:
        body["applyAfterSeconds"] = apply_after_seconds
    return body


def _random_body(rate: float, kinds: list[str] | None, seed: int | None,
                 late_seconds: float | None) -> dict[str, Any]:
    body: dict[str, Any] = {"rate": rate}
    for name, value in (("kinds", kinds), ("seed", seed), ("lateSeconds", late_seconds)):
        if value is not None:
            body[name] = value
    return body


def _path(*parts: str) -> str:
    return PREFIX + "".join("/" + quote(p, safe="") for p in parts)


class EmulatorServer:
    """``async with EmulatorServer(config) as emu:`` - the emulator in the current loop."""

    def __init__(self, config: EmulatorConfig | None = None, *, port: int = 0,
                 clock: Clock | None = None) -> None:
        self.config = config or EmulatorConfig()
        self._port_wanted = port
        self._clock = clock
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def endpoint(self) -> str:
        """``host:port``: what both SDKs take as their endpoint (with protocol http)."""
        return f"{self.config.host}:{self.port}"

    @property
    def service(self) -> Service:
        """The emulator's insides, for in-process tests that want them (prefer HTTP)."""
        assert self._runner is not None, "not started"
        return self._runner.app[SERVICE_KEY]

    async def start(self) -> None:
        app = build_app(self.config, self._clock)
        self._runner = make_runner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.config.host, self._port_wanted).start()
        self.port = bound_port(self._runner)

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> EmulatorServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        """One raw call to the control API (``/_emulator/...``), for what has no helper."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.request(method, self.url + path, json=body) as response:
            payload = await response.json()
            if response.status >= 400:
                raise RuntimeError(f"{method} {path}: {response.status} {payload}")
            return payload

    async def join(self, app: str, channel: str, user: str) -> list[str]:
        payload = await self.control("POST", _path("apps", app, "channels", channel, "users", user))
        return list(payload["users"])

    async def leave(self, app: str, channel: str, user: str) -> list[str]:
        payload = await self.control("DELETE",
                                   _path("apps", app, "channels", channel, "users", user))
        return list(payload["users"])

    async def fail(self, app: str, task_id: str, status: int) -> dict[str, Any]:
        result: dict[str, Any] = await self.control(
            "POST", _path("apps", app, "tasks", task_id, "fail"), {"status": status})
        return result

    async def fault(self, action: str, *, code: str | None = None, http: int | None = None,
                    count: int = 1, timeout: bool = False, applied: AppliedArg = False,
                    apply_after_seconds: float | None = None) -> None:
        """Order a fault (see docs/emulator.md). ``applied="late"`` with
        ``apply_after_seconds=S``: the StartMPUTask takes effect S seconds after it came."""
        await self.control("POST", _path("faults"),
                         _fault_body(action, code, http, count, timeout, applied,
                                     apply_after_seconds))

    async def tasks(self) -> list[dict[str, Any]]:
        return list((await self.control("GET", _path("tasks")))["tasks"])

    async def layouts(self) -> list[dict[str, Any]]:
        return list((await self.control("GET", _path("layouts")))["layouts"])

    async def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.control("GET", _path("stats"))
        return result

    async def reset(self) -> None:
        await self.control("POST", _path("reset"))


class EmulatorThread:
    """``with EmulatorThread(config) as emu:`` - the emulator in a background thread.

    The thread runs its own event loop; the helpers are plain blocking HTTP calls, safe
    from any thread. ``stop`` (or leaving the ``with``) shuts the server and the loop down.
    """

    def __init__(self, config: EmulatorConfig | None = None, *, port: int = 0,
                 clock: Clock | None = None) -> None:
        self.server = EmulatorServer(config, port=port, clock=clock)
        self.config = self.server.config
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def service(self) -> Service:
        return self.server.service

    def start(self) -> EmulatorThread:
        self._thread = threading.Thread(target=self._run, name="rtc-emulator", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=30)
        if self._error is not None:
            raise RuntimeError("the emulator did not start") from self._error
        if not self._ready.is_set():
            raise RuntimeError("the emulator did not start within 30 s")
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self.server.start())
        except BaseException as error:  # report to the starting thread, whatever it was
            self._error = error
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self.server.stop())
            loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
        self._loop = self._thread = None

    def __enter__(self) -> EmulatorThread:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """One raw call to the control API (``/_emulator/...``), for what has no helper."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"{method} {path}: {error.code} {error.read().decode()}") from None

    def join(self, app: str, channel: str, user: str) -> list[str]:
        return list(self.control("POST",
                               _path("apps", app, "channels", channel, "users", user))["users"])

    def leave(self, app: str, channel: str, user: str) -> list[str]:
        return list(self.control("DELETE",
                               _path("apps", app, "channels", channel, "users", user))["users"])

    def fail(self, app: str, task_id: str, status: int) -> dict[str, Any]:
        result: dict[str, Any] = self.control("POST", _path("apps", app, "tasks", task_id, "fail"),
                                            {"status": status})
        return result

    def fault(self, action: str, *, code: str | None = None, http: int | None = None,
              count: int = 1, timeout: bool = False, applied: AppliedArg = False,
              apply_after_seconds: float | None = None) -> None:
        """Order a fault (see docs/emulator.md). ``applied="late"`` with
        ``apply_after_seconds=S``: the StartMPUTask takes effect S seconds after it came."""
        self.control("POST", _path("faults"),
                   _fault_body(action, code, http, count, timeout, applied,
                               apply_after_seconds))

    def random_faults(self, rate: float, *, kinds: list[str] | None = None,
                      seed: int | None = None, late_seconds: float | None = None,
                      ) -> dict[str, Any]:
        """Fail about ``rate`` of all later calls (docs/emulator.md, "Faults at a rate")."""
        result: dict[str, Any] = self.control(
            "PUT", _path("random-faults"), _random_body(rate, kinds, seed, late_seconds))
        return result

    def no_random_faults(self) -> dict[str, Any]:
        """Stop faults at a rate; returns their settings and what they injected."""
        result: dict[str, Any] = self.control("DELETE", _path("random-faults"))
        return result

    def tasks(self, channels: Iterable[str] = ()) -> list[dict[str, Any]]:
        """Every task record, or those of ``channels`` only."""
        query = urllib.parse.urlencode([("channelId", c) for c in channels])
        return list(self.control("GET", _path("tasks") + (f"?{query}" if query else ""))
                    ["tasks"])

    def layouts(self) -> list[dict[str, Any]]:
        """Every custom layout (``GET /_emulator/layouts``)."""
        return list(self.control("GET", _path("layouts"))["layouts"])

    def task(self, task_id: str, app: str | None = None) -> dict[str, Any]:
        """The latest record of ``task_id`` (KeyError if none)."""
        for record in reversed(self.tasks()):
            if record["taskId"] == task_id and (app is None or record["appId"] == app):
                return record
        raise KeyError(task_id)

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.control("GET", _path("stats"))
        return result

    def reset(self) -> None:
        self.control("POST", _path("reset"))
