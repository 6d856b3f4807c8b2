"""Every spec rule, each with a case that passes and a case that fails at the named field."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mpu_operator.api import rules
from mpu_operator.api.spec import parse_spec

Edit = Callable[..., dict[str, Any]]  # the conftest's edit fixture

PANES_16 = [{"paneId": i, "userId": f"u{i}"} for i in range(16)]
USERS_16 = [f"u{i}" for i in range(16)]
CUSTOM_16 = list(range(100, 116))

# (what is changed, new value); ... deletes the field.
PASSING: list[tuple[str, Any]] = [
    ("appId", "a"),
    ("appId", "A-b_9" * 12 + "abcd"),  # 64: the longest id
    ("channelId", "c"),
    ("channelId", "181-218-3406"),
    ("channelId", "Room_1-" + "x" * 57),
    ("streamURL", "rtmp://push.example.com:1935/live/s?auth_key=1700000000-0-0-abc"),
    ("streamURL", "rtmp://[2001:db8::1]:1936/live/s"),
    ("streamURL", "rtmp://203.0.113.7/live/s"),
    ("streamURL", "rtmp://push_1.example.com:65535/live/s"),
    ("streamURL", "rtmps://push.example.com:443/live/s"),
    ("streamURL", "rtmp://user:pass@push.example.com/live/s?auth_key=k#part"),
    ("streamURL", "RTMP://push.example.com/live/s"),
    ("layout.layoutIds", [1]),
    ("layout.layoutIds", [1, 2, 5, 6, 7, 8, 9, 10, 11]),
    ("layout.layoutIds", [2, 100, 101]),  # custom layouts pass, whatever their panes
    ("layout.layoutIds", CUSTOM_16),
    ("layout.cropMode", 0),
    ("layout.cropMode", 1),
    ("layout.backgroundColor", "#FFaa00"),
    ("layout.userPanes", [{"paneId": 3, "userId": "u", "sourceType": "shareScreen"}]),
    ("layout.userPanes", []),
    ("encoding.mediaEncode", 30),
    ("encoding.taskProfile", "4IN_720P"),
    ("encoding.taskProfile", "16IN_1080P"),
    ("encoding.taskProfile", "Auto"),
    ("subscribeUsers", USERS_16),
    ("taskId", "A-b_9" * 11),  # 55 bytes
    ("credentialsRef", {"name": "rtc-credentials"}),
    ("suspend", True),
    ("restartPolicy", "Always"),
    ("restartPolicy", "Never"),
    ("deletionPolicy", "Orphan"),
]

# (what is changed, new value, the field blamed, words the rule must contain)
FAILING: list[tuple[str, Any, str, str]] = [
    ("appId", ..., "appId", "required"),
    ("appId", "", "appId", "must not be empty"),
    ("appId", 7, "appId", "must be a string"),
    ("channelId", ..., "channelId", "required"),
    ("channelId", "", "channelId", "must not be empty"),
    ("streamURL", ..., "streamURL", "set streamURL or streamURLFrom"),
    ("streamURL", "http://push.example.com/live/s", "streamURL", "rtmp:// or rtmps://"),
    ("streamURL", "rtmp://push.example.com", "streamURL", "stream path"),
    ("streamURL", "rtmp:///live/s", "streamURL", "host"),
    ("streamURL", "", "streamURL", "must not be empty"),
    ("streamURL", "rtmp://h/" + "x" * 2048, "streamURL", "at most 2048 characters"),
    ("streamURL", "rtmp://host:99999/live/s", "streamURL", "port must be between 1 and 65535"),
    ("streamURL", "rtmp://host:0/live/s", "streamURL", "port must be between 1 and 65535"),
    ("streamURL", "rtmp://host:/live/s", "streamURL", "port must be between 1 and 65535"),
    ("streamURL", "rtmp://host:x/live/s", "streamURL", "port must be between 1 and 65535"),
    ("streamURL", "rtmp://[::1/live/s", "streamURL", "host must be a DNS name"),
    ("streamURL", "rtmp://[fe80::1%25eth0]/live/s", "streamURL", "host must be a DNS name"),
    ("streamURL", "rtmp://300.1.1.1/live/s", "streamURL", "host must be a DNS name"),
    ("streamURL", "rtmp://-bad-.example.com/live/s", "streamURL", "host must be a DNS name"),
    ("streamURL", "rtmp://a..b/live/s", "streamURL", "host must be a DNS name"),
    ("streamURL", "rtmp://user:pw@host:99999/live/s", "streamURL", "port must be between"),
    ("streamURL", "rtmp://user:pw@/live/s", "streamURL", "stream path"),
    ("streamURL", "rtmp://host#/live/s", "streamURL", "stream path"),
    ("streamURL", "rtmp://host/live/s ok", "streamURL", "without spaces or control characters"),
    ("streamURL", "rtmp://host/live/s\nok", "streamURL", "without spaces or control"),
    ("streamURL", "rtmp://hôte/live/s", "streamURL", "printable ASCII"),
    ("appId", "a" * 65, "appId", "at most 64 characters"),
    ("appId", "my app", "appId", "letters, digits, '_' and '-'"),
    ("channelId", "c" * 65, "channelId", "at most 64 characters"),
    ("channelId", "c" * (1 << 20), "channelId", "at most 64 characters"),
    ("channelId", "room.1", "channelId", "letters, digits, '_' and '-'"),
    ("channelId", "房间", "channelId", "letters, digits, '_' and '-'"),
    ("channelId", "a\nok", "channelId", "letters, digits, '_' and '-'"),
    ("subscribeUsers", ["u" * 65], "subscribeUsers[0]", "at most 64 characters"),
    ("subscribeUsers", ["u 1"], "subscribeUsers[0]", "letters, digits, '_' and '-'"),
    ("layout.userPanes", [{"paneId": 0, "userId": "u" * 65}], "layout.userPanes[0].userId",
     "at most 64 characters"),
    ("layout.userPanes", [{"paneId": 0, "userId": "u@x"}], "layout.userPanes[0].userId",
     "letters, digits, '_' and '-'"),
    ("encoding.mediaEncode", 2**31, "encoding.mediaEncode", "at most 2147483647"),
    ("encoding.mediaEncode", 2**64, "encoding.mediaEncode", "at most 2147483647"),
    ("layout.layoutIds", [2**31], "layout.layoutIds[0]", "at most 2147483647"),
    ("layout", ..., "layout", "required"),
    ("layout.layoutIds", ..., "layout.layoutIds", "required"),
    ("layout.layoutIds", [], "layout.layoutIds", "must not be empty"),
    ("layout.layoutIds", [*CUSTOM_16, 116], "layout.layoutIds", "at most 16 items"),
    ("layout.layoutIds", [1, 1], "layout.layoutIds", "must not repeat a layout id"),
    ("layout.layoutIds", [0], "layout.layoutIds[0]", "at least 1"),
    ("layout.layoutIds", [2, 3], "layout.layoutIds", "layouts 2 and 3 each have 2 panes"),
    ("layout.layoutIds", [1, 4, 13, 100], "layout.layoutIds", "4 and 13 each have 2 panes"),
    ("layout.layoutIds", ["1"], "layout.layoutIds[0]", "must be an integer"),
    ("layout.cropMode", 3, "layout.cropMode", "at most 2"),
    ("layout.cropMode", -1, "layout.cropMode", "at least 0"),
    ("layout.backgroundColor", "red", "layout.backgroundColor", "#RRGGBB"),
    ("layout.backgroundColor", "#12345", "layout.backgroundColor", "#RRGGBB"),
    ("layout.backgroundColor", None, "layout.backgroundColor", "quote the colour in YAML"),
    ("appId", None, "appId", "must not be null"),
    ("layout.layoutIds", [None], "layout.layoutIds[0]", "must not be null"),
    ("layout.userPanes", [*PANES_16, {"paneId": 0, "userId": "x"}], "layout.userPanes",
     "at most 16 items"),
    ("layout.userPanes", [{"paneId": 16, "userId": "u"}], "layout.userPanes[0].paneId",
     "at most 15"),
    ("layout.userPanes", [{"paneId": 0, "userId": "a"}, {"paneId": 0, "userId": "b"}],
     "layout.userPanes[1].paneId", "already given to layout.userPanes[0]"),
    ("layout.userPanes", [{"paneId": 4, "userId": "u"}], "layout.userPanes[0].paneId",
     "must be below 4"),
    ("layout.userPanes", [{"paneId": 0, "userId": ""}], "layout.userPanes[0].userId",
     "must not be empty"),
    ("layout.userPanes", [{"paneId": 0}], "layout.userPanes[0].userId", "required"),
    ("layout.userPanes", [{"paneId": 0, "userId": "u", "sourceType": "tv"}],
     "layout.userPanes[0].sourceType", "'camera' or 'shareScreen'"),
    ("encoding", ..., "encoding", "required"),
    ("encoding.mediaEncode", ..., "encoding.mediaEncode", "required"),
    ("encoding.mediaEncode", "20", "encoding.mediaEncode", "must be an integer"),
    ("encoding.mediaEncode", 20.0, "encoding.mediaEncode", "must be an integer"),
    ("encoding.mediaEncode", True, "encoding.mediaEncode", "must be an integer"),
    ("encoding.mediaEncode", -1, "encoding.mediaEncode", "at least 0"),
    ("encoding.taskProfile", "8IN_720P", "encoding.taskProfile", "must be Auto or one of"),
    ("encoding.taskProfile", "2IN_720P", "encoding.taskProfile", "need 4 panes"),
    ("encoding.taskProfile", "4IN_360P", "encoding.taskProfile", "above 4IN_360P"),
    ("encoding.taskProfile", "Mixed_Audio", "encoding.taskProfile", "audio only"),
    ("subscribeUsers", [*USERS_16, "u16"], "subscribeUsers", "at most 16 items"),
    ("subscribeUsers", [""], "subscribeUsers[0]", "must not be empty"),
    ("subscribeUsers", "u1", "subscribeUsers", "must be a list"),
    ("taskId", "A" * 56, "taskId", "at most 55 characters"),
    ("taskId", "a b", "taskId", "letters, digits, '_' and '-'"),
    ("taskId", "tâche", "taskId", "letters, digits, '_' and '-'"),
    ("taskId", None, "taskId", "must not be null"),
    ("credentialsRef", None, "credentialsRef", "must not be null"),
    ("credentialsRef", {}, "credentialsRef.name", "required"),
    ("credentialsRef", {"name": "Creds_1"}, "credentialsRef.name", "Kubernetes object name"),
    ("suspend", "yes", "suspend", "must be true or false"),
    ("restartPolicy", "Sometimes", "restartPolicy", "'Always', 'OnFailure' or 'Never'"),
    ("deletionPolicy", "Keep", "deletionPolicy", "'Delete' or 'Orphan'"),
    ("streamUrl", "rtmp://h/a/b", "streamUrl", "unknown field (did you mean streamURL?)"),
    ("layout.layoutID", [1], "layout.layoutID", "did you mean layoutIds?"),
]


@pytest.mark.parametrize(("path", "value"), PASSING, ids=[f"{p}={v!r:.30}" for p, v in PASSING])
def test_passing(edit: Edit, path: str, value: Any) -> None:
    result = parse_spec(edit(path, value))
    assert result.errors == [], [str(p) for p in result.errors]
    assert result.spec is not None and result.ok


@pytest.mark.parametrize(("path", "value", "field", "words"), FAILING,
                         ids=[f"{p}={v!r:.30}" for p, v, _, _ in FAILING])
def test_failing(edit: Edit, path: str, value: Any, field: str, words: str) -> None:
    result = parse_spec(edit(path, value))
    assert result.spec is None and not result.ok
    blamed = [p for p in result.errors if p.field == field]
    assert blamed, f"no error at {field}: {[str(p) for p in result.errors]}"
    assert any(words in p.rule for p in blamed), [str(p) for p in blamed]


def test_stream_url_from_secret_instead_of_url(edit: Edit) -> None:
    spec = edit("streamURL", ...)
    spec["streamURLFrom"] = {"secretKeyRef": {"name": "stream", "key": "url"}}
    result = parse_spec(spec)
    assert result.ok and result.spec is not None
    assert result.spec.stream_url is None
    ref = result.spec.stream_url_from
    assert ref is not None and (ref.secret_key_ref.name, ref.secret_key_ref.key) == ("stream",
                                                                                      "url")


def test_stream_url_and_secret_both_is_an_error(edit: Edit) -> None:
    spec = edit("streamURLFrom", {"secretKeyRef": {"name": "stream", "key": "url"}})
    assert [str(p) for p in parse_spec(spec).errors] == [
        "streamURL: set either streamURL or streamURLFrom, not both"]


@pytest.mark.parametrize("ref", [{"secretKeyRef": {"name": "s"}}, {"secretKeyRef": {"key": "k"}},
                                 {}, {"secretKeyRef": {"name": "s", "key": "a/b"}}])
def test_incomplete_secret_ref(edit: Edit, ref: dict[str, Any]) -> None:
    spec = edit("streamURLFrom", ref, base=edit("streamURL", ...))
    errors = parse_spec(spec).errors
    assert errors and all(p.field.startswith("streamURLFrom") for p in errors)


def test_pane_id_bound_is_skipped_when_a_custom_layout_may_be_larger(edit: Edit) -> None:
    spec = edit("layout", {"layoutIds": [6, 100], "userPanes": [{"paneId": 9, "userId": "u"}]})
    assert parse_spec(spec).errors == []


def test_pane_id_bound_counts_the_largest_known_layout(edit: Edit) -> None:
    spec = edit("layout", {"layoutIds": [1, 11], "userPanes": [{"paneId": 8, "userId": "u"}]})
    assert parse_spec(spec).ok
    spec["layout"]["userPanes"][0]["paneId"] = 9
    assert [p.field for p in parse_spec(spec).errors] == ["layout.userPanes[0].paneId"]


def test_audio_only_encoding_needs_mixed_audio(edit: Edit) -> None:
    audio = edit("encoding", {"mediaEncode": 0, "taskProfile": "Mixed_Audio"})
    assert parse_spec(audio).ok
    wrong = edit("encoding", {"mediaEncode": 0, "taskProfile": "16IN_1080P"})
    assert [str(p) for p in parse_spec(wrong).errors] == [
        "encoding.taskProfile: mediaEncode 0 is audio only and needs Mixed_Audio, "
        "not 16IN_1080P"]


def test_unknown_encoding_is_a_warning_not_an_error(edit: Edit) -> None:
    result = parse_spec(edit("encoding", {"mediaEncode": 2, "taskProfile": "4IN_720P"}))
    assert result.ok and result.spec is not None
    assert [str(p) for p in result.warnings] == [
        "encoding.mediaEncode: 2 is unknown to us; the service will judge it"]


def test_auto_says_when_it_had_to_assume_the_largest(edit: Edit) -> None:
    result = parse_spec(edit("layout.layoutIds", [1, 100]))
    assert result.ok
    assert [p.field for p in result.warnings] == ["encoding.taskProfile"]
    assert "Auto chose 16IN_720P because layout 100 is custom" in result.warnings[0].rule


def test_known_spec_has_no_warnings(valid: dict[str, Any]) -> None:
    assert parse_spec(valid).warnings == []


def test_several_problems_are_all_reported(edit: Edit) -> None:
    spec = edit("layout", {"layoutIds": [2, 3, 6],
                           "userPanes": [{"paneId": 5, "userId": "a"},
                                         {"paneId": 5, "userId": "b"}]})
    spec["encoding"]["taskProfile"] = "2IN_360P"
    fields = [p.field for p in parse_spec(spec).errors]
    assert fields == ["layout.layoutIds", "layout.userPanes[0].paneId",
                      "layout.userPanes[1].paneId", "layout.userPanes[1].paneId",
                      "encoding.taskProfile", "encoding.taskProfile"]


def test_rules_know_nothing_of_the_model() -> None:
    """api is one-way: spec imports rules, rules import no model module (#10)."""
    tree = ast.parse(Path(rules.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for a in node.names}
    assert not {m for m in imported if m and m.startswith("mpu_operator.api.")} - {
        "mpu_operator.api.problems"}, imported


def test_rules_take_plain_values() -> None:
    facts = rules.Facts(stream_url_set=True, stream_url_from_set=False, layout_ids=(2, 3),
                        pane_ids=(0, 0), media_encode=20, task_profile="Auto")
    assert [str(p) for p in rules.errors(facts)] == [
        "layout.layoutIds: layouts 2 and 3 each have 2 panes; the service picks a layout by "
        "the number of people present, so give at most one layout per pane count",
        "layout.userPanes[1].paneId: pane 0 is already given to layout.userPanes[0]"]
