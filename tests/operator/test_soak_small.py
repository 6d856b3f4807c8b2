"""The soak, small: 20 MPUTasks, 2 SIGKILLs, 10 s of chaos (``make soak`` is the big one).

Everything ``tests/soak.py`` does, on a fixed seed so CI sees the same run each time: the
record must show no URL-rule violation, no duplicate task, no leak and no quota breach,
and every surviving MPUTask must settle once the faults stop.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.soak import Options, soak

pytestmark = pytest.mark.integration

SEED = 1
#: The issue's bound. Not 30: a start written ahead and killed before it was sent, then
#: made stale by an edit of an immutable field, is rightly watched for the whole 30 s
#: unknown-start window before its successor starts (seen once in CI at 30).
CONVERGE_SECONDS = 60


def test_small_soak_keeps_every_rule(tmp_path: Path) -> None:
    lines: list[str] = []
    summary = soak(Options(tasks=20, kills=2, seconds=10, seed=SEED, apps=2,
                           converge_seconds=CONVERGE_SECONDS, work=tmp_path, out=lines.append))
    report = "\n".join([*lines, summary.line()])
    assert summary.kills >= 2, report
    assert (summary.url_violations, summary.duplicates, summary.leaks,
            summary.quota_breaches) == (0, 0, 0, 0), report
    assert summary.converged_s is not None, report
