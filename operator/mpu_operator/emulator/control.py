"""The control side, under ``/_emulator/``: the parts the real world plays, and the record.

Unauthenticated on purpose: it is for the test or the person driving the emulator, never
for the code under test. Answers are JSON; a refused control call is ``{"error": ...}``.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .errors import ControlError
from .faults import parse_fault
from .random_faults import RandomFaults, parse_random_faults
from .service import Service

PREFIX = "/_emulator"
SERVICE_KEY: web.AppKey[Service] = web.AppKey("service", Service)


def _service(request: web.Request) -> Service:
    return request.app[SERVICE_KEY]


def _ok(payload: Any, status: int = 200) -> web.Response:
    return web.json_response(payload, status=status)


async def _json_body(request: web.Request) -> Any:
    if not request.can_read_body:
        return {}
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ControlError(400, "the body must be JSON") from None


@web.middleware
async def control_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except ControlError as error:
        return _ok({"error": error.message}, status=error.http)


async def join(request: web.Request) -> web.Response:
    m = request.match_info
    users = _service(request).state.join(m["app"], m["channel"], m["user"])
    return _ok({"appId": m["app"], "channelId": m["channel"], "users": users})


async def leave(request: web.Request) -> web.Response:
    m = request.match_info
    users = _service(request).state.leave(m["app"], m["channel"], m["user"])
    return _ok({"appId": m["app"], "channelId": m["channel"], "users": users})


async def channel(request: web.Request) -> web.Response:
    m = request.match_info
    users = _service(request).state.users(m["app"], m["channel"])
    return _ok({"appId": m["app"], "channelId": m["channel"], "users": users})


async def fail(request: web.Request) -> web.Response:
    body = await _json_body(request)
    status = body.get("status") if isinstance(body, dict) else None
    if not isinstance(status, int):
        raise ControlError(400, 'expected {"status": 5} or {"status": 6}')
    m = request.match_info
    task = _service(request).state.fail(m["app"], m["task"], status)
    return _ok(task.to_json())


async def add_fault(request: web.Request) -> web.Response:
    service = _service(request)
    fault = parse_fault(await _json_body(request))
    if fault.action not in (*service.actions, "*"):
        raise ControlError(400, f"unknown action {fault.action!r}; one of "
                                f"{', '.join(service.actions)} or *")
    service.faults.add(fault)
    return _ok({"faults": service.faults.pending()}, status=201)


async def list_faults(request: web.Request) -> web.Response:
    return _ok({"faults": _service(request).faults.pending()})


async def clear_faults(request: web.Request) -> web.Response:
    _service(request).faults.clear()
    return _ok({"faults": []})


def _random_json(service: Service) -> dict[str, Any]:
    source = service.faults.random
    return {"randomFaults": source.to_json() if isinstance(source, RandomFaults) else None}


async def set_random_faults(request: web.Request) -> web.Response:
    service = _service(request)
    service.faults.random = parse_random_faults(await _json_body(request), service.actions)
    return _ok(_random_json(service))


async def get_random_faults(request: web.Request) -> web.Response:
    return _ok(_random_json(_service(request)))


async def clear_random_faults(request: web.Request) -> web.Response:
    service = _service(request)
    shown = _random_json(service)  # what it injected, for the caller's record
    service.faults.random = None
    return _ok(shown)


async def tasks(request: web.Request) -> web.Response:
    app_id = request.query.get("appId")
    channels = frozenset(request.query.getall("channelId", []))
    return _ok({"tasks": _service(request).state.tasks_json(app_id, channels)})


async def layouts(request: web.Request) -> web.Response:
    return _ok({"layouts": _service(request).layouts.to_json(request.query.get("appId"))})


async def stats(request: web.Request) -> web.Response:
    service = _service(request)
    payload = {**service.stats.to_json(), **service.state.counters_json(),
               "config": service.config.public()}
    return _ok(payload)


async def reset(request: web.Request) -> web.Response:
    _service(request).reset()
    return _ok({"reset": True})


async def health(request: web.Request) -> web.Response:
    return _ok({"ok": True})


def routes() -> list[web.RouteDef]:
    channel_path = PREFIX + "/apps/{app}/channels/{channel}"
    return [
        web.post(channel_path + "/users/{user}", join),
        web.delete(channel_path + "/users/{user}", leave),
        web.get(channel_path, channel),
        web.post(PREFIX + "/apps/{app}/tasks/{task}/fail", fail),
        web.post(PREFIX + "/faults", add_fault),
        web.get(PREFIX + "/faults", list_faults),
        web.delete(PREFIX + "/faults", clear_faults),
        web.put(PREFIX + "/random-faults", set_random_faults),
        web.get(PREFIX + "/random-faults", get_random_faults),
        web.delete(PREFIX + "/random-faults", clear_random_faults),
        web.get(PREFIX + "/tasks", tasks),
        web.get(PREFIX + "/layouts", layouts),
        web.get(PREFIX + "/stats", stats),
        web.post(PREFIX + "/reset", reset),
        web.get(PREFIX + "/health", health),
    ]
