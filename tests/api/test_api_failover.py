"""Backup stream URLs and ``spec.failover`` (issue #11): the rules of the spec model.

The operator applies the different-stream rule again to URLs it reads from Secrets (see
tests/controller/test_desired_backups.py), with the same function tested here.
"""

from __future__ import annotations

from typing import Any

import pytest

from mpu_operator.api import parse_spec
from mpu_operator.api.failover import repeated_streams
from mpu_operator.api.problems import Problem
from mpu_operator.api.urls import stream_url_problem
from mpu_operator.streamurl import stream_key

SECRET = "auth_key=1700000000-0-0-5f4dcc3b5aa765d61d8327deb882cf99"
PRIMARY = f"rtmp://push.example.com/live/show?{SECRET}"
VALID: dict[str, Any] = {"appId": "app-1", "channelId": "room-1", "streamURL": PRIMARY,
                         "layout": {"layoutIds": [1, 2, 6]}, "encoding": {"mediaEncode": 20}}


def ref(name: str, key: str = "url") -> dict[str, Any]:
    return {"secretKeyRef": {"name": name, "key": key}}


def errors(spec: dict[str, Any]) -> list[str]:
    return [str(p) for p in parse_spec(spec).errors]


def with_backups(*urls: str, **more: Any) -> dict[str, Any]:
    return {**VALID, "backupStreamURLs": list(urls), **more}


def test_without_backups_or_failover_the_defaults_hold() -> None:
    spec = parse_spec(VALID).spec
    assert spec is not None
    assert (spec.backup_stream_urls, spec.backup_stream_urls_from) == ([], [])
    assert spec.failover_codes() == frozenset({5, 6}) and spec.failover_back() == "Manual"


def test_backups_and_failover_are_read() -> None:
    spec = parse_spec(with_backups(
        "rtmp://backup.example.com/live/show?auth_key=b",
        backupStreamURLsFrom=[ref("third")],
        failover={"after": ["URLFailure"], "back": "WhenPrimaryHealthy"})).spec
    assert spec is not None
    assert spec.failover_codes() == frozenset({6})
    assert spec.failover_back() == "WhenPrimaryHealthy"
    # failover order: the primary, backupStreamURLs, then backupStreamURLsFrom
    assert spec.stream_fields() == ["streamURL", "backupStreamURLs[0]",
                                    "backupStreamURLsFrom[0]"]


def test_an_empty_failover_takes_the_defaults() -> None:
    spec = parse_spec(with_backups("rtmp://b/live/s", failover={})).spec
    assert spec is not None
    assert spec.failover_codes() == frozenset({5, 6}) and spec.failover_back() == "Manual"


@pytest.mark.parametrize("url", [
    "http://backup.example.com/live/s", "rtmp://h", "rtmp://h:0/live/s", "rtmp://h/live s",
    "rtmp://[fe80::1%eth0]/live/s", "", "rtmp://" + "h" * 2100 + "/s"])
def test_each_backup_is_judged_like_stream_url(url: str) -> None:
    problem = stream_url_problem(url)
    assert problem is not None
    found = parse_spec(with_backups("rtmp://ok.example.com/live/s", url)).errors
    expected = problem if len(url) <= 2048 else "must be at most 2048 characters"
    assert found == [Problem("backupStreamURLs[1]", expected)]


@pytest.mark.parametrize("same", [
    PRIMARY,
    "rtmp://push.example.com/live/show",  # no query
    "rtmp://push.example.com/live/show?auth_key=another",  # another auth key
    "RTMP://PUSH.Example.COM/live/show",  # scheme and host in another case
    "rtmp://push.example.com:1935/live/show",  # the default port written out
    "rtmp://user:pw@push.example.com/live/show",  # userinfo is not the stream
    "rtmp://push.example.com/live/show#x",
])
def test_a_backup_must_be_another_stream_than_the_primary(same: str) -> None:
    assert errors(with_backups(same)) == [
        "backupStreamURLs[0]: is the same stream as streamURL (same scheme, host, port and "
        "path); a backup must push to a different stream"]


@pytest.mark.parametrize("other", [
    "rtmp://push.example.com/live/show2",  # another path
    "rtmp://push.example.com/LIVE/show",  # paths are case-sensitive
    "rtmps://push.example.com/live/show",  # another scheme
    "rtmp://push.example.com:1936/live/show",  # another port
    "rtmp://backup.example.com/live/show",  # another host
])
def test_another_path_scheme_port_or_host_is_another_stream(other: str) -> None:
    assert errors(with_backups(other)) == []


def test_backups_must_differ_from_each_other() -> None:
    found = errors(with_backups("rtmp://b/live/s?k=1", "rtmp://c/live/s",
                                "rtmps://B:443/live/s", "rtmp://b:1935/live/s?k=2"))
    assert found == ["backupStreamURLs[3]: is the same stream as backupStreamURLs[0] (same "
                     "scheme, host, port and path); a backup must push to a different stream"]


def test_a_secret_key_read_twice_is_the_same_stream() -> None:
    spec = {k: v for k, v in VALID.items() if k != "streamURL"}
    spec["streamURLFrom"] = ref("urls", "primary")
    spec["backupStreamURLsFrom"] = [ref("urls", "backup"), ref("urls", "primary"),
                                    ref("urls", "backup")]
    assert errors(spec) == [
        "backupStreamURLsFrom[1]: reads the same Secret key as streamURLFrom; a backup must "
        "push to a different stream",
        "backupStreamURLsFrom[2]: reads the same Secret key as backupStreamURLsFrom[0]; a "
        "backup must push to a different stream"]


def test_at_most_four_backups_in_all() -> None:
    four = with_backups("rtmp://a/s", "rtmp://b/s", backupStreamURLsFrom=[ref("c"), ref("d")])
    assert errors(four) == []
    five = {**four, "backupStreamURLsFrom": [ref("c"), ref("d"), ref("e")]}
    assert errors(five) == ["backupStreamURLsFrom: backupStreamURLs and backupStreamURLsFrom "
                            "together must have at most 4 items (they have 5)"]
    assert errors(with_backups(*[f"rtmp://h{i}/s" for i in range(5)])) == [
        "backupStreamURLs: must have at most 4 items"]


def test_an_empty_after_is_refused_with_the_way_out() -> None:
    assert errors(with_backups("rtmp://b/s", failover={"after": []})) == [
        "failover.after: must list at least one of CDNFailure, URLFailure (to never fail "
        "over, remove backupStreamURLs and backupStreamURLsFrom)"]


@pytest.mark.parametrize(("failover", "expected"), [
    ({"after": ["CDNFailure", "CDNFailure"]},
     "failover.after: must not repeat a reason (repeated: CDNFailure)"),
    ({"after": ["ChannelStopped"]},
     "failover.after[0]: must be 'CDNFailure' or 'URLFailure'"),
    ({"after": "CDNFailure"}, "failover.after: must be a list"),
    ({"after": [5]}, "failover.after[0]: must be 'CDNFailure' or 'URLFailure'"),
    ({"back": "Never"}, "failover.back: must be 'Manual' or 'WhenPrimaryHealthy'"),
    ({"afterr": ["CDNFailure"]}, "failover.afterr: unknown field (did you mean after?)"),
    (None, "failover: must not be null"),
])
def test_failover_errors_name_the_field_and_the_rule(failover: Any, expected: str) -> None:
    assert errors(with_backups("rtmp://b/s", failover=failover)) == [expected]


def test_failover_without_backups_is_a_warning() -> None:
    result = parse_spec({**VALID, "failover": {"back": "WhenPrimaryHealthy"}})
    assert result.ok
    assert [str(w) for w in result.warnings] == [
        "failover: has no effect without backupStreamURLs or backupStreamURLsFrom"]
    assert parse_spec(with_backups("rtmp://b/s", failover={})).warnings == []


def test_unknown_fields_in_a_backup_source_get_a_hint() -> None:
    spec = {**VALID, "backupStreamURLsFrom": [{"secretKeyRf": {"name": "s", "key": "k"}}]}
    assert errors(spec) == [
        "backupStreamURLsFrom[0].secretKeyRef: required",
        "backupStreamURLsFrom[0].secretKeyRf: unknown field (did you mean secretKeyRef?)"]


def test_no_problem_about_a_backup_quotes_it() -> None:
    bad = [f"rtmp://u:{SECRET}@h:99999/live/s?{SECRET}", f"{PRIMARY}#{SECRET}",
           f"rtmp://h/x?{SECRET}", f"rtmp://h/x?{SECRET}&again", f"ftp://h/x?{SECRET}"] * 2
    result = parse_spec(with_backups(*bad))
    assert result.errors
    assert all(SECRET not in str(p) and "auth_key" not in str(p) for p in result.errors)


def test_repeated_streams_skips_unknown_urls_and_names_fields_only() -> None:
    streams = [("streamURLFrom", None), ("backupStreamURLs[0]", stream_key("rtmp://h/s?a")),
               ("backupStreamURLsFrom[0]", None),
               ("backupStreamURLsFrom[1]", stream_key("rtmp://H:1935/s?b"))]
    assert [str(p) for p in repeated_streams(streams)] == [
        "backupStreamURLsFrom[1]: is the same stream as backupStreamURLs[0] (same scheme, "
        "host, port and path); a backup must push to a different stream"]
    assert repeated_streams([("streamURL", None), ("backupStreamURLs[0]", None)]) == []
