"""Stream URL identity and redaction.

Two URLs are the same stream when scheme, host, port and path agree: the query string is
the CDN's auth key (防盗链鉴权串) and does not make a different stream. The query is also
the secret part, so everything shown to people goes through :func:`redact`.

Every function here is total: it returns a value for any string, however malformed
(unbalanced IPv6 brackets, a port of 99999, control characters), because it is called on
the way to a log line or an error message, where an exception would hide the real problem
or, worse, carry the URL in its text. What it returns never holds the query, the fragment
or the userinfo, and its control characters and spaces are percent-encoded, so a URL
cannot forge a log line. Whether a URL is *acceptable* is another question, answered by
:func:`mpu_operator.api.spec.stream_url_problem`.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import urlsplit

DEFAULT_PORTS = {"rtmp": 1935, "rtmps": 443, "http": 80, "https": 443, "srt": 1935}
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
#: Shown percent-encoded: controls, space, DEL, C1, Unicode separators and bidi overrides,
#: lone surrogates.
_UNSAFE = re.compile(r"[\x00-\x20\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e"
                     r"\u2066-\u2069\ud800-\udfff]")
_MAX_PORT = 65535


class StreamKey(NamedTuple):
    scheme: str
    host: str
    port: int | None
    path: str

    def __str__(self) -> str:
        port = "" if self.port is None or self.port == DEFAULT_PORTS.get(self.scheme) \
            else f":{self.port}"
        return f"{self.scheme}://{self.host}{port}{self.path}"


class _Parts(NamedTuple):
    scheme: str
    host: str  # lower-case; an IPv6 literal keeps its brackets
    port: int | None  # None when absent or not a port (0, 99999, letters)
    path: str

    def shown_path(self) -> str:
        """The path for people: without a host ("rtmp:u:pw@h/x") whatever precedes an '@'
        may be a password, so it is dropped."""
        return self.path if self.host else self.path.rpartition("@")[2]


def stream_key(url: str) -> StreamKey:
    """The identity of the stream a URL pushes to (scheme, host, port, path)."""
    parts = _split(url)
    port = parts.port if parts.port is not None else DEFAULT_PORTS.get(parts.scheme)
    return StreamKey(parts.scheme, parts.host, port, parts.path or "/")


def redact(url: str) -> str:
    """The URL without its query string, fragment or userinfo: safe for logs and status."""
    parts = _split(url)
    port = "" if parts.port is None else f":{parts.port}"
    return f"{parts.scheme}://{parts.host}{port}{parts.shown_path()}"


def host_path(url: str) -> str:
    """Host and path only, for a compact printer column."""
    parts = _split(url)
    return f"{parts.host}{parts.shown_path()}"


def _split(url: str) -> _Parts:
    """Scheme, host, port and path of any string, never raising, all printable."""
    text = str(url).strip()
    try:
        split = urlsplit(text)
        scheme, netloc, path = split.scheme, split.netloc, split.path
    except ValueError:  # urlsplit refuses e.g. "rtmp://[::1/x"; cut by hand instead
        scheme, netloc, path = _rough_split(text)
    host, port = _host_port(netloc)
    return _Parts(_printable(scheme.lower()), _printable(host), port, _printable(path))


def _rough_split(text: str) -> tuple[str, str, str]:
    """(scheme, netloc, path) as urlsplit would give them, for what urlsplit refuses."""
    scheme, sep, rest = text.partition("://")
    if not sep or not _SCHEME.fullmatch(scheme):
        scheme, rest = "", text
    rest = re.split(r"[?#]", rest, maxsplit=1)[0]
    if not sep:
        return "", "", rest
    netloc, slash, path = rest.partition("/")
    return scheme, netloc, slash + path


def _host_port(netloc: str) -> tuple[str, int | None]:
    """Host (lower-case, IPv6 in brackets) and port of ``[userinfo@]host[:port]``."""
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):
        inside, closed, after = hostport[1:].partition("]")
        host = f"[{inside.lower()}]" if closed else ""
        port_text = after[1:] if after.startswith(":") else ""
    else:
        host, _, port_text = hostport.partition(":")
        host = host.lower()
    return host, _port(port_text)


def _port(text: str) -> int | None:
    if not (text.isascii() and text.isdigit() and len(text) <= 5):
        return None
    port = int(text)
    return port if 1 <= port <= _MAX_PORT else None


def _printable(text: str) -> str:
    return _UNSAFE.sub(_percent, text)


def _percent(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group().encode("utf-8", "surrogatepass"))
