"""The samples in deploy/samples/ are what users copy: each must pass ``mpu-operator
validate`` without a word, and must still show the fields it is there to show.

Feature samples live in deploy/samples/features/: ``kubectl apply -f deploy/samples/`` (the
demo, the sandbox tests) is not recursive and applies only the one demo task, whose push
URL a second task would contend for."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import yaml

from mpu_operator.api import parse_spec
from mpu_operator.api.validate import main

SAMPLES = Path(__file__).resolve().parents[2] / "deploy" / "samples"


def mputasks(path: Path) -> list[dict[str, Any]]:
    docs = yaml.safe_load_all(path.read_text())
    return [d for d in docs if isinstance(d, dict) and d.get("kind") == "MPUTask"]


@pytest.mark.parametrize("path", sorted(SAMPLES.rglob("*.yaml")),
                         ids=lambda p: str(p.relative_to(SAMPLES)))
def test_sample_passes_validate_silently(path: Path) -> None:
    out = io.StringIO()
    assert main([str(path)], out) == 0 and out.getvalue() == "", out.getvalue()


def test_the_overlays_sample_shows_every_overlay_and_subscription() -> None:
    [task] = mputasks(SAMPLES / "features" / "mputask-overlays.yaml")
    result = parse_spec(task["spec"])
    assert result.spec is not None and result.warnings == []
    layout = result.spec.layout
    assert layout.backgrounds and layout.watermarks and layout.clock_widgets
    assert layout.user_panes[0].images and layout.user_panes[0].texts
    assert result.spec.subscribe and result.spec.unsubscribe


def test_the_single_sample_is_a_single_stream() -> None:
    [task] = mputasks(SAMPLES / "features" / "mputask-single.yaml")
    result = parse_spec(task["spec"])
    assert result.spec is not None and result.warnings == []
    assert result.spec.mix_mode == "Single" and result.spec.single is not None


def test_the_backup_sample_has_a_backup_and_a_failover() -> None:
    [task] = mputasks(SAMPLES / "features" / "mputask-backup.yaml")
    result = parse_spec(task["spec"])
    assert result.spec is not None and result.warnings == []
    assert result.spec.backup_stream_urls_from and result.spec.failover is not None
    assert result.spec.failover_codes() == frozenset({5, 6})
