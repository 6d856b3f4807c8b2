"""Argo CD's Lua health runner, rebuilt on a real Lua 5.1 (lupa) for our tests.

Mirrors argoproj/argo-cd ``util/lua/lua.go`` (``VM.runLua`` and ``ExecuteHealthLua``) and
``util/lua/health_test.go`` (``TestLuaHealthScript``), read at commit 37ee0097cf85:

* gopher-lua implements Lua 5.1, so we run ``lupa.lua51``;
* production VMs skip the standard libraries and open only package, base, table and a
  "safe" os (``time``, ``date``); we do the same, stricter than upstream's own test (which
  sets ``UseOpenLibs: true``), so a script that needs the string library fails here as it
  would in a real argocd-application-controller;
* the object is the global ``obj``: maps become tables, lists 1-based arrays, numbers Lua
  numbers, null values absent (``decodeValue``); YAML is read like sigs.k8s.io/yaml (no
  timestamp types);
* the returned table is read as ``{status, message}``; a status outside Argo CD's health
  codes becomes ``Unknown`` / "Lua returned an invalid health status", ``nil`` an empty one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

try:
    import lupa.lua51 as lua51  # type: ignore[import-untyped]  # the Lua of gopher-lua

    LuaError: type[Exception] = lua51.LuaError
except ImportError:  # pragma: no cover - lupa is in the [test] extra
    lua51 = None
    LuaError = Exception

HEALTH_CODES = frozenset({"Unknown", "Progressing", "Suspended", "Healthy", "Degraded",
                          "Missing"})
INVALID = "Lua returned an invalid health status"

# Argo CD's production sandbox: drop what it does not open; its os keeps time and date only.
_SANDBOX = """
local safe_os = {time = os.time, date = os.date}
getmetatable("").__index = nil  -- no string library: ("x"):sub() fails as in gopher-lua
string, io, math, debug, coroutine, dofile, loadfile = nil, nil, nil, nil, nil, nil, nil
os = safe_os
"""


@dataclass(frozen=True)
class HealthStatus:
    status: str = ""
    message: str = ""


class KubeYamlLoader(yaml.SafeLoader):
    """PyYAML without the timestamp type: sigs.k8s.io/yaml leaves timestamps strings."""


KubeYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_object(path: Path) -> dict[str, Any]:
    obj = yaml.load(path.read_text(encoding="utf-8"), Loader=KubeYamlLoader)
    assert isinstance(obj, dict), f"{path}: not one YAML object"
    return obj


def available() -> bool:
    return lua51 is not None


def execute_health_lua(obj: dict[str, Any], script: str) -> HealthStatus:
    """Run ``script`` on ``obj`` as Argo CD does; raise on a Lua error, like upstream."""
    assert lua51 is not None, "lupa is not installed"
    runtime = lua51.LuaRuntime(register_eval=False, register_builtins=False)
    runtime.execute(_SANDBOX)
    runtime.globals()["obj"] = _to_lua(runtime, obj)
    result = runtime.execute(script)
    if result is None:
        return HealthStatus()
    if lua51.lua_type(result) != "table":
        raise TypeError(f"expect table output from health script, got {lua51.lua_type(result)}")
    status, message = result["status"], result["message"]
    if status not in HEALTH_CODES:
        return HealthStatus("Unknown", INVALID)
    return HealthStatus(str(status), "" if message is None else str(message))


def _to_lua(runtime: Any, value: Any) -> Any:
    if isinstance(value, dict):
        return runtime.table_from({k: _to_lua(runtime, v) for k, v in value.items()
                                   if v is not None})
    if isinstance(value, list):
        return runtime.table_from([_to_lua(runtime, v) for v in value])
    return value
