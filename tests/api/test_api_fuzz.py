"""parse_spec never raises and never quotes the stream URL's auth key, whatever it is given."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mpu_operator.api import SpecResult, parse_spec

SECRET = "auth_key=1700000000-0-0-f00dfeed"
URL = f"rtmp://push.example.com/live/s?{SECRET}"

#: Keys a spec has at any depth, so junk often reaches deep validators, plus odd ones.
KEYS = ["appId", "channelId", "streamURL", "streamURLFrom", "secretKeyRef", "name", "key",
        "layout", "layoutIds", "cropMode", "backgroundColor", "userPanes", "paneId", "userId",
        "sourceType", "encoding", "mediaEncode", "taskProfile", "subscribeUsers", "taskId",
        "credentialsRef", "suspend", "restartPolicy", "deletionPolicy", "", "streamUrl", "0",
        "layoutRefs", "backgrounds", "watermarks", "clockWidgets", "images", "texts", "text",
        "url", "x", "y", "width", "height", "alpha", "zOrder", "display", "fontSize",
        "fontColor", "box", "subscribe", "unsubscribe", "audioUsers", "cameraUsers",
        "shareScreenUsers", "mixMode", "single", "streamType", "backupStreamURLs",
        "backupStreamURLsFrom", "failover", "after", "back"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
    st.text(max_size=20), st.just(URL), st.just(SECRET), st.just("#FFFFFF"),
    st.sampled_from(["Auto", "Mixed_Audio", "4IN_720P", "camera", "OnFailure", "rtmp://h/a",
                     "Single", "AudioOnly", "https://h/logo.png", f"https://h/a.png?{SECRET}",
                     "CDNFailure", "URLFailure", "WhenPrimaryHealthy",
                     f"rtmp://u:{SECRET}@h/live/s", f"rtmp://backup.example.com/s?{SECRET}"]),
)
json_ish = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=18),
        st.dictionaries(st.sampled_from(KEYS), children, max_size=8),
        st.dictionaries(st.text(max_size=5), children, max_size=3),
    ),
    max_leaves=25,
)
spec_like = st.dictionaries(st.sampled_from(KEYS), json_ish, max_size=10)


def assert_safe(result: SpecResult) -> None:
    assert isinstance(result, SpecResult)
    assert (result.spec is None) == bool(result.errors)
    for problem in result.errors + result.warnings:
        assert isinstance(problem.field, str) and isinstance(problem.rule, str)
        assert SECRET not in str(problem)
        assert problem.rule and "errors.pydantic.dev" not in problem.rule


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_ish, spec_like))
def test_parse_spec_never_raises(raw: Any) -> None:
    assert_safe(parse_spec(raw))


@settings(max_examples=150, deadline=None)
@given(spec_like)
def test_secret_url_is_never_quoted(raw: dict[str, Any]) -> None:
    raw["streamURL"] = URL
    assert_safe(parse_spec(raw))


@settings(max_examples=150, deadline=None)
@given(spec_like, st.lists(st.one_of(st.just(URL), scalars), max_size=6))
def test_backup_urls_are_never_quoted(raw: dict[str, Any], backups: list[Any]) -> None:
    """The backups carry auth keys too: no problem about them (shape, count, the same
    stream as the primary) may quote one."""
    raw["streamURL"] = URL
    raw["backupStreamURLs"] = backups
    assert_safe(parse_spec(raw))


def test_deep_nesting_is_a_problem_not_a_crash() -> None:
    deep: Any = URL
    for _ in range(5000):
        deep = [deep]
    assert_safe(parse_spec({"layout": deep}))
    cyclic: dict[str, Any] = {}
    cyclic["layout"] = cyclic
    assert_safe(parse_spec(cyclic))
