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
#: Known operator bug (reported with the soak branch): an MPUTask deleted while its start
#: is unconfirmed (state Starting, retryStart) finishes with the ledger still holding its
#: URL as *active*; ``Ledger.prune`` only forgets inactive uses, so a re-created MPUTask of
#: the same name and URL waits ``StreamURLInUse`` (naming itself) until the operator
#: restarts. Only this convergence failure is tolerated; every record check stays strict.
def test_small_soak_keeps_every_rule(tmp_path: Path) -> None:
    lines: list[str] = []
    summary = soak(Options(tasks=20, kills=2, seconds=10, seed=SEED, apps=2,
                           converge_seconds=30, work=tmp_path, out=lines.append))
    report = "\n".join([*lines, summary.line()])
    assert summary.kills >= 2, report
    assert (summary.url_violations, summary.duplicates, summary.leaks,
            summary.quota_breaches) == (0, 0, 0, 0), report
    assert summary.converged_s is not None, report
