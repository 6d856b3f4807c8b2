"""The MPU actions over the RPC-style OpenAPI, as typed methods.

Deliberately small: sign (v1, :mod:`.signing`), POST the parameters form-encoded (what
the official SDKs send), turn every failure into one :class:`~.errors.RTCError` with a
kind, and never retry — the operator decides when to try again, with back-off and with
the knowledge (write-ahead TaskId, URL cool-down) that a blind retry here would not have.

:class:`AsyncRTCClient` is what the operator uses: it waits for the rate limiter on the
event loop and only then borrows a worker thread for the HTTP call, so a thread pool is
never filled with callers that are merely waiting their turn.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import requests

from mpu_operator import __version__
from mpu_operator.catalogue import status_meaning
from mpu_operator.rtc import errors
from mpu_operator.rtc.credentials import Credentials
from mpu_operator.rtc.errors import RTCError
from mpu_operator.rtc.params import API_VERSION, LayoutParams, StartParams, UpdateTaskParams
from mpu_operator.rtc.ratelimit import ROUTINE, URGENT, RateLimiter, Turn
from mpu_operator.rtc.signing import signed_params

DEFAULT_ENDPOINT = "https://rtc.aliyuncs.com"
ENV_ENDPOINT = "MPU_RTC_ENDPOINT"
USER_AGENT = f"mpu-operator/{__version__}"

START = "StartMPUTask"
STATUS = "GetMPUTaskStatus"
UPDATE = "UpdateMPULayout"
UPDATE_TASK = "UpdateMPUTask"
STOP = "StopMPUTask"

# A 2xx body may carry a Code; these spell success, any other is an error.
_SUCCESS_CODES = frozenset({"", "OK", "Success", "200"})

log = logging.getLogger(__name__)
T = TypeVar("T")

#: ``on_call(action, code, seconds)``: told of every call's outcome (``OK`` or the error's
#: code) and how long the HTTP exchange took; for metrics (:mod:`mpu_operator.metrics`).
CallObserver = Callable[[str, str, float], None]

@dataclass(frozen=True)
class TaskStatus:
    """The answer of GetMPUTaskStatus."""

    status: int
    request_id: str

    @property
    def description(self) -> str:
        return status_meaning(self.status)


@dataclass(frozen=True)
class _Call:
    """One request's identity, for logs and errors (no secrets in here)."""

    action: str
    app_id: str
    task_id: str


class RTCClient:
    """Synchronous client. Thread-safe: share one per process (it pools connections).

    It does not rate-limit: :class:`AsyncRTCClient` waits for the process's limiter on the
    event loop before each call. ``timeout`` is requests' (connect, read) in seconds.
    ``on_call`` is told of every call's outcome.
    """

    def __init__(
        self,
        endpoint: str = DEFAULT_ENDPOINT,
        *,
        timeout: tuple[float, float] = (3.05, 10.0),
        session: requests.Session | None = None,
        on_call: CallObserver | None = None,
    ) -> None:
        self.endpoint = _checked_endpoint(endpoint)
        self.timeout = timeout
        self._session = session or requests.Session()
        # requests re-reads the proxy and CA-bundle variables (and looks for ~/.netrc) on
        # every call: about a fifth of our CPU per call (make bench). Read them once.
        self._env: dict[str, Any] = {}
        if isinstance(self._session, requests.Session):  # not a test's stand-in
            self._env = dict(self._session.merge_environment_settings(
                self.endpoint + "/", {}, None, None, None))
            self._session.trust_env = False
        self.on_call = on_call

    @staticmethod
    def endpoint_from_env(environ: Mapping[str, str] = os.environ) -> str:
        """``MPU_RTC_ENDPOINT`` (e.g. the emulator's URL), else :data:`DEFAULT_ENDPOINT`."""
        value = environ.get(ENV_ENDPOINT, "").strip()
        return _checked_endpoint(value) if value else DEFAULT_ENDPOINT

    # ------------------------------------------------------------------------ actions

    def start_mpu_task(
        self, creds: Credentials, params: StartParams
    ) -> str:
        """Start a task; returns the RequestId. The stream URL is never logged or shown."""
        call = _Call(START, params.app_id, params.task_id)
        body = self._call(call, creds, params.to_query(), (params.stream_url,))
        return _request_id(body)

    def get_mpu_task_status(
        self, creds: Credentials, app_id: str, task_id: str
    ) -> TaskStatus:
        call = _Call(STATUS, app_id, task_id)
        body = self._call(call, creds, {"AppId": app_id, "TaskId": task_id})
        return TaskStatus(_status_of(call, body), _request_id(body))

    def update_mpu_layout(
        self, creds: Credentials, app_id: str, task_id: str, layout: LayoutParams
    ) -> str:
        call = _Call(UPDATE, app_id, task_id)
        query = {"AppId": app_id, "TaskId": task_id, **layout.to_query()}
        return _request_id(self._call(call, creds, query))

    def update_mpu_task(
        self, creds: Credentials, app_id: str, task_id: str, params: UpdateTaskParams
    ) -> str:
        """Change overlays, subscriptions, mix mode and layout of a live task at once (same
        TaskId, no interruption). Sends the whole :class:`UpdateTaskParams`."""
        call = _Call(UPDATE_TASK, app_id, task_id)
        query = {"AppId": app_id, "TaskId": task_id, **params.to_query()}
        return _request_id(self._call(call, creds, query))

    def stop_mpu_task(
        self, creds: Credentials, app_id: str, task_id: str
    ) -> str:
        call = _Call(STOP, app_id, task_id)
        body = self._call(call, creds, {"AppId": app_id, "TaskId": task_id})
        return _request_id(body)

    # ---------------------------------------------------------------------- plumbing

    def _call(
        self, call: _Call, creds: Credentials, action_params: Mapping[str, str],
        extra_secrets: Iterable[str] = (),
    ) -> dict[str, Any]:
        """Send, and return the JSON body of a success or raise."""
        secrets = (*creds.sensitive_values(), *extra_secrets)
        started = time.monotonic()
        try:
            body = self._send(call, creds, action_params, secrets)
        except RTCError as err:
            _log_outcome(call, started, f"{err.code} ({err.kind.value})", err.request_id)
            self._observe(call, err.code, started)
            raise
        _log_outcome(call, started, "ok", _request_id(body))
        self._observe(call, "OK", started)
        return body

    def _observe(self, call: _Call, code: str, started: float) -> None:
        """Tell ``on_call``; an observer's failure never changes a call's outcome."""
        if self.on_call is None:
            return
        try:
            self.on_call(call.action, code, time.monotonic() - started)
        except Exception as exc:
            log.debug("call observer failed: %s", type(exc).__name__)

    def _send(
        self, call: _Call, creds: Credentials, action_params: Mapping[str, str],
        secrets: tuple[str, ...],
    ) -> dict[str, Any]:
        form = signed_params(
            {"Action": call.action, **action_params},
            access_key_id=creds.access_key_id,
            access_key_secret=creds.access_key_secret,
            security_token=creds.security_token,
            method="POST",
            version=API_VERSION,
        )
        try:
            response = self._session.post(
                self.endpoint + "/", data=form, timeout=self.timeout, allow_redirects=False,
                headers={"Accept": "application/json", "User-Agent": USER_AGENT},
                **self._env)
        except requests.RequestException as exc:
            raise _transport_error(call.action, exc, secrets) from None
        return _parse(call.action, response, secrets)


class AsyncRTCClient:
    """The same calls for asyncio: wait for the limiter on the loop, then run the
    HTTP call in a worker thread (``asyncio.to_thread``), telling the limiter when it is
    sent (the limiter's window counts sends, see ``rtc.ratelimit``).

    Cancelling a call stops the wait, not a request already sent: the service may still
    act on it, which is why the operator records the TaskId before starting.
    """

    def __init__(self, client: RTCClient, limiter: RateLimiter | None) -> None:
        self.client = client
        self.limiter = limiter

    async def _call(self, priority: int, call: Callable[..., T], *args: Any) -> T:
        turn = None if self.limiter is None else await self.limiter.acquire(priority)
        return await asyncio.to_thread(_send, turn, call, *args)

    async def start_mpu_task(
        self, creds: Credentials, params: StartParams, *, priority: int = URGENT
    ) -> str:
        return await self._call(priority, self.client.start_mpu_task, creds, params)

    async def get_mpu_task_status(
        self, creds: Credentials, app_id: str, task_id: str, *, priority: int = ROUTINE
    ) -> TaskStatus:
        return await self._call(priority, self.client.get_mpu_task_status, creds, app_id,
                                task_id)

    async def update_mpu_layout(
        self, creds: Credentials, app_id: str, task_id: str, layout: LayoutParams, *,
        priority: int = URGENT,
    ) -> str:
        return await self._call(priority, self.client.update_mpu_layout, creds, app_id,
                                task_id, layout)

    async def update_mpu_task(
        self, creds: Credentials, app_id: str, task_id: str, params: UpdateTaskParams, *,
        priority: int = URGENT,
    ) -> str:
        return await self._call(priority, self.client.update_mpu_task, creds, app_id,
                                task_id, params)

    async def stop_mpu_task(
        self, creds: Credentials, app_id: str, task_id: str, *, priority: int = URGENT
    ) -> str:
        return await self._call(priority, self.client.stop_mpu_task, creds, app_id, task_id)


def _send(turn: Turn | None, call: Callable[..., T], *args: Any) -> T:
    """In the worker thread: the request goes out now."""
    if turn is not None:
        turn.sent()
    return call(*args)


# ------------------------------------------------------------------------- helpers


def _checked_endpoint(endpoint: str) -> str:
    endpoint = endpoint.strip().rstrip("/")
    if not endpoint.startswith(("https://", "http://")):
        raise ValueError("the RTC endpoint must be an http:// or https:// URL")
    return endpoint


def _log_outcome(call: _Call, started: float, outcome: str, request_id: str) -> None:
    log.debug("%s app=%s task=%s -> %s request_id=%s (%.0f ms)", call.action, call.app_id,
              call.task_id, outcome, request_id or "-", (time.monotonic() - started) * 1000)


def _transport_error(
    action: str, exc: requests.RequestException, secrets: tuple[str, ...]
) -> RTCError:
    """No HTTP answer: a timeout or connection failure (retryable), or a bad endpoint."""
    if isinstance(exc, requests.Timeout):
        code = errors.CLIENT_TIMEOUT
    elif isinstance(exc, requests.ConnectionError):
        code = errors.CLIENT_CONNECTION
    elif isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                          requests.exceptions.InvalidSchema)):
        code = errors.CLIENT_INVALID_ENDPOINT
    else:
        code = errors.CLIENT_REQUEST
    message = f"{type(exc).__name__}: {exc}"
    return RTCError(action=action, code=code, message=message, sensitive=secrets)


def _parse(action: str, response: requests.Response, secrets: tuple[str, ...]) -> dict[str, Any]:
    """The JSON body of a success, or the RTCError the answer amounts to."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        excerpt = errors.html_excerpt(response.text, secrets)
        raise RTCError(action=action, code=errors.NON_JSON_RESPONSE, http_status=status,
                       message=f"not a JSON object ({_content_type(response)}): {excerpt}",
                       sensitive=secrets)
    code = str(body.get("Code") or "")
    if 200 <= status < 300 and code in _SUCCESS_CODES:
        return body
    raise RTCError(
        action=action,
        code=code or f"HTTP{status}",
        message=str(body.get("Message") or response.reason or ""),
        http_status=status,
        request_id=_request_id(body),
        sensitive=secrets,
    )


def _content_type(response: requests.Response) -> str:
    value = response.headers.get("Content-Type", "no content type")
    return value.split(";", 1)[0].strip()[:60]


def _request_id(body: Mapping[str, Any]) -> str:
    return str(body.get("RequestId") or "")


def _status_of(call: _Call, body: Mapping[str, Any]) -> int:
    value = body.get("Status")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise RTCError(action=call.action, code=errors.INVALID_RESPONSE, http_status=200,
                   message="the answer has no integer Status", request_id=_request_id(body))
