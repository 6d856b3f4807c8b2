"""One exception for every way an RTC call can fail, and what the caller should do about it.

The operator never looks at HTTP statuses or code strings: it looks at ``RTCError.kind``
(:class:`~mpu_operator.rtc.codes.ErrorKind`). :func:`classify` is the single place that
turns the service's answer into that kind, as a pure function so the whole table is a unit
test. Error texts end up in Kubernetes status and Events, which many people can read, so
everything shown is scrubbed of stream-URL queries, AccessKeySecrets and STS tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mpu_operator.rtc import codes
from mpu_operator.rtc.codes import ErrorKind
from mpu_operator.rtc.signing import percent_encode
from mpu_operator.streamurl import redact

# Codes the client invents for failures that never got an answer from the service.
CLIENT_TIMEOUT = "Client.Timeout"
CLIENT_CONNECTION = "Client.ConnectionError"
CLIENT_REQUEST = "Client.RequestError"
CLIENT_INVALID_ENDPOINT = "Client.InvalidEndpoint"
NON_JSON_RESPONSE = "Client.NonJSONResponse"
INVALID_RESPONSE = "Client.InvalidResponse"

MAX_MESSAGE = 300  # characters of a service message kept (status fields are not essays)

_EXACT: dict[str, ErrorKind] = {
    codes.TASK_NOT_FOUND: ErrorKind.NOT_FOUND,
    codes.TASK_EXISTS: ErrorKind.ALREADY_EXISTS,
    codes.STREAM_URL_IN_USE: ErrorKind.CONFLICT,
    codes.STREAM_URL_COOLING_DOWN: ErrorKind.CONFLICT,
    codes.TASK_QUOTA_EXCEEDED: ErrorKind.CONFLICT,
    # Chapter 9: "exceeds the maximum number of channels, delete the ones you no longer
    # use" — the operator cannot free channels, so a person must act.
    codes.CHANNEL_EXCEEDS: ErrorKind.TERMINAL,
    # A reused nonce is a replay verdict on one request; a new request has a new nonce.
    codes.SIGNATURE_NONCE_USED: ErrorKind.RETRYABLE,
    CLIENT_INVALID_ENDPOINT: ErrorKind.TERMINAL,
    INVALID_RESPONSE: ErrorKind.TERMINAL,
}


def _family(code: str, families: tuple[str, ...]) -> bool:
    """``code`` is one of ``families`` or a sub-code of one (``Forbidden`` covers
    ``Forbidden.RAM``); a family ending in ``*`` is a plain prefix (``Request.Invalid*``)."""
    for family in families:
        if family.endswith("*"):
            if code.startswith(family[:-1]):
                return True
        elif code == family or code.startswith(family + "."):
            return True
    return False


# Authentication and authorisation (RTC chapter 9 and the POP gateway's common codes): who
# is calling, or what they may do, is wrong. Checked before any wording, so that
# "InvalidAccessKeyId.NotFound: Specified access key is not found." can never read as a
# vanished task (the operator would conclude the broadcast had stopped).
_AUTH = codes.AUTH_CODE_FAMILIES

_RETRYABLE = ("Throttling", "ServiceUnavailable", "InternalError")

# Codes that say exactly what is wrong with the account, the app, the channel or the API
# call: a person must act, whatever the message says.
_TERMINAL_KNOWN = (
    codes.APP_STOP, codes.APP_CHARGE_OVERDUE, codes.SERVICE_INACTIVE, codes.SERVICE_NO_APP,
    codes.SERVICE_NO_CHANNEL, codes.CHANNEL_NO_EXIST, codes.UNSUPPORTED_OPERATION,
    codes.MISSING_PARAMETER, "Missing*", "InvalidApi", "InvalidAction",
    "NoSuchVersion", "InvalidVersion", "UnsupportedHTTPMethod", "UnsupportedParameter",
    "InsufficientBalance", "InvalidOwnerId", "InvalidOwnerAccount", "InvalidOwner",
)

# Generic parameter codes: "something about a parameter". The service documents no code
# for a missing or existing task, so such an answer may come under one of these, and only
# its wording tells; when the wording says nothing about the task, they are terminal.
_TERMINAL_GENERIC = (codes.INVALID_PARAMETER, "Request.Invalid*", "Request.Exist*",
                     "Request.No*")

_TASK = r"\b(?:mpu\s*)?task(?:[\s_-]*id)?\b"
# One clause (no sentence punctuation) between the task and the verdict, so that
# "Task abc: app not found" is not read as a missing task.
_TASK_MISSING = re.compile(
    _TASK + r"[^.;:!?]{0,40}?\b(?:does\s*not|doesn'?t|is\s*not|not|no\s*longer)\s*"
    r"(?:exists?|found)|\bno\s+such\s+task\b|任务(?:\s*id)?\s*不存在",
    re.IGNORECASE,
)
_TASK_EXISTS = re.compile(_TASK + r"[^.;:!?]{0,40}?\balready\s+exists?"
                          r"|任务(?:\s*id)?\s*已(?:经)?存在", re.IGNORECASE)


def classify(code: str, http_status: int | None, message: str = "") -> ErrorKind:
    """What to do about an error, from its code, HTTP status (None: no answer) and message.

    The code first: codes we know exactly; authentication and authorisation codes
    (terminal, before any wording is looked at); throttling and server codes (retryable);
    codes that name an account, app, channel or request problem (terminal). Only then the
    wording, and only for a code that says nothing specific (unknown, or a generic
    parameter code): "the task does not exist" / "already exists", in English or Chinese,
    never on a 5xx or a 401/403. Then the generic parameter codes are terminal, and last
    the HTTP status: no answer, 408, 429 and 5xx are worth a retry; anything else (4xx, an
    error code in a 200, a redirect) is terminal.
    """
    if code in _EXACT:
        return _EXACT[code]
    if _family(code, _AUTH):
        return ErrorKind.TERMINAL
    if _family(code, _RETRYABLE):
        return ErrorKind.RETRYABLE
    if _family(code, _TERMINAL_KNOWN):
        return ErrorKind.TERMINAL
    server_fault = http_status is None or http_status >= 500
    refused_caller = http_status in (401, 403)
    if not server_fault and not refused_caller:
        if _TASK_MISSING.search(message):
            return ErrorKind.NOT_FOUND
        if _TASK_EXISTS.search(message):
            return ErrorKind.ALREADY_EXISTS
    if _family(code, _TERMINAL_GENERIC) or refused_caller:
        return ErrorKind.TERMINAL
    if server_fault or http_status in (408, 429):
        return ErrorKind.RETRYABLE
    return ErrorKind.TERMINAL


_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]{1,15}://[^\s\"'<>]+")
# No word boundaries below: in an encoded string-to-sign a key follows ``%26`` directly.
# A URL percent-encoded once or twice (as in an echoed query or string-to-sign).
_ENCODED_URL = re.compile(r"(?i)([a-z][a-z0-9+.-]{1,15})%(?:25)?3A%(?:25)?2F%(?:25)?2F\S*")
# A stream URL's value runs to the next blank or quote: its own ``&`` may be spelt like the
# separator, so stopping there could leave the auth query behind. Over-redaction is fine.
_STREAM_URL_PAIR = re.compile(r"(?i)(?<![a-z])(StreamURL)(=|%3D|%253D|\"?\s*:\s*\"?)([^\s\"']*)")
# Secret key=value pairs, plain or percent-encoded once or twice (the real service echoes
# its string-to-sign in IllegalSignature messages).
_SECRET_PAIR = re.compile(
    r"(?i)(?<![a-z])(SecurityToken|AccessKeySecret|Signature|auth_key|token|secret)"
    r"(=|%3D|%253D|\"?\s*:\s*\"?)(.*?)(?=&|%26|%2526|[\s\"',;)]|$)"
)


def scrub(text: str, sensitive: Iterable[str | None] = (), limit: int = MAX_MESSAGE) -> str:
    """``text`` made safe to show: known secrets, secret-looking pairs and URL queries removed.

    ``sensitive`` are values known to be secret for this call (the AccessKeySecret, the
    token, the stream URL); they are removed in plain and percent-encoded forms. The result
    is one line, printable, at most ``limit`` characters.
    """
    for value in sorted((v for v in sensitive if v), key=len, reverse=True):
        for form in _forms(value):
            text = text.replace(form, "[redacted]")
    for pair in (_STREAM_URL_PAIR, _SECRET_PAIR):
        text = pair.sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)
    text = _URL.sub(lambda m: _redact_url(m.group(0)), text)
    text = _ENCODED_URL.sub(lambda m: f"{m.group(1)}://[redacted]", text)
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _forms(value: str) -> set[str]:
    once = percent_encode(value)
    return {value, once, percent_encode(once)}


def _redact_url(url: str) -> str:
    try:
        return redact(url)
    except ValueError:  # e.g. a malformed IPv6 host: keep only the scheme
        return url.split("://", 1)[0] + "://[redacted]"


def html_excerpt(body: str, sensitive: Iterable[str | None] = (), limit: int = 120) -> str:
    """A short, safe excerpt of a non-JSON body (a proxy's error page): tags dropped."""
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", body)
    text = re.sub(r"<[^>]*>", " ", text)
    return scrub(text, sensitive, limit) or "(empty body)"


class RTCError(Exception):
    """An RTC call that did not succeed. ``kind`` says what to do; the rest says why.

    ``code`` is the service's ``Code`` or one of the ``Client.*`` codes above when there
    was no usable answer; ``http_status`` is None when there was no HTTP response at all.
    The message is scrubbed on construction, so no later ``str``/``repr`` can leak.
    """

    def __init__(
        self,
        *,
        action: str,
        code: str,
        message: str,
        http_status: int | None = None,
        request_id: str = "",
        kind: ErrorKind | None = None,
        sensitive: Iterable[str | None] = (),
    ) -> None:
        self.action = action
        self.code = code
        self.message = scrub(message, sensitive)
        self.http_status = http_status
        self.request_id = request_id
        self.kind = kind if kind is not None else classify(code, http_status, message)
        super().__init__(str(self))

    @property
    def retryable(self) -> bool:
        """True when trying again later (with back-off) may succeed without anyone acting."""
        return self.kind is ErrorKind.RETRYABLE

    def __str__(self) -> str:
        status = f"HTTP {self.http_status}" if self.http_status is not None else "no HTTP response"
        rid = f" [RequestId: {self.request_id}]" if self.request_id else ""
        return f"{self.action} failed: {self.code} ({status}): {self.message}{rid}"

    def __repr__(self) -> str:
        return (f"RTCError(action={self.action!r}, code={self.code!r}, "
                f"kind={self.kind.value}, http_status={self.http_status!r}, "
                f"request_id={self.request_id!r}, message={self.message!r})")

    def __reduce__(self) -> tuple[object, ...]:
        """Pickle by keywords (the default would call ``__init__`` with ``args``)."""
        return (_rebuild, (self.action, self.code, self.message, self.http_status,
                           self.request_id, self.kind))


def _rebuild(action: str, code: str, message: str, http_status: int | None,
             request_id: str, kind: ErrorKind) -> RTCError:
    return RTCError(action=action, code=code, message=message, http_status=http_status,
                    request_id=request_id, kind=kind)
