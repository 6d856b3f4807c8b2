"""A loopback stand-in for the RTC OpenAPI, scripted per test.

It checks what the real service checks about a request's envelope (v1 signature with
:func:`signing.sign`, known AccessKeyId, fresh nonce, sane timestamp, common parameters)
and records every request; the answer comes from a FIFO script, else a default success.

Fidelity notes (where it differs from the real service, on purpose): it does not validate
MPU parameters (the emulator does); on a bad signature it answers 401
``Request.IllegalSignature`` and echoes its string-to-sign in the message, the way the
real OpenAPI gateway does — that echo carries the percent-encoded stream URL and token,
which is exactly what the client's scrubbing must remove.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from mpu_operator.rtc import codes, signing
from mpu_operator.rtc.params import LayoutParams, StartParams, UserPane

KEY_ID = "LTAItestkeyid"
SECRET = "S3cr3t-Value-xyz"
TOKEN = "STS.T0kenValue/with+odd=chars"
STREAM_URL = "rtmp://push.example.com/live/stream1?auth_key=1700000000-0-0-AUTHHASHabc123"
# What must never show up in an error text, a repr or a log line.
FORBIDDEN = ("S3cr3t", "T0kenValue", "AUTHHASH", "auth_key=")

LAYOUT = LayoutParams(layout_ids=(1, 2, 5), crop_mode=1, background_color=65280,
                      user_panes=(UserPane(0, "alice"), UserPane(1, "bob", "shareScreen")))
START = StartParams(app_id="app1", channel_id="room 1", task_id="task-1", stream_url=STREAM_URL,
                    layout=LAYOUT, media_encode=20, task_profile="4IN_720P",
                    subscribe_users=("alice", "bob"))


@dataclass
class Answer:
    """One scripted reply. ``body`` is JSON-encoded unless it is already a string."""

    status: int = 200
    body: Any = field(default_factory=dict)
    content_type: str = "application/json;charset=utf-8"
    stall: bool = False  # hold the request until the test ends (a read timeout)


@dataclass
class Received:
    method: str
    path: str
    content_type: str
    params: dict[str, str]
    headers: dict[str, str]


class FakeRTC:
    def __init__(self) -> None:
        self.secrets = {KEY_ID: SECRET}
        self.answers: deque[Answer] = deque()
        self.received: list[Received] = []
        self.violations: list[str] = []
        self.release = threading.Event()
        self._nonces: set[str] = set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def answer(self, *answers: Answer) -> None:
        self.answers.extend(answers)

    # ------------------------------------------------------------------------ serving

    def respond(self, received: Received) -> Answer:
        with self._lock:
            self.received.append(received)
            problem = self._check(received)
            if problem is not None:
                return problem
            if self.answers:
                return self.answers.popleft()
        return default_answer(received.params.get("Action", ""))

    def _check(self, received: Received) -> Answer | None:
        params = received.params
        nonce = params.get("SignatureNonce", "")
        if not nonce or nonce in self._nonces:
            self.violations.append(f"nonce missing or reused: {nonce!r}")
        self._nonces.add(nonce)
        for name, want in (("Format", "JSON"), ("Version", "2018-01-11"),
                           ("SignatureMethod", "HMAC-SHA1"), ("SignatureVersion", "1.0")):
            if params.get(name) != want:
                self.violations.append(f"{name}={params.get(name)!r}")
        try:
            skew = abs(signing.parse_timestamp(params.get("Timestamp", "")) - datetime.now(UTC))
        except ValueError:
            skew = timedelta.max
        if skew > timedelta(minutes=15):
            self.violations.append(f"Timestamp={params.get('Timestamp')!r}")
        secret = self.secrets.get(params.get("AccessKeyId", ""))
        if secret is None:
            return error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        unsigned = {k: v for k, v in params.items() if k != "Signature"}
        if signing.sign(received.method, unsigned, secret) != params.get("Signature"):
            echo = signing.string_to_sign(received.method, unsigned)
            return error(401, codes.ILLEGAL_SIGNATURE, "Specified signature is not matched "
                         f"with our calculation. server string to sign is:{echo}")
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self._serve("POST")

            def do_GET(self) -> None:
                self._serve("GET")

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = self.rfile.read(length).decode("utf-8")
                query = urlsplit(self.path).query
                params = dict(parse_qsl(query, keep_blank_values=True))
                params.update(parse_qsl(form, keep_blank_values=True))
                received = Received(method, self.path, self.headers.get("Content-Type", ""),
                                    params, dict(self.headers.items()))
                answer = fake.respond(received)
                if answer.stall:
                    fake.release.wait(30)
                    return
                raw = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
                data = raw.encode("utf-8")
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        return Handler


def request_id() -> str:
    return str(uuid.uuid4()).upper()


def error(status: int, code: str, message: str, rid: str | None = None) -> Answer:
    return Answer(status, {"RequestId": rid or request_id(), "HostId": "rtc.aliyuncs.com",
                           "Code": code, "Message": message})


def default_answer(action: str) -> Answer:
    body: dict[str, Any] = {"RequestId": request_id()}
    if action == "GetMPUTaskStatus":
        body["Status"] = 1
    return Answer(200, body)
