"""The spec model's public face: attributes, defaults, the service parameters it builds,
and parse_spec's contract (Problems, never raising, never quoting the stream URL)."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from mpu_operator import catalogue
from mpu_operator.api import MPUTaskSpec, Problem, SpecResult, parse_spec
from mpu_operator.rtc.params import LayoutParams, StartParams, UserPane

Edit = Callable[..., dict[str, Any]]


def parsed(raw: dict[str, Any]) -> MPUTaskSpec:
    result = parse_spec(raw)
    assert result.spec is not None, [str(p) for p in result.errors]
    return result.spec


def test_defaults(valid: dict[str, Any]) -> None:
    spec = parsed(valid)
    assert (spec.app_id, spec.channel_id) == ("app-1", "room-1")
    assert spec.stream_url_from is None and spec.task_id is None
    assert spec.credentials_ref is None and spec.subscribe_users == []
    assert spec.suspend is False
    assert spec.restart_policy == "OnFailure" and spec.deletion_policy == "Delete"
    assert spec.layout.crop_mode == 2 and spec.layout.background_color == "#000000"
    assert spec.layout.user_panes == []
    assert spec.encoding.task_profile == "Auto"


def test_all_fields_read_back(edit: Edit) -> None:
    raw = edit("layout", {"layoutIds": [6], "cropMode": 1, "backgroundColor": "#0000FF",
                          "userPanes": [{"paneId": 1, "userId": "bob"},
                                        {"paneId": 0, "userId": "amy",
                                         "sourceType": "shareScreen"}]})
    raw.update(subscribeUsers=["amy", "bob"], taskId="show-1", suspend=True,
               credentialsRef={"name": "rtc"}, restartPolicy="Never", deletionPolicy="Orphan")
    spec = parsed(raw)
    assert spec.task_id == "show-1" and spec.suspend is True
    assert spec.credentials_ref is not None and spec.credentials_ref.name == "rtc"
    assert (spec.restart_policy, spec.deletion_policy) == ("Never", "Orphan")
    assert spec.layout_params() == LayoutParams(
        layout_ids=(6,), crop_mode=1, background_color=255 * 65536,
        user_panes=(UserPane(1, "bob", "camera"), UserPane(0, "amy", "shareScreen")))


@pytest.mark.parametrize(("color", "value"), [("#000000", 0), ("#FF0000", 255),
                                              ("#00ff00", 255 * 256), ("#0000FF", 255 * 65536)])
def test_background_color_is_sent_as_the_service_integer(edit: Edit, color: str,
                                                         value: int) -> None:
    assert parsed(edit("layout.backgroundColor", color)).layout_params().background_color == value


@pytest.mark.parametrize(("layout_ids", "media_encode", "profile"), [
    ([1, 2, 6], 20, "4IN_720P"),
    ([1], 1, "1IN_360P"),
    ([11], 30, "9IN_1080P"),
    ([1, 100], 1, "16IN_360P"),       # custom layout: assume 16 inputs
    ([1], 2, "1IN_1080P"),            # unknown encoding: assume 1080P
    ([6], 0, "Mixed_Audio"),          # audio only
])
def test_auto_profile_is_the_cheapest_that_fits(edit: Edit, layout_ids: list[int],
                                                media_encode: int, profile: str) -> None:
    raw = edit("encoding", {"mediaEncode": media_encode},
               base=edit("layout.layoutIds", layout_ids))
    spec = parsed(raw)
    assert spec.resolved_profile() == profile
    assert catalogue.profile_problems(profile, layout_ids, media_encode) == []


def test_named_profile_is_used_as_given(edit: Edit) -> None:
    assert parsed(edit("encoding.taskProfile", "16IN_1080P")).resolved_profile() == "16IN_1080P"


def test_start_params(edit: Edit) -> None:
    raw = edit("subscribeUsers", ["amy", "bob"])
    params = parsed(raw).start_params("task-7", "rtmp://h/live/s?k=v")
    assert params == StartParams(
        app_id="app-1", channel_id="room-1", task_id="task-7", stream_url="rtmp://h/live/s?k=v",
        layout=LayoutParams(layout_ids=(1, 2, 6)), media_encode=20, task_profile="4IN_720P",
        subscribe_users=("amy", "bob"))
    query = params.to_query()
    assert query["TaskProfile"] == "4IN_720P" and query["SubSpecUsers.2"] == "bob"
    assert query["LayoutIds.3"] == "6" and query["BackgroundColor"] == "0"


def test_kubernetes_mapping_views_and_tuples_are_accepted(valid: dict[str, Any]) -> None:
    """kopf hands the spec over as a read-only mapping, not a dict."""
    valid["layout"] = types.MappingProxyType({"layoutIds": (1, 2)})
    assert parsed(types.MappingProxyType(valid)).layout.layout_ids == [1, 2]  # type: ignore[arg-type]


def test_snake_case_is_not_the_wire_format(edit: Edit) -> None:
    raw = edit("appId", ...)
    raw["app_id"] = "app-1"
    fields = [p.field for p in parse_spec(raw).errors]
    assert fields == ["appId", "app_id"]


def test_python_callers_may_use_attribute_names() -> None:
    spec = MPUTaskSpec(app_id="a", channel_id="c", stream_url="rtmp://h/a/s",
                       layout={"layoutIds": [1]}, encoding={"mediaEncode": 1})  # type: ignore[arg-type]
    assert spec.resolved_profile() == "1IN_360P"


def test_direct_construction_refuses_cross_field_errors_without_quoting_input() -> None:
    with pytest.raises(ValidationError) as caught:
        MPUTaskSpec.model_validate({"appId": "a", "channelId": "c",
                                    "streamURL": "rtmp://h/a/s?auth_key=TOPSECRET",
                                    "layout": {"layoutIds": [2, 3]},
                                    "encoding": {"mediaEncode": 1}})
    assert "layouts 2 and 3 each have 2 panes" in str(caught.value)
    assert "TOPSECRET" not in str(caught.value)


def test_problem_text() -> None:
    problem = Problem("layout.userPanes[1].paneId", "must be at most 15")
    assert str(problem) == "layout.userPanes[1].paneId: must be at most 15"
    with pytest.raises(AttributeError):
        problem.field = "x"  # type: ignore[misc]


@pytest.mark.parametrize("junk", [None, [], "spec", 3, 2.5, True, b"x", object()])
def test_non_mapping_spec_is_one_problem(junk: Any) -> None:
    assert parse_spec(junk) == SpecResult(None, [Problem("spec", "must be an object")], [])


def test_empty_spec_names_every_required_field() -> None:
    assert [str(p) for p in parse_spec({}).errors] == [
        "appId: required", "channelId: required", "layout: required", "encoding: required"]


def test_errors_are_plain_english(edit: Edit) -> None:
    raw = edit("layout.cropMode", "two", base=edit("restartPolicy", 1))
    for problem in parse_spec(raw).errors:
        assert "pydantic" not in problem.rule and "http" not in problem.rule
        assert "Input should" not in problem.rule


def test_no_problem_quotes_the_stream_url(edit: Edit, secret: str) -> None:
    for value in [f"http://push.example.com/live/s?{secret}", f"rtmp://x?{secret}",
                  f"{secret}", 12]:
        raw = edit("streamURL", value)
        raw["streamURLFrom"] = {"secretKeyRef": {"name": secret, "key": secret}}
        raw["taskId"] = secret
        raw["credentialsRef"] = {"name": secret}
        result = parse_spec(raw)
        assert result.errors
        assert not any(secret in str(p) for p in result.errors + result.warnings)
