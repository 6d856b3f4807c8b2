"""Stream URL identity and redaction.

Two URLs are the same stream when scheme, host, port and path agree: the query string is
the CDN's auth key (防盗链鉴权串) and does not make a different stream. The query is also
the secret part, so everything shown to people goes through :func:`redact`.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlsplit

DEFAULT_PORTS = {"rtmp": 1935, "rtmps": 443, "http": 80, "https": 443, "srt": 1935}


class StreamKey(NamedTuple):
    scheme: str
    host: str
    port: int | None
    path: str

    def __str__(self) -> str:
        port = "" if self.port is None or self.port == DEFAULT_PORTS.get(self.scheme) \
            else f":{self.port}"
        return f"{self.scheme}://{self.host}{port}{self.path}"


def stream_key(url: str) -> StreamKey:
    """The identity of the stream a URL pushes to (scheme, host, port, path)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = DEFAULT_PORTS.get(scheme)
    host = (parts.hostname or "").lower()
    path = parts.path or "/"
    return StreamKey(scheme, host, port, path)


def redact(url: str) -> str:
    """The URL without its query string, fragment or userinfo: safe for logs and status."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def host_path(url: str) -> str:
    """Host and path only, for a compact printer column."""
    parts = urlsplit(url.strip())
    return f"{parts.hostname or ''}{parts.path}"
