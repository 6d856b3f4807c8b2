"""The #10 part 1 fields (overlays, per-media subscriptions, mixMode/single) and layoutRefs:
each range and cross-field rule with a case that passes and one that fails at the named
field, and the typed values the rest of the operator reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mpu_operator.api import MPUTaskSpec, parse_spec
from mpu_operator.api.spec import WIRE_MIX_MODE, WIRE_STREAM_TYPE

Edit = Callable[..., dict[str, Any]]

LOGO = {"url": "https://cdn.example.com/logo.png", "x": 0.85, "y": 0.05, "width": 0.1,
        "height": 0.1}
CLOCK = {"x": 0.02, "y": 0.95, "fontSize": 24}
PANE = {"paneId": 0, "userId": "amy"}
NAME_TEXT = {"text": "Amy (host)", "x": 0.0, "y": 0.9}


def parsed(raw: dict[str, Any]) -> MPUTaskSpec:
    result = parse_spec(raw)
    assert result.spec is not None, [str(p) for p in result.errors]
    return result.spec


PASSING: list[tuple[str, Any]] = [
    ("layout.backgrounds", [{"url": "https://cdn.example.com/bg.jpg"}]),
    ("layout.backgrounds", [{"url": "http://10.0.0.7:8080/bg.png?sig=abc", "x": 0, "y": 1,
                             "width": 0, "height": 1, "zOrder": 3, "display": 0}]),
    ("layout.watermarks", [LOGO]),
    ("layout.watermarks", [{**LOGO, "alpha": 0}, {**LOGO, "alpha": 1, "display": 2}]),
    ("layout.watermarks", [LOGO] * 16),
    ("layout.clockWidgets", [{}]),
    ("layout.clockWidgets", [{**CLOCK, "alpha": 0.5, "zOrder": 9, "fontType": 2,
                              "fontColor": "#ffcc00", "borderWidth": 2,
                              "borderColor": "#000000", "box": True, "boxColor": "#333333",
                              "boxBorderWidth": 1}]),
    ("layout.userPanes", [{**PANE, "images": [{"url": "https://h/p.png", "width": 1,
                                               "height": 0.2}] * 4}]),
    ("layout.userPanes", [{**PANE, "texts": [NAME_TEXT, {**NAME_TEXT, "text": "主持人 ✓"}]}]),
    ("layout.layoutRefs", [{"name": "two-up"}, {"name": "three.up"}]),
    ("subscribe", {"audioUsers": ["amy", "bob"], "cameraUsers": ["amy"]}),
    ("subscribe", {}),
    ("unsubscribe", {"shareScreenUsers": ["bob"], "audioUsers": ["carl"]}),
    ("mixMode", "Mix"),
]


@pytest.mark.parametrize(("path", "value"), PASSING, ids=[f"{p}={v!r:.40}" for p, v in PASSING])
def test_passing(edit: Edit, path: str, value: Any) -> None:
    result = parse_spec(edit(path, value))
    assert result.errors == [], [str(p) for p in result.errors]


FAILING: list[tuple[str, Any, str, str]] = [
    # images: URL rules
    ("layout.backgrounds", [{}], "layout.backgrounds[0].url", "required"),
    ("layout.backgrounds", [{"url": ""}], "layout.backgrounds[0].url", "must not be empty"),
    ("layout.backgrounds", [{"url": "ftp://h/bg.png"}], "layout.backgrounds[0].url",
     "http:// or https://"),
    ("layout.backgrounds", [{"url": "rtmp://h/bg"}], "layout.backgrounds[0].url",
     "http:// or https://"),
    ("layout.backgrounds", [{"url": "https://cdn.example.com"}], "layout.backgrounds[0].url",
     "a path to the image"),
    ("layout.backgrounds", [{"url": "https:///bg.png"}], "layout.backgrounds[0].url",
     "a host"),
    ("layout.backgrounds", [{"url": "https://h/bg.png\r\nX-Evil: 1"}],
     "layout.backgrounds[0].url", "without spaces or control characters"),
    ("layout.backgrounds", [{"url": "https://h/a b.png"}], "layout.backgrounds[0].url",
     "without spaces"),
    ("layout.backgrounds", [{"url": "https://h/" + "x" * 2048}], "layout.backgrounds[0].url",
     "at most 2048 characters"),
    ("layout.backgrounds", [{"url": "https://h:70000/a.png"}], "layout.backgrounds[0].url",
     "port must be between 1 and 65535"),
    ("layout.backgrounds", [{"url": "javascript:alert(1)"}], "layout.backgrounds[0].url",
     "http:// or https://"),
    # positions, sizes, alpha, layers, display
    ("layout.backgrounds", [{"url": "https://h/a.png", "x": 1.01}], "layout.backgrounds[0].x",
     "at most 1"),
    ("layout.backgrounds", [{"url": "https://h/a.png", "y": -0.5}], "layout.backgrounds[0].y",
     "at least 0"),
    ("layout.backgrounds", [{"url": "https://h/a.png", "width": "1"}],
     "layout.backgrounds[0].width", "number"),
    ("layout.backgrounds", [{"url": "https://h/a.png", "width": True}],
     "layout.backgrounds[0].width", "number"),
    ("layout.backgrounds", [{"url": "https://h/a.png", "height": float("nan")}],
     "layout.backgrounds[0].height", "at most 1"),
    ("layout.backgrounds", [{"url": "https://h/a.png", "height": float("inf")}],
     "layout.backgrounds[0].height", "at most 1"),
    ("layout.backgrounds", [{"url": "https://h/a.png", "zOrder": -1}],
     "layout.backgrounds[0].zOrder", "at least 0"),
    ("layout.backgrounds", [{"url": "https://h/a.png", "zOrder": 0.5}],
     "layout.backgrounds[0].zOrder", "must be an integer"),
    ("layout.backgrounds", [{"url": "https://h/a.png", "display": 3}],
     "layout.backgrounds[0].display", "at most 2"),
    ("layout.backgrounds", [{"url": "https://h/a.png", "alpha": 0.5}],
     "layout.backgrounds[0].alpha", "unknown field"),
    ("layout.backgrounds", [{"url": "https://h/a.png"}] * 17, "layout.backgrounds",
     "at most 16 items"),
    ("layout.watermarks", [{"url": "https://h/a.png"}], "layout.watermarks[0].width",
     "required"),
    ("layout.watermarks", [{**LOGO, "alpha": 1.5}], "layout.watermarks[0].alpha", "at most 1"),
    ("layout.watermarks", [{**LOGO, "alpha": -0.1}], "layout.watermarks[0].alpha",
     "at least 0"),
    ("layout.watermarks", [{**LOGO, "Alpha": 1}], "layout.watermarks[0].Alpha",
     "did you mean alpha?"),
    ("layout.watermarks", [LOGO] * 17, "layout.watermarks", "at most 16 items"),
    # clocks and texts
    ("layout.clockWidgets", [{"fontColor": "white"}], "layout.clockWidgets[0].fontColor",
     "#RRGGBB"),
    ("layout.clockWidgets", [{"boxColor": None}], "layout.clockWidgets[0].boxColor",
     "must not be null"),
    ("layout.clockWidgets", [{"fontSize": None}], "layout.clockWidgets[0].fontSize",
     "must not be null"),
    ("layout.clockWidgets", [{"fontSize": 0}], "layout.clockWidgets[0].fontSize",
     "at least 1"),
    ("layout.clockWidgets", [{"borderWidth": -1}], "layout.clockWidgets[0].borderWidth",
     "at least 0"),
    ("layout.clockWidgets", [{"box": "yes"}], "layout.clockWidgets[0].box",
     "must be true or false"),
    ("layout.clockWidgets", [{"fontType": 2**31}], "layout.clockWidgets[0].fontType",
     "at most 2147483647"),
    ("layout.clockWidgets", [{"text": "12:00"}], "layout.clockWidgets[0].text",
     "unknown field"),
    ("layout.clockWidgets", [CLOCK] * 17, "layout.clockWidgets", "at most 16 items"),
    ("layout.userPanes", [{**PANE, "texts": [{}]}], "layout.userPanes[0].texts[0].text",
     "required"),
    ("layout.userPanes", [{**PANE, "texts": [{"text": ""}]}],
     "layout.userPanes[0].texts[0].text", "must not be empty"),
    ("layout.userPanes", [{**PANE, "texts": [{"text": "a\nb"}]}],
     "layout.userPanes[0].texts[0].text", "one line of text without control characters"),
    ("layout.userPanes", [{**PANE, "texts": [{"text": "\x1b[2J"}]}],
     "layout.userPanes[0].texts[0].text", "without control characters"),
    ("layout.userPanes", [{**PANE, "texts": [{"text": "x" * 129}]}],
     "layout.userPanes[0].texts[0].text", "at most 128 characters"),
    ("layout.userPanes", [{**PANE, "texts": [NAME_TEXT] * 5}], "layout.userPanes[0].texts",
     "at most 4 items"),
    ("layout.userPanes", [{**PANE, "images": [{"url": "file:///etc/passwd", "width": 1,
                                               "height": 1}]}],
     "layout.userPanes[0].images[0].url", "http:// or https://"),
    ("layout.userPanes", [{**PANE, "images": [{"url": "https://h/a.png"}]}],
     "layout.userPanes[0].images[0].width", "required"),
    ("layout.userPanes", [{**PANE, "images": [{**LOGO, "alpha": 1}]}],
     "layout.userPanes[0].images[0].alpha", "unknown field"),
    ("layout.userPanes", [{**PANE, "images": [LOGO] * 5}], "layout.userPanes[0].images",
     "at most 4 items"),
    # layoutRefs
    ("layout.layoutRefs", [{"name": "Two_Up"}], "layout.layoutRefs[0].name",
     "Kubernetes object name"),
    ("layout.layoutRefs", [{}], "layout.layoutRefs[0].name", "required"),
    ("layout.layoutRefs", [{"name": "a"}, {"name": "b"}, {"name": "a"}],
     "layout.layoutRefs[2].name", "names the same MPULayout as layout.layoutRefs[0]"),
    ("layout.layoutRefs", [{"name": f"l{i}"} for i in range(14)], "layout.layoutRefs",
     "layoutIds and layoutRefs together must have at most 16 items (they have 17)"),
    ("layout.layoutRefs", [{"name": f"l{i}"} for i in range(17)], "layout.layoutRefs",
     "at most 16 items"),
    ("layout.layoutRefs", {"name": "a"}, "layout.layoutRefs", "must be a list"),
    # subscriptions
    ("subscribe", {"audioUsers": ["amy", "amy"]}, "subscribe.audioUsers[1]",
     "repeats subscribe.audioUsers[0]"),
    ("subscribe", {"cameraUsers": [f"u{i}" for i in range(17)]}, "subscribe.cameraUsers",
     "at most 16 items"),
    ("subscribe", {"shareScreenUsers": ["a b"]}, "subscribe.shareScreenUsers[0]",
     "letters, digits, '_' and '-'"),
    ("subscribe", {"shareScreenUsers": ["u" * 65]}, "subscribe.shareScreenUsers[0]",
     "at most 64 characters"),
    ("subscribe", {"videoUsers": ["amy"]}, "subscribe.videoUsers", "unknown field"),
    ("subscribe", ["amy"], "subscribe", "must be an object"),
    ("unsubscribe", {"cameraUsers": ["bob", "bob"]}, "unsubscribe.cameraUsers[1]",
     "repeats unsubscribe.cameraUsers[0]"),
    ("unsubscribe", {"audioUsers": [""]}, "unsubscribe.audioUsers[0]", "must not be empty"),
    # mixMode
    ("mixMode", "mix", "mixMode", "'Mix' or 'Single'"),
    ("mixMode", 1, "mixMode", "'Mix' or 'Single'"),
    ("single", {"sourceType": "camera"}, "single", "only allowed when mixMode is Single"),
    ("single", None, "single", "must not be null"),
    ("single", {"streamType": "Audio"}, "single.streamType",
     "'AudioVideo', 'AudioOnly' or 'VideoOnly'"),
    ("single", {"sourceType": "tv"}, "single.sourceType", "'camera' or 'shareScreen'"),
]


@pytest.mark.parametrize(("path", "value", "field", "words"), FAILING,
                         ids=[f"{p}={v!r:.40}" for p, v, _, _ in FAILING])
def test_failing(edit: Edit, path: str, value: Any, field: str, words: str) -> None:
    result = parse_spec(edit(path, value))
    assert result.spec is None and not result.ok
    blamed = [p for p in result.errors if p.field == field]
    assert blamed, f"no error at {field}: {[str(p) for p in result.errors]}"
    assert any(words in p.rule for p in blamed), [str(p) for p in blamed]


def test_image_url_is_never_quoted(edit: Edit) -> None:
    signed = "https://bucket.oss.example.com/logo.png?Signature=SECRETSIG\n"
    errors = parse_spec(edit("layout.watermarks", [{**LOGO, "url": signed}])).errors
    assert errors and all("SECRETSIG" not in str(p) for p in errors)


# --- layoutIds and layoutRefs ------------------------------------------------------------

def test_layout_refs_alone_are_enough(edit: Edit) -> None:
    spec = parsed(edit("layout", {"layoutRefs": [{"name": "two-up"}]}))
    assert spec.layout.layout_ids == [] and spec.layout.ref_names == ("two-up",)


def test_neither_layout_ids_nor_refs_is_an_error(edit: Edit) -> None:
    assert [str(p) for p in parse_spec(edit("layout", {})).errors] == [
        "layout.layoutIds: required: set layoutIds or layoutRefs (or both)"]


def test_sixteen_in_all_pass(edit: Edit) -> None:
    refs = [{"name": f"l{i}"} for i in range(13)]
    assert parse_spec(edit("layout.layoutRefs", refs)).ok  # 3 ids + 13 refs


def test_a_layout_ref_counts_as_a_custom_layout(edit: Edit) -> None:
    """Its panes are unknown here: no pane-id bound, and Auto is left to the operator (it
    picks from the MPULayout's panes once it reads them), so no warning."""
    raw = edit("layout", {"layoutIds": [6], "layoutRefs": [{"name": "big"}],
                          "userPanes": [{"paneId": 12, "userId": "u"}]})
    result = parse_spec(raw)
    assert result.ok and result.spec is not None
    assert result.spec.resolved_profile() == "16IN_720P"
    assert result.warnings == []
    # a named profile must cover the known layouts; the MPULayout's panes are judged later
    raw["encoding"]["taskProfile"] = "4IN_720P"
    assert parse_spec(raw).ok
    raw["encoding"]["taskProfile"] = "2IN_720P"
    assert [str(p) for p in parse_spec(raw).errors] == [
        "encoding.taskProfile: layouts need 4 panes but 2IN_720P mixes at most 2 inputs"]


def test_known_layouts_still_bound_the_pane_ids_without_refs(edit: Edit) -> None:
    raw = edit("layout", {"layoutIds": [6], "userPanes": [{"paneId": 12, "userId": "u"}]})
    assert [p.field for p in parse_spec(raw).errors] == ["layout.userPanes[0].paneId"]


# --- subscriptions -----------------------------------------------------------------------

def test_subscribed_and_unsubscribed_to_the_same_media_is_an_error(edit: Edit) -> None:
    raw = edit("subscribe", {"audioUsers": ["amy", "bob"]})
    raw["unsubscribe"] = {"audioUsers": ["carl", "bob"], "cameraUsers": ["amy"]}
    assert [str(p) for p in parse_spec(raw).errors] == [
        "unsubscribe.audioUsers[1]: this user is also in subscribe.audioUsers; a user cannot "
        "be both subscribed and unsubscribed"]


def test_subscribe_users_keeps_accepting_a_repeat(edit: Edit) -> None:
    """subscribeUsers predates the repeat rule; a manifest that passed must still pass."""
    assert parse_spec(edit("subscribeUsers", ["amy", "amy"])).ok


# --- mixMode ------------------------------------------------------------------------------

def single(edit: Edit, **changes: Any) -> dict[str, Any]:
    raw = edit("mixMode", "Single")
    raw.update({"single": {"sourceType": "shareScreen", "streamType": "AudioOnly"},
                "subscribeUsers": ["amy"]}, **changes)
    return {k: v for k, v in raw.items() if v is not ...}


def test_single_mode(edit: Edit) -> None:
    spec = parsed(single(edit))
    assert spec.mix_mode == "Single" and spec.single is not None
    assert (spec.single.source_type, spec.single.stream_type) == ("shareScreen", "AudioOnly")
    assert (WIRE_MIX_MODE[spec.mix_mode], WIRE_STREAM_TYPE[spec.single.stream_type]) == (0, 1)


def test_single_defaults(edit: Edit) -> None:
    spec = parsed(single(edit, single={}))
    assert spec.single is not None
    assert (spec.single.source_type, spec.single.stream_type) == ("camera", "AudioVideo")


def test_single_mode_needs_single_and_one_user(edit: Edit) -> None:
    assert [str(p) for p in parse_spec(single(edit, single=..., subscribeUsers=...)).errors] == [
        "single: required when mixMode is Single: set single.sourceType and single.streamType",
        "subscribeUsers: mixMode Single relays one user's stream: list exactly one user "
        "(the list has 0)"]
    two = parse_spec(single(edit, subscribeUsers=["amy", "bob"])).errors
    assert [p.field for p in two] == ["subscribeUsers"] and "(the list has 2)" in two[0].rule


def test_single_mode_warns_that_overlays_are_ignored(edit: Edit) -> None:
    raw = single(edit)
    raw["layout"] = {"layoutIds": [1], "watermarks": [LOGO], "userPanes": [PANE]}
    result = parse_spec(raw)
    assert result.ok
    assert [str(p) for p in result.warnings] == [
        "layout.watermarks: ignored when mixMode is Single (the stream is relayed without "
        "mixing)",
        "layout.userPanes: ignored when mixMode is Single (the stream is relayed without "
        "mixing)"]


def test_mix_is_the_default(valid: dict[str, Any]) -> None:
    spec = parsed(valid)
    assert spec.mix_mode == "Mix" and spec.single is None
    assert not spec.subscribe and not spec.unsubscribe
    assert spec.layout.backgrounds == [] and spec.layout.watermarks == []
    assert spec.layout.clock_widgets == [] and spec.layout.layout_refs == []


# --- typed access ---------------------------------------------------------------------------

def test_every_new_value_reads_back_typed(edit: Edit) -> None:
    raw = edit("layout", {
        "layoutIds": [6], "layoutRefs": [{"name": "stage"}],
        "backgrounds": [{"url": "https://h/bg.jpg"}],
        "watermarks": [{**LOGO, "alpha": 0.8, "zOrder": 2, "display": 2}],
        "clockWidgets": [CLOCK],
        "userPanes": [{**PANE, "images": [{"url": "https://h/p.png", "width": 1, "height": 1}],
                       "texts": [NAME_TEXT]}]})
    raw["subscribe"] = {"audioUsers": ["amy"], "shareScreenUsers": ["bob"]}
    raw["unsubscribe"] = {"cameraUsers": ["carl"]}
    spec = parsed(raw)
    layout = spec.layout
    background = layout.backgrounds[0]
    assert (background.url, background.x, background.y, background.width, background.height,
            background.z_order, background.display) == ("https://h/bg.jpg", 0, 0, 1, 1, 0, 1)
    mark = layout.watermarks[0]
    assert (mark.x, mark.y, mark.width, mark.height, mark.alpha, mark.z_order, mark.display) == (
        0.85, 0.05, 0.1, 0.1, 0.8, 2, 2)
    clock = layout.clock_widgets[0]
    assert (clock.x, clock.y, clock.font_size, clock.font_type, clock.font_color, clock.alpha,
            clock.border_width, clock.border_color, clock.box, clock.box_color,
            clock.box_border_width) == (0.02, 0.95, 24, 0, "#FFFFFF", 1, 0, "#000000", False,
                                        "#000000", 0)
    pane = layout.user_panes[0]
    assert pane.images[0].url == "https://h/p.png" and pane.texts[0].text == "Amy (host)"
    assert pane.texts[0].font_size is None  # left to the service
    assert layout.ref_names == ("stage",)
    assert spec.subscribe.as_lists() == {"audioUsers": ("amy",), "cameraUsers": (),
                                         "shareScreenUsers": ("bob",)}
    assert spec.unsubscribe.camera_users == ["carl"]
    assert isinstance(mark.x, float) and isinstance(background.width, float)


def test_integers_are_accepted_for_fractions(edit: Edit) -> None:
    """YAML writes 0 and 1 as integers; the CRD's number type takes them, so must we."""
    spec = parsed(edit("layout.watermarks", [{**LOGO, "x": 0, "y": 1, "alpha": 1}]))
    assert (spec.layout.watermarks[0].x, spec.layout.watermarks[0].y) == (0.0, 1.0)
