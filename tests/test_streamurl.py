"""Stream URL identity ignores the auth query; redaction removes every secret part."""

from __future__ import annotations

from mpu_operator.streamurl import host_path, redact, stream_key


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
