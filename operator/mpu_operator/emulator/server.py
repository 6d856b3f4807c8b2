"""The HTTP server: the API at ``/``, the control side at ``/_emulator/``, and ``main``.

aiohttp.web because the operator's async stack already brings aiohttp: no second server
library, and the same event loop can host the emulator inside a test. aiohttp's access log
is off: it prints the request line, whose query carries the signature and the StreamURL's
auth key; :mod:`.service` logs one safe line per call instead.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys

from aiohttp import web

from . import control, wire
from .clock import Clock
from .config import DEFAULT_CREDENTIALS, EmulatorConfig
from .errors import INTERNAL_ERROR, ApiError
from .service import Service

log = logging.getLogger("mpu_operator.emulator")

#: Seconds given to in-flight calls at shutdown (held timeout faults are released first).
SHUTDOWN_TIMEOUT = 2.0


async def handle_api(request: web.Request) -> web.StreamResponse:
    service = request.app[control.SERVICE_KEY]
    request_id = wire.new_request_id()
    call = await wire.read_call(request)
    try:
        reply = await service.handle(call, request_id)
    except Exception:  # a bug in the emulator: answer like the service would, log no params
        log.exception("internal error in %s (request_id=%s)", call.action or "-", request_id)
        error = ApiError(INTERNAL_ERROR, 500, "The request processing has failed due to some "
                                              "unknown error.")
        return wire.failure(error, request_id, call.fmt)
    if reply.drop:
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=504)
    if reply.error is not None:
        return wire.failure(reply.error, request_id, call.fmt)
    return wire.success(reply.action, reply.fields, call.fmt)


def build_app(config: EmulatorConfig, clock: Clock | None = None) -> web.Application:
    app = web.Application(middlewares=[control.control_errors],
                          client_max_size=1024 * 1024)
    service = Service(config, clock)
    app[control.SERVICE_KEY] = service
    app.router.add_route("GET", "/", handle_api)
    app.router.add_route("POST", "/", handle_api)
    app.add_routes(control.routes())

    async def release(_: web.Application) -> None:
        service.release_held_calls()

    app.on_shutdown.append(release)
    return app


def make_runner(app: web.Application) -> web.AppRunner:
    return web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)


def bound_port(runner: web.AppRunner) -> int:
    """The port the OS gave a site bound to port 0."""
    for address in runner.addresses:
        if isinstance(address, tuple):
            return int(address[1])
    raise RuntimeError("the emulator is not listening")


def banner(config: EmulatorConfig, port: int) -> str:
    """What a person needs to point an SDK at it: secrets shown only for the default key."""
    lines = [f"RTC MPU emulator listening on http://{config.host}:{port}",
             f"  endpoint for the SDKs: {config.host}:{port} (protocol http)"]
    for key_id, secret in sorted(config.credentials.items()):
        shown = secret if DEFAULT_CREDENTIALS.get(key_id) == secret else "(secret not shown)"
        lines.append(f"  credential: {key_id}:{shown}")
    lines.append(f"  control API: http://{config.host}:{port}/_emulator/ "
                 f"(tasks, layouts, stats, faults, reset, "
                 f"apps/{{app}}/channels/{{channel}}/users/{{user}})")
    settings = {k: v for k, v in config.public().items() if k != "credentials"}
    lines.append("  settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()))
    return "\n".join(lines)


async def serve(config: EmulatorConfig) -> None:
    """Serve until cancelled."""
    runner = make_runner(build_app(config))
    await runner.setup()
    try:
        await web.TCPSite(runner, config.host, config.port).start()
        print(banner(config, bound_port(runner)), flush=True)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(args: argparse.Namespace) -> int:
    """``mpu-operator emulator``: 0 on Ctrl-C, 2 on bad flags, 1 if it cannot listen."""
    try:
        config = EmulatorConfig.from_args(args)
    except ValueError as error:
        print(f"mpu-operator emulator: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.DEBUG if config.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(config))
    except OSError as error:
        print(f"mpu-operator emulator: cannot listen on {config.host}:{config.port}: "
              f"{error.strerror or error}", file=sys.stderr)
        return 1
    return 0
