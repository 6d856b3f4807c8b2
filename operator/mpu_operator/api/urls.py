"""The URL rules: push URLs (``streamURL``) and image URLs (overlays).

Kept apart from the model so that the operator can judge a URL read from a Secret with
exactly the rule the spec uses, and so that every URL rule shares one host check. No
function here ever quotes the URL: a push URL's query is an auth key, an image URL may be
a signed OSS link.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

STREAM_URL_SCHEMES = ("rtmp", "rtmps")
IMAGE_URL_SCHEMES = ("http", "https")
#: Generous for a push URL with an auth query; bounded so CEL cost stays estimable.
MAX_STREAM_URL_LENGTH = 2048
#: Generous for a signed object-storage link (a few hundred characters in practice).
MAX_IMAGE_URL_LENGTH = 2048


def stream_url_problem(value: str) -> str | None:
    """The rule a push URL breaks, or None. Never quotes the URL (its query is a secret).

    The one check for every source of a URL: ``spec.streamURL`` here, and the value read
    from a ``streamURLFrom`` Secret by the operator, so both obey exactly the same rules:

    - ``rtmp://`` or ``rtmps://``, at most :data:`MAX_STREAM_URL_LENGTH` characters;
    - printable ASCII only: no spaces or control characters (percent-encode the rest);
    - a host that is a DNS name, an IPv4 address or a bracketed IPv6 address, and an
      optional port 1-65535;
    - a stream path.

    ``user:password@`` and a ``#fragment`` are allowed: some ingest servers authenticate
    that way, the service judges them, and every output redacts them like the query.
    """
    return _url_problem(value, MAX_STREAM_URL_LENGTH, STREAM_URL_SCHEMES, _URL_SHAPE)


_URL_CHARACTERS = re.compile(r"[\x21-\x7e]+")
_URL_SHAPE = "must be an rtmp:// or rtmps:// URL with a host and a stream path"
_HOST_PORT = re.compile(r"(\[[^\]]*\]|[^:\[\]]*)(?::([^:]*))?")
_DNS_LABEL = re.compile(r"[A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9_])?")
_MAX_HOST_LENGTH = 253
_MAX_PORT = 65535


def _url_problem(value: str, max_length: int, schemes: Iterable[str],
                 shape: str) -> str | None:
    """The one URL check both kinds share: length, characters, scheme, host[:port] and a
    non-empty path; ``shape`` says what the URL must look like."""
    if not isinstance(value, str) or not value:
        return "must not be empty"
    if len(value) > max_length:
        return f"must be at most {max_length} characters"
    if not _URL_CHARACTERS.fullmatch(value):
        return ("must be printable ASCII without spaces or control characters "
                "(percent-encode anything else)")
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in schemes:
        return shape
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    problem = _host_port_problem(authority.rpartition("@")[2], shape)
    if problem is not None:
        return problem
    path = re.split(r"[?#]", rest[len(authority):], maxsplit=1)[0]
    return shape if path.strip("/") == "" else None


def _host_port_problem(authority: str, shape: str) -> str | None:
    """What is wrong with ``host[:port]``, or None."""
    match = _HOST_PORT.fullmatch(authority)
    if match is None:
        return "host must be a DNS name, an IPv4 address or a bracketed IPv6 address"
    host, port = match.group(1), match.group(2)
    if not host:
        return shape
    if not _host_ok(host):
        return "host must be a DNS name, an IPv4 address or a bracketed IPv6 address"
    if port is not None and not (port.isdigit() and len(port) <= 5
                                 and 1 <= int(port) <= _MAX_PORT):
        return f"port must be between 1 and {_MAX_PORT}"
    return None


def _host_ok(host: str) -> bool:
    if host.startswith("["):
        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return False
        return address.scope_id is None  # a zone (%eth0) means nothing to a remote CDN
    if re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return False
        return True
    return len(host) <= _MAX_HOST_LENGTH and all(_DNS_LABEL.fullmatch(label)
                                                 for label in host.split("."))


def image_url_problem(value: str) -> str | None:
    """The rule an overlay image URL breaks, or None. Never quotes the URL.

    The service fetches the image itself, by HTTP or HTTPS: ``http://`` or ``https://``,
    at most :data:`MAX_IMAGE_URL_LENGTH` characters, printable ASCII (no spaces or control
    characters: a newline would split the service's request), a host like a push URL's
    and a path naming the file.
    """
    return _url_problem(value, MAX_IMAGE_URL_LENGTH, IMAGE_URL_SCHEMES, _IMAGE_URL_SHAPE)


_IMAGE_URL_SHAPE = "must be an http:// or https:// URL with a host and a path to the image"
