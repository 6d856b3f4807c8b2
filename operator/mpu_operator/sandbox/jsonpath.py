"""The JSONPath subset that CRD printer columns use (client-go's ``util/jsonpath``).

Printer columns (``additionalPrinterColumns[].jsonPath``) are "simple" paths: fields,
indexes, ``[*]`` and equality filters such as ``.status.conditions[?(@.type=="Ready")].status``.
That is all this module evaluates; anything else raises :class:`ValueError`, so a CRD using
more is noticed rather than shown blank.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_TOKEN = re.compile(
    r"""\.(?P<field>[A-Za-z0-9_$-]+)"""
    r"""|\[(?P<index>-?\d+)\]"""
    r"""|\[(?P<star>\*)\]"""
    r"""|\[['"](?P<quoted>[^'"]+)['"]\]"""
    r"""|\[\?\(@(?P<fpath>(?:\.[A-Za-z0-9_$-]+)+)\s*(?P<op>==|!=)\s*"""
    r"""(?P<fvalue>"[^"]*"|'[^']*'|[^)\s]+)\)\]""")

Step = Callable[[Any], list[Any]]


def compile_path(path: str) -> Callable[[Any], list[Any]]:
    """Compile ``.a.b[0]`` or ``{.a.b}``; the result maps a document to all matches."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    steps: list[Step] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ValueError(f"unsupported JSONPath {path!r} at {text[pos:]!r}")
        steps.append(_step(match))
        pos = match.end()

    def evaluate(doc: Any) -> list[Any]:
        values = [doc]
        for step in steps:
            values = [out for value in values for out in step(value)]
        return values
    return evaluate


def find(doc: Any, path: str) -> list[Any]:
    """All values at ``path`` in ``doc`` (an empty list if none)."""
    return compile_path(path)(doc)


def _step(match: re.Match[str]) -> Step:
    if match["field"] is not None or match["quoted"] is not None:
        return _field(match["field"] or match["quoted"])
    if match["index"] is not None:
        return _index(int(match["index"]))
    if match["star"] is not None:
        return _all
    return _filter(match["fpath"], match["op"], _literal(match["fvalue"]))


def _field(name: str) -> Step:
    return lambda value: [value[name]] if isinstance(value, dict) and name in value else []


def _index(i: int) -> Step:
    def step(value: Any) -> list[Any]:
        if isinstance(value, list) and -len(value) <= i < len(value):
            return [value[i]]
        return []
    return step


def _all(value: Any) -> list[Any]:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return list(value.values())
    return []


def _filter(fpath: str, op: str, wanted: Any) -> Step:
    inner = compile_path(fpath)

    def keep(item: Any) -> bool:
        found = inner(item)
        hit = bool(found) and _same(found[0], wanted)
        return hit if op == "==" else not hit

    return lambda value: [item for item in value if keep(item)] if isinstance(value, list) else []


def _literal(raw: str) -> Any:
    if raw[:1] in "\"'":
        return raw[1:-1]
    try:
        return int(raw)
    except ValueError:
        return {"true": True, "false": False}.get(raw, raw)


def _same(found: Any, wanted: Any) -> bool:
    return found == wanted or str(found) == str(wanted)
