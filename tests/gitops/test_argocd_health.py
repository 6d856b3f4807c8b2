"""deploy/argocd/health.lua, tested the way Argo CD tests its own health scripts.

Upstream's ``util/lua/health_test.go`` walks ``resource_customizations`` for ``health.lua``
and runs every case of the ``health_test.yaml`` beside it on its ``testdata/`` object; we
do the same for ``deploy/argocd`` under a real Lua 5.1 with Argo CD's production sandbox
(tests/gitops/argocd_lua.py). The testdata must be what the operator really writes: each
status is checked to be a fixed point of the operator's own ``status.render``.
"""

from __future__ import annotations

import copy
import io
import itertools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from mpu_operator.api.validate import main as validate_main
from mpu_operator.core.model import Phase, Record
from mpu_operator.core.status import View, record_from_status, record_to_status, render
from tests.gitops import argocd_lua

REPO = Path(__file__).resolve().parents[2]
ARGOCD = REPO / "deploy" / "argocd"
CM_KEY = "resource.customizations.health.mpu-operator.io_MPUTask"
_NOW = datetime(2027, 1, 1, tzinfo=UTC)  # any time: an unchanged condition keeps its own

pytestmark = pytest.mark.skipif(not argocd_lua.available(),
                                reason="lupa (a real Lua runtime) is not installed: "
                                       "pip install -e '.[test]'")

#: Shapes the operator does not write yet, with why (their realism check is xfail strict:
#: it starts failing, as a reminder, the day the operator writes them).
NOT_YET_WRITTEN: dict[str, str] = {}

#: The status fields of issue #11's failover core (status.render writes them for every
#: task). The testdata carries them; issue #11 lands in two branches (the API's and the
#: core's), and until the core is merged the operator does not write them, so they are
#: left out of the comparison. Once both are merged the condition is false: drop it.
FAILOVER_FIELDS = ("activeStreamURL", "failovers")
FAILOVER_INTERNAL = ("urlIndex", "urlFailures", "releasedKey", "releasedAt")
FAILOVER_NOT_YET_WRITTEN = "failovers" not in record_to_status(Record())


def _cases() -> list[tuple[Path, dict[str, Any]]]:
    """(folder, case) for every health.lua under deploy/, as Argo CD's test walks them."""
    found = []
    for script in sorted((REPO / "deploy").rglob("health.lua")):
        tests = yaml.safe_load((script.parent / "health_test.yaml").read_text())["tests"]
        found += [(script.parent, case) for case in tests]
    return found


CASES = _cases()


@pytest.mark.parametrize(("folder", "case"), CASES,
                         ids=[c["inputPath"].removeprefix("testdata/") for _, c in CASES])
def test_lua_health_script(folder: Path, case: dict[str, Any]) -> None:
    script = (folder / "health.lua").read_text()
    obj = argocd_lua.load_object(folder / case["inputPath"])
    want = argocd_lua.HealthStatus(case["healthStatus"]["status"],
                                   case["healthStatus"].get("message", ""))
    assert argocd_lua.execute_health_lua(obj, script) == want


def test_every_testdata_file_has_a_case() -> None:
    used = {c["inputPath"] for _, c in CASES}
    files = {f"testdata/{p.name}" for p in (ARGOCD / "testdata").glob("*.yaml")}
    assert used == files
    assert {c["healthStatus"]["status"] for _, c in CASES} == {
        "Healthy", "Progressing", "Degraded", "Suspended"}


def test_argocd_cm_snippet_is_health_lua() -> None:
    cm = yaml.safe_load((ARGOCD / "argocd-cm.yaml").read_text())
    assert (cm["kind"], cm["metadata"]["name"]) == ("ConfigMap", "argocd-cm")
    assert cm["data"][CM_KEY] == (ARGOCD / "health.lua").read_text()


def test_sandbox_is_argo_cds() -> None:
    """What Argo CD does not open fails here too, so the script cannot come to rely on it."""
    obj = {"metadata": {"name": "x"}}
    for script in ('return {status = string.upper("healthy")}',
                   'return {status = ("Healthy"):sub(1)}',
                   'return {status = tostring(math.floor(1))}',
                   'io.write("x")'):
        with pytest.raises(argocd_lua.LuaError):
            argocd_lua.execute_health_lua(obj, script)
    assert argocd_lua.execute_health_lua(obj, 'return {status = "Bogus"}') == \
        argocd_lua.HealthStatus("Unknown", argocd_lua.INVALID)
    assert argocd_lua.execute_health_lua(obj, "return nil") == argocd_lua.HealthStatus()


def test_script_is_order_sensitive_as_documented() -> None:
    """Stalled beats Suspended and Ready; an old generation beats everything but deletion."""
    script = (ARGOCD / "health.lua").read_text()
    obj = argocd_lua.load_object(ARGOCD / "testdata" / "suspended.yaml")
    stalled = copy.deepcopy(obj)
    _condition(stalled, "Stalled")["status"] = "True"
    assert argocd_lua.execute_health_lua(stalled, script).status == "Degraded"
    stale = copy.deepcopy(stalled)
    stale["metadata"]["generation"] += 1
    assert argocd_lua.execute_health_lua(stale, script).status == "Progressing"


@pytest.mark.parametrize("name", sorted(p.name for p in (ARGOCD / "testdata").glob("*.yaml")))
def test_testdata_status_is_what_the_operator_writes(name: str) -> None:
    if name in NOT_YET_WRITTEN:
        pytest.xfail(NOT_YET_WRITTEN[name])
    obj = argocd_lua.load_object(ARGOCD / "testdata" / name)
    status = obj.get("status")
    if status is None:
        return  # nothing written yet: the "no status" case
    if FAILOVER_NOT_YET_WRITTEN:
        status = _without_failover(status)
    assert _rerendered(status) == status, (
        f"{name}: no View makes the operator's status.render write this status")


def test_not_yet_written_shapes_are_flagged() -> None:
    """The xfail above is strict in effect: a written shape must leave NOT_YET_WRITTEN."""
    for name, why in NOT_YET_WRITTEN.items():
        status = argocd_lua.load_object(ARGOCD / "testdata" / name)["status"]
        assert _rerendered(status) != status, f"{name} is written now ({why}): move it out"


def test_running_on_a_backup_is_healthy_and_says_so() -> None:
    """Whatever the Ready message, RunningOnBackup is Healthy and named as a backup; a
    hostile activeStreamURL (not a string) does not break the script."""
    script = (ARGOCD / "health.lua").read_text()
    obj = argocd_lua.load_object(ARGOCD / "testdata" / "healthy_running_on_backup.yaml")
    for url, shown in (("rtmp://b/x", " (rtmp://b/x)"), ("", ""), (None, ""),
                       ({"a": 1}, ""), (7, "")):
        copied = copy.deepcopy(obj)
        copied["status"]["activeStreamURL"] = url
        _condition(copied, "Ready")["message"] = "live"
        assert argocd_lua.execute_health_lua(copied, script) == argocd_lua.HealthStatus(
            "Healthy", f"Running on a backup stream URL{shown}: live")
    on_primary = copy.deepcopy(obj)
    _condition(on_primary, "Ready")["reason"] = "Running"
    assert not argocd_lua.execute_health_lua(on_primary, script).message.startswith(
        "Running on a backup")
    backing_off = copy.deepcopy(obj)
    _condition(backing_off, "Ready")["status"] = "False"
    assert argocd_lua.execute_health_lua(backing_off, script).status == "Progressing"


def test_testdata_specs_pass_mpu_operator_validate() -> None:
    """Every testdata spec is one the operator accepts, and `validate deploy/` stays clean."""
    out = io.StringIO()
    assert validate_main([str(REPO / "deploy")], out=out) == 0, out.getvalue()


def _rerendered(status: dict[str, Any]) -> dict[str, Any] | None:
    """The status render() writes for the View this status implies (None when none fits).

    suspend and in_sync are not stored, so both values of each are tried. Null fields are
    dropped: the operator writes status with a JSON merge patch, which deletes them.
    """
    ready = _condition({"status": status}, "Ready")
    stalled = _condition({"status": status}, "Stalled")["status"] == "True"
    record = record_from_status(status)
    for suspend, in_sync in itertools.product((False, True), (True, False)):
        view = View(phase=Phase(status["phase"]), reason=ready["reason"],
                    message=status["message"], stalled=stalled, suspend=suspend,
                    contending=status["internal"]["contending"], in_sync=in_sync)
        written = _prune(render(record, view, generation=status["observedGeneration"],
                                stream_url=status.get("streamURL"), previous=status,
                                now=_NOW))
        if written == status:
            return written
    return None


def _without_failover(status: dict[str, Any]) -> dict[str, Any]:
    trimmed = {k: v for k, v in status.items() if k not in FAILOVER_FIELDS}
    trimmed["internal"] = {k: v for k, v in status["internal"].items()
                           if k not in FAILOVER_INTERNAL}
    return trimmed


def _condition(obj: dict[str, Any], ctype: str) -> dict[str, Any]:
    found = [c for c in obj["status"]["conditions"] if c["type"] == ctype]
    assert len(found) == 1, f"expected one {ctype} condition"
    return found[0]


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value
