"""Stream URL identity ignores the auth query; redaction removes every secret part and is
total: it returns a printable value for any string, never an exception."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpu_operator.streamurl import StreamKey, host_path, redact, stream_key


def test_the_auth_query_does_not_make_another_stream() -> None:
    a = stream_key("rtmp://Push.Example.com/live/s?auth_key=1-0-0-abc")
    b = stream_key("rtmp://push.example.com:1935/live/s?auth_key=2-0-0-def")
    assert a == b


def test_scheme_host_port_and_path_each_make_another_stream() -> None:
    base = stream_key("rtmp://h/live/s")
    for other in ("rtmps://h/live/s", "rtmp://h2/live/s", "rtmp://h:1936/live/s",
                  "rtmp://h/live/t"):
        assert stream_key(other) != base


def test_redaction_drops_query_fragment_and_userinfo() -> None:
    shown = redact("rtmp://user:pw@h:1935/live/s?auth_key=SECRET#frag")
    assert shown == "rtmp://h:1935/live/s"
    assert "SECRET" not in shown and "pw" not in shown
    assert host_path("rtmp://h/live/s?auth_key=SECRET") == "h/live/s"


def test_the_key_prints_without_secrets_or_default_ports() -> None:
    assert str(stream_key("rtmp://h:1935/live/s?k=SECRET")) == "rtmp://h/live/s"


@pytest.mark.parametrize(("url", "shown"), [
    ("rtmp://[::1/live?k=SECRET", "rtmp:///live"),          # urlsplit raises on this
    ("rtmp://[::1]:1936/live?k=SECRET", "rtmp://[::1]:1936/live"),
    ("rtmp://h:99999/live?k=SECRET", "rtmp://h/live"),       # .port raises on this
    ("rtmp://h:abc/live", "rtmp://h/live"),
    ("rtmp://h/a\x1b[2J\rb?k=SECRET", "rtmp://h/a%1B[2Jb"),   # no raw ESC in a log line
    ("rtmp://h/a\udcff", "rtmp://h/a%ED%B3%BF"),              # a lone surrogate
    ("rtmp:user:pw@h/live?k=SECRET", "rtmp://h/live"),        # no '//': no host, no password
    ("", "://"),
])
def test_malformed_urls_are_redacted_not_raised(url: str, shown: str) -> None:
    assert redact(url) == shown
    assert isinstance(host_path(url), str) and isinstance(stream_key(url), StreamKey)


UNSAFE = re.compile(r"[\x00-\x20\x7f-\x9f\u2028\u2029\ud800-\udfff]")
url_text = st.one_of(
    st.text(max_size=60),
    st.builds(lambda scheme, mid, tail: f"{scheme}://{mid}{tail}",
              st.sampled_from(["rtmp", "rtmps", "RTMP", "http", "", "1x"]),
              st.text(alphabet="[]:@.0123456789abcdef%/\\ \x1b\n", max_size=25),
              st.text(max_size=20)),
)


@settings(max_examples=400, deadline=None)
@given(url_text)
def test_redaction_is_total_and_printable(url: str) -> None:
    for shown in (redact(url), host_path(url), str(stream_key(url))):
        assert isinstance(shown, str)
        assert not UNSAFE.search(shown)


secret = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ", min_size=12, max_size=16)


@settings(max_examples=300, deadline=None)
@given(host=st.sampled_from(["h", "push.example.com", "[::1]", "[::1", "1.2.3.4", "h:99999",
                             "h:1935", "h:", "[fe80::1]:1936"]),
       path=st.text(alphabet="abc/-_.", max_size=12), password=secret, key=secret)
def test_userinfo_and_query_never_survive(host: str, path: str, password: str,
                                          key: str) -> None:
    url = f"rtmp://user:{password}@{host}/{path}?auth_key={key}#{key}"
    for shown in (redact(url), host_path(url), str(stream_key(url))):
        assert password not in shown and key not in shown
