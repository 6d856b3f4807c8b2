"""The spec's overlay, subscription and mix-mode fields reach StartMPUTask and
UpdateMPUTask (controller/desired.py), read off the overlays and single samples."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import yaml

from mpu_operator.api.spec import MPUTaskSpec, parse_spec
from mpu_operator.controller.desired import live_params, resolve
from mpu_operator.core import fingerprint
from mpu_operator.core.model import Record
from mpu_operator.rtc.credentials import Credentials

SAMPLES = Path(__file__).parents[2] / "deploy" / "samples" / "features"
URL = "rtmp://push.example.com/live/x?auth_key=K"


def _spec(sample: str) -> MPUTaskSpec:
    docs = list(yaml.safe_load_all((SAMPLES / sample).read_text()))
    [task] = [d for d in docs if d["kind"] == "MPUTask"]
    raw: dict[str, Any] = {**task["spec"], "streamURL": URL}
    raw.pop("streamURLFrom")
    result = parse_spec(raw)
    assert result.spec is not None, result.errors
    return result.spec


def _resolve(spec: MPUTaskSpec) -> Any:
    meta = {"namespace": "ns", "name": "show", "uid": "u"}
    return asyncio.run(resolve(spec, meta, Record(), None, Credentials("id", "secret"))).desired


def test_a_start_carries_every_overlay_and_subscription() -> None:
    d = _resolve(_spec("mputask-overlays.yaml"))
    assert d.start is not None and d.task is not None
    query = d.start.to_query()
    assert query["Backgrounds.1.Url"] == "https://cdn.example.com/show/backdrop.jpg"
    assert query["Backgrounds.1.Width"] == "1.0"
    assert (query["Watermarks.1.Alpha"], query["Watermarks.1.ZOrder"]) == ("0.8", "10")
    assert query["ClockWidgets.1.FontSize"] == "24"
    assert query["ClockWidgets.1.Box"] == "True"
    assert query["ClockWidgets.1.FontColor"] == str(0xFFFFFF)
    assert query["UserPanes.1.Images.1.Url"] == "https://cdn.example.com/show/plate.png"
    assert query["UserPanes.1.Texts.1.Text"] == "Host"
    assert query["UserPanes.1.Texts.1.FontColor"] == str(0xFF + 0xCC * 256)
    assert "UserPanes.2.Images.1.Url" not in query
    assert (query["SubSpecAudioUsers.1"], query["SubSpecAudioUsers.2"]) == ("host", "guest")
    assert query["UnsubSpecShareScreenUsers.1"] == "guest"
    assert d.start.update_params() == d.task, "a start carries what an update would"
    assert d.layout == d.task.layout


def test_the_task_params_do_not_need_the_url() -> None:
    """A missing URL Secret blocks only the next start: overlays still change live."""
    spec = _spec("mputask-overlays.yaml")
    task = live_params(spec, spec.layout_params())
    assert task == _resolve(spec).task
    assert fingerprint.task_fingerprint(task) != fingerprint.task_baseline(task)


def test_a_single_stream_carries_its_mode_and_source() -> None:
    d = _resolve(_spec("mputask-single.yaml"))
    assert d.start is not None
    query = d.start.to_query()
    assert (query["MixMode"], query["SourceType"], query["StreamType"]) == ("1", "camera", "1")
    assert query["SubSpecUsers.1"] == "host"


def test_a_spec_without_overlays_starts_as_before_them() -> None:
    spec = _spec("mputask-overlays.yaml")
    plain = spec.model_copy(update={"layout": spec.layout.model_copy(update={
        "backgrounds": [], "watermarks": [], "clock_widgets": [], "user_panes": []}),
        "subscribe": type(spec.subscribe)(), "unsubscribe": type(spec.unsubscribe)()})
    d = _resolve(plain)
    assert d.task is not None
    assert fingerprint.task_fingerprint(d.task) == fingerprint.task_baseline(d.task)
    assert not [k for k in d.start.to_query() if "Watermarks" in k or "SubSpec" in k]
