"""``mpu-operator validate PATH...``: judge MPUTask manifests offline, as the operator would.

Made for GitOps pipelines: it reads files and folders (``*.yaml``, ``*.yml``, ``*.json``,
multi-document YAML, ``kind: List``), skips everything that is not an MPUTask, and runs
exactly the operator's rules (:func:`~mpu_operator.api.spec.parse_spec`). One line per
problem, grep-able and stable::

    FILE: NAMESPACE/NAME: FIELD: RULE
    FILE: NAMESPACE/NAME: warning: FIELD: RULE

Exit status 0 when nothing is wrong (warnings do not fail), 1 otherwise. It imports only
pydantic and PyYAML so that it starts in a fraction of a second.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from mpu_operator.api.problems import OBJECT_NAME_PATTERN, PATTERN_RULES, Problem
from mpu_operator.api.spec import parse_spec

API_VERSION = "mpu-operator.io/v1alpha1"  # crd.API_VERSION, not imported: crd builds schemas
KIND = "MPUTask"
SUFFIXES = (".yaml", ".yml", ".json")
DEFAULT_NAMESPACE = "default"


class _Loader(yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):  # type: ignore[misc]
    """Safe YAML without timestamps, as kubectl reads it: ``2024-01-01`` stays a string."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Finding:
    """One output line; ``failing`` is False for warnings."""

    text: str
    failing: bool = True


def main(paths: list[str], out: TextIO) -> int:
    """Validate every manifest under ``paths``, print one line per problem, return 0 or 1."""
    failed = False
    for finding in _findings(paths):
        out.write(finding.text + "\n")
        failed = failed or finding.failing
    return 1 if failed else 0


def _findings(paths: list[str]) -> Iterator[Finding]:
    for path in paths:
        root = Path(path)
        if not root.exists():
            yield Finding(f"{path}: cannot read: no such file or directory")
        elif root.is_dir():
            for file in _manifests_under(root):
                yield from check_file(file)
        else:
            yield from check_file(root)


def _manifests_under(folder: Path) -> list[Path]:
    """Manifest files below ``folder``, sorted; hidden folders (.git) are skipped."""
    return sorted(
        p for p in folder.rglob("*")
        if p.suffix in SUFFIXES and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts[:-1])
    )


def check_file(path: Path) -> Iterator[Finding]:
    """Every problem in one file: unreadable, unparsable, or its MPUTasks' problems."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        yield Finding(f"{path}: cannot read: {_reason(exc)}")
        return
    documents = _json_documents if path.suffix == ".json" else _yaml_documents
    for index, doc in documents(path, text):
        if isinstance(doc, Finding):
            yield doc
            continue
        for obj in _objects(doc):
            if isinstance(obj, dict) and obj.get("kind") == KIND:
                yield from _check_object(path, index, obj)


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return "not UTF-8 text"


def _yaml_documents(path: Path, text: str) -> Iterator[tuple[int, Any]]:
    """(1-based index, document) pairs; a syntax error ends the file as one Finding.

    Only the error's position and kind are shown, never the offending line: it may be the
    one holding the stream URL.
    """
    index = 0
    try:
        for index, doc in enumerate(yaml.load_all(text, Loader=_Loader), 1):
            yield index, doc
    except yaml.YAMLError as exc:
        yield index + 1, Finding(f"{path}: invalid YAML{_yaml_position(exc)}")


def _yaml_position(exc: yaml.YAMLError) -> str:
    if not isinstance(exc, yaml.MarkedYAMLError):
        return ""
    mark = exc.problem_mark or exc.context_mark
    where = f": line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return f"{where}: {exc.problem}" if exc.problem else where


def _json_documents(path: Path, text: str) -> Iterator[tuple[int, Any]]:
    try:
        yield 1, json.loads(text)
    except json.JSONDecodeError as exc:
        yield 1, Finding(f"{path}: invalid JSON: line {exc.lineno}, column {exc.colno}: "
                         f"{exc.msg}")
    except RecursionError:
        yield 1, Finding(f"{path}: invalid JSON: nested too deeply")


def _objects(doc: Any) -> Iterator[Any]:
    """The document, or the items of a ``kind: List`` (what ``kubectl get -o yaml`` writes)."""
    if isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List") \
            and isinstance(doc.get("items"), list):
        for item in doc["items"]:
            yield from _objects(item)
    else:
        yield doc


def _check_object(path: Path, index: int, obj: dict[str, Any]) -> Iterator[Finding]:
    metadata = obj.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    name = metadata.get("name")
    namespace = metadata.get("namespace") or DEFAULT_NAMESPACE
    who = f"{path}: {namespace}/{name if isinstance(name, str) and name else f'<document {index}>'}"
    for problem in _object_problems(obj, name):
        yield Finding(f"{who}: {problem}")
    spec = obj.get("spec")
    if spec is None:
        yield Finding(f"{who}: spec: required")
        return
    result = parse_spec(spec)
    for problem in result.errors:
        yield Finding(f"{who}: {_in_spec(problem)}")
    for problem in result.warnings:
        yield Finding(f"{who}: warning: {_in_spec(problem)}", failing=False)


def _object_problems(obj: dict[str, Any], name: Any) -> Iterator[Problem]:
    """What the API server would refuse outside the spec: the apiVersion and the name."""
    if obj.get("apiVersion") != API_VERSION:
        yield Problem("apiVersion", f"must be {API_VERSION}")
    if not isinstance(name, str) or not name:
        yield Problem("metadata.name", "required")
    elif len(name) > 253 or not re.fullmatch(OBJECT_NAME_PATTERN, name):
        yield Problem("metadata.name", PATTERN_RULES[OBJECT_NAME_PATTERN])


def _in_spec(problem: Problem) -> Problem:
    """A spec problem with its path from the manifest's top, as the user sees the file."""
    field = problem.field if problem.field == "spec" else f"spec.{problem.field}"
    return Problem(field, problem.rule)
