"""controller/desired.py for backup stream URLs (issue #11): Secrets read like
``streamURLFrom``'s, the different-stream rule applied to what they hold, and the three
failover fields of ``Desired`` filled in the spec's order."""

from __future__ import annotations

from typing import Any

import pytest

from mpu_operator.api import parse_spec
from mpu_operator.controller.desired import Resolved, resolve
from mpu_operator.controller.kube import SecretProblem
from mpu_operator.core.model import Record
from mpu_operator.core.reasons import INVALID_STREAM_URL, SECRET_NOT_FOUND
from mpu_operator.rtc.credentials import Credentials
from mpu_operator.streamurl import stream_key

SECRET = "auth_key=1700000000-0-0-feedfacecafe"
PRIMARY = f"rtmp://push.example.com/live/show?{SECRET}"
META = {"namespace": "live", "name": "show", "uid": "u-1"}
CREDS = Credentials("id", "secret-value")


class Secrets:
    """Just enough of the kube client: Secret values by (name, key)."""

    def __init__(self, values: dict[tuple[str, str], str]) -> None:
        self.values = values

    async def secret_value(self, namespace: str, name: str, key: str) -> str:
        assert namespace == "live"  # the object's own namespace, never another
        if (name, key) not in self.values:
            raise SecretProblem(f"Secret {namespace}/{name} not found")
        return self.values[(name, key)].strip()  # as KubeClient.secret_value does


def ref(name: str, key: str = "url") -> dict[str, Any]:
    return {"secretKeyRef": {"name": name, "key": key}}


def spec_of(**more: Any) -> Any:
    raw = {"appId": "app", "channelId": "room", "streamURL": PRIMARY,
           "layout": {"layoutIds": [1]}, "encoding": {"mediaEncode": 20}, **more}
    raw = {k: v for k, v in raw.items() if v is not ...}
    result = parse_spec(raw)
    assert result.spec is not None, result.errors
    return result.spec


async def resolved(spec: Any, secrets: dict[tuple[str, str], str]) -> Resolved:
    return await resolve(spec, META, Record(), Secrets(secrets), CREDS)


async def test_without_backups_the_fields_keep_their_defaults() -> None:
    d = (await resolved(spec_of(), {})).desired
    assert (d.backup_stream_urls, d.failover_after, d.failover_back) == (
        (), frozenset({5, 6}), "Manual")
    assert d.waiting_reason is None


async def test_backups_are_resolved_in_failover_order() -> None:
    spec = spec_of(backupStreamURLs=["rtmp://b1/live/s?k=1", "rtmp://b2/live/s"],
                   backupStreamURLsFrom=[ref("s3"), ref("s4", "other")],
                   failover={"after": ["CDNFailure"], "back": "WhenPrimaryHealthy"})
    d = (await resolved(spec, {("s3", "url"): "rtmp://b3/live/s?k=3",
                               ("s4", "other"): " rtmps://b4/live/s\n"})).desired
    assert d.backup_stream_urls == ("rtmp://b1/live/s?k=1", "rtmp://b2/live/s",
                                    "rtmp://b3/live/s?k=3", "rtmps://b4/live/s")
    assert (d.failover_after, d.failover_back) == (frozenset({5}), "WhenPrimaryHealthy")
    assert d.waiting_reason is None and d.start is not None
    assert d.start.stream_url == PRIMARY  # starts go to the primary; core picks the URL
    assert d.stream_key == stream_key(PRIMARY)


async def test_backups_do_not_change_the_fingerprints() -> None:
    """Adding or editing a backup must not restart a running broadcast."""
    plain = (await resolved(spec_of(), {})).desired
    backed = (await resolved(spec_of(backupStreamURLs=["rtmp://b/live/s"]), {})).desired
    assert (plain.immutable_fingerprint, plain.layout_fingerprint) == (
        backed.immutable_fingerprint, backed.layout_fingerprint)


async def test_a_missing_backup_secret_blocks_the_start_like_the_primarys() -> None:
    spec = spec_of(backupStreamURLsFrom=[ref("here"), ref("gone")])
    d = (await resolved(spec, {("here", "url"): "rtmp://b/live/s"})).desired
    assert (d.waiting_reason, d.waiting_stalled) == (SECRET_NOT_FOUND, False)
    assert d.waiting_message == "backupStreamURLsFrom[1]: Secret live/gone not found"
    assert d.backup_stream_urls == ()


@pytest.mark.parametrize("value", [
    f"http://b/live/s?{SECRET}", f"rtmp://b?{SECRET}", f"rtmp://b:99999/s?{SECRET}",
    f"rtmp://u:{SECRET}@b/live s", SECRET])
async def test_an_invalid_backup_in_a_secret_is_refused_and_never_shown(value: str) -> None:
    spec = spec_of(backupStreamURLsFrom=[ref("bad", "k")])
    d = (await resolved(spec, {("bad", "k"): value})).desired
    assert (d.waiting_reason, d.waiting_stalled) == (INVALID_STREAM_URL, True)
    assert d.waiting_message.startswith(
        "backupStreamURLsFrom[0]: the value of key 'k' in Secret live/bad ")
    assert SECRET not in d.waiting_message and "auth_key" not in d.waiting_message
    assert d.backup_stream_urls == ()


@pytest.mark.parametrize(("primary", "backups", "secrets", "message"), [
    # a Secret-held backup that is the primary written out
    ({"streamURL": PRIMARY}, {"backupStreamURLsFrom": [ref("b")]},
     {("b", "url"): "RTMP://push.example.com:1935/live/show?auth_key=other"},
     "backupStreamURLsFrom[0]: is the same stream as streamURL"),
    # a written-out backup that is the primary held in a Secret
    ({"streamURL": ..., "streamURLFrom": ref("p")},
     {"backupStreamURLs": ["rtmp://push.example.com/live/show"]},
     {("p", "url"): PRIMARY},
     "backupStreamURLs[0]: is the same stream as streamURLFrom"),
    # two Secrets (different keys) holding the same stream
    ({"streamURL": PRIMARY}, {"backupStreamURLsFrom": [ref("b"), ref("c")]},
     {("b", "url"): "rtmp://b/live/s?x=1", ("c", "url"): "rtmp://B/live/s?x=2"},
     "backupStreamURLsFrom[1]: is the same stream as backupStreamURLsFrom[0]"),
])
async def test_the_different_stream_rule_holds_for_urls_in_secrets(
        primary: dict[str, Any], backups: dict[str, Any],
        secrets: dict[tuple[str, str], str], message: str) -> None:
    d = (await resolved(spec_of(**primary, **backups), secrets)).desired
    assert (d.waiting_reason, d.waiting_stalled) == (INVALID_STREAM_URL, True)
    assert d.waiting_message == (f"{message} (same scheme, host, port and path); a backup "
                                 f"must push to a different stream")
    assert SECRET not in d.waiting_message and d.backup_stream_urls == ()


async def test_the_primarys_problem_is_reported_first() -> None:
    spec = spec_of(streamURL=..., streamURLFrom=ref("p"), backupStreamURLsFrom=[ref("gone")])
    d = (await resolved(spec, {})).desired
    assert d.waiting_reason == SECRET_NOT_FOUND
    assert d.waiting_message.startswith("streamURLFrom: ")
