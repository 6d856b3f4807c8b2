"""``mpu-operator validate PATH...``: judge MPUTask manifests offline, as the operator would.

Made for GitOps pipelines: it reads files and folders (``*.yaml``, ``*.yml``, ``*.json``,
multi-document YAML, ``kind: List``), skips everything that is not an MPUTask or an
MPULayout, and runs exactly the operator's rules (:func:`~mpu_operator.api.spec.parse_spec`,
:func:`~mpu_operator.api.layout.parse_layout_spec`). One line per
problem, grep-able and stable::

    FILE: NAMESPACE/NAME: FIELD: RULE
    FILE: NAMESPACE/NAME: warning: FIELD: RULE

Exit status 0 when nothing is wrong (warnings do not fail), 1 otherwise. It imports only
pydantic and PyYAML so that it starts in a fraction of a second.

Files come from pipelines and pull requests, so hostile input ends as one line, quickly,
in bounded memory: only regular files up to :data:`MAX_FILE_BYTES` are read (a FIFO or
``/dev/zero`` is refused without a blocking read), YAML aliases may add at most
:data:`MAX_ALIAS_NODES` nodes to a document (a "billion laughs" is refused, not
expanded), integers too long to be in range are never converted, and every echoed name or
path has its control characters escaped (a name cannot print a fake line).
"""

from __future__ import annotations

import errno
import gc
import io
import json
import os
import re
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from mpu_operator.api.layout import KIND as LAYOUT_KIND
from mpu_operator.api.layout import parse_layout_spec
from mpu_operator.api.problems import (
    NAMESPACE_PATTERN,
    OBJECT_NAME_PATTERN,
    PATTERN_RULES,
    Problem,
    printable,
)
from mpu_operator.api.spec import parse_spec

API_VERSION = "mpu-operator.io/v1alpha1"  # crd.API_VERSION, not imported: crd builds schemas
KIND = "MPUTask"
#: The kinds judged, each by the parser the operator uses for it.
PARSERS: dict[str, Callable[[Any], Any]] = {KIND: parse_spec, LAYOUT_KIND: parse_layout_spec}
SUFFIXES = (".yaml", ".yml", ".json")
DEFAULT_NAMESPACE = "default"

#: Largest file read. Generous for manifests (the API server refuses objects over 1.5 MiB)
#: and for other projects' CRDs met in a GitOps folder; bounds time and memory.
MAX_FILE_BYTES = 4 * 1024 * 1024
#: Nodes that aliases may add to one YAML document when expanded. Anchors for shared
#: layouts need a few dozen; a 600-byte "billion laughs" needs a billion.
MAX_ALIAS_NODES = 10_000
#: Parser events (about one per node) allowed in one YAML file: ~45 per ordinary manifest,
#: so room for thousands, while 4 MiB of "[0,0,0,...]" (2 million) is refused after a
#: C-speed count instead of being built into objects (seconds, hundreds of MiB).
MAX_YAML_EVENTS = 200_000
#: Longest integer scalar converted. Every in-range value (int32, even written in binary
#: with separators) is shorter; a longer one is out of range and is never converted (a
#: 5000-digit number is slow to convert and Python refuses it).
MAX_INT_CHARS = 100
#: What an over-long integer becomes: outside int32 and int64 alike, sign kept, so the
#: model's range check names the field and the limit.
OUT_OF_RANGE = 2**64
_MAX_PATH_SHOWN = 1024


class _Loader(yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):  # type: ignore[misc]
    """Safe YAML read as kubectl reads it: ``2024-01-01`` stays a string, and a plain
    ``y``, ``Y``, ``n`` or ``N`` is a boolean, as in YAML 1.1 (kubectl's go-yaml v2; PyYAML
    leaves these four strings). So an unquoted ``y:`` key of an overlay is reported here,
    not silently dropped by the API server (kubernetes/kubernetes#34146).

    Integers are length-checked before conversion (see :data:`MAX_INT_CHARS`).
    """

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        text = str(node.value)
        if len(text) > MAX_INT_CHARS:
            return -OUT_OF_RANGE if text.lstrip().startswith("-") else OUT_OF_RANGE
        return int(yaml.SafeLoader.construct_yaml_int(self, node))

    def construct_yaml_bool(self, node: yaml.ScalarNode) -> bool:
        return str(node.value).lower() in ("y", "yes", "true", "on")


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:y|Y|n|N)$"),
                              list("yYnN"))
_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
_Loader.add_constructor("tag:yaml.org,2002:bool", _Loader.construct_yaml_bool)


class _Unreadable(Exception):
    """A file that is not read; the text is the reason shown."""


@dataclass(frozen=True)
class Finding:
    """One output line; ``failing`` is False for warnings."""

    text: str
    failing: bool = True


def main(paths: list[str], out: TextIO) -> int:
    """Validate every manifest under ``paths``, print one line per problem, return 0 or 1."""
    if isinstance(out, io.TextIOWrapper):  # a non-UTF-8 terminal gets \uXXXX, not a traceback
        out.reconfigure(errors="backslashreplace")
    failed = False
    with _no_gc_pauses():
        for finding in _findings(paths):
            out.write(finding.text + "\n")
            failed = failed or finding.failing
    return 1 if failed else 0


def _findings(paths: list[str]) -> Iterator[Finding]:
    for path in paths:
        root = Path(path)
        try:
            is_dir = stat.S_ISDIR(os.stat(root).st_mode)
        except (OSError, ValueError) as exc:
            yield Finding(f"{_shown(root)}: cannot read: {_reason(exc)}")
            continue
        if is_dir:
            for file in _manifests_under(root):
                yield from check_file(file)
        else:
            yield from check_file(root)


def _shown(path: Path) -> str:
    """A path as printed: control characters and undecodable bytes escaped, length capped."""
    return printable(str(path), _MAX_PATH_SHOWN)


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
        text = read_manifest(path)
    except _Unreadable as exc:
        yield Finding(f"{_shown(path)}: cannot read: {exc}")
        return
    documents = _json_documents if path.suffix == ".json" else _yaml_documents
    for index, doc in documents(path, text):
        if isinstance(doc, Finding):
            yield doc
            continue
        for obj in _objects(doc):
            if isinstance(obj, dict) and obj.get("kind") in PARSERS:
                yield from _check_object(path, index, obj)


def read_manifest(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    """The text of a regular file of at most ``limit`` bytes, or :class:`_Unreadable`.

    Opened non-blocking and checked with fstat before any read, so a FIFO, a device or a
    socket is refused at once, and read with a bound, so a file that grows while being
    read (or lies about its size) cannot make us read more than ``limit + 1`` bytes.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except (OSError, ValueError) as exc:
        raise _Unreadable(_reason(exc)) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise _Unreadable("is a directory")
        if not stat.S_ISREG(mode):
            raise _Unreadable("not a regular file")
        data = _read_at_most(fd, limit + 1)
    except OSError as exc:
        raise _Unreadable(_reason(exc)) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise _Unreadable(f"larger than {limit} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Unreadable("not UTF-8 text") from None


def _read_at_most(fd: int, size: int) -> bytes:
    chunks: list[bytes] = []
    left = size
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError):
        if exc.errno == errno.ENXIO:  # what open() says for a socket
            return "not a regular file"
        text = exc.strerror or type(exc).__name__
        return text[:1].lower() + text[1:]  # "no such file or directory", as a rule reads
    if isinstance(exc, ValueError):  # a NUL in the path
        return "invalid path"
    return "not UTF-8 text"


@contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """Without the cyclic collector: with it, building many small objects (a 4 MiB list of
    tiny mappings) takes superlinear time, as each collection rescans the growing graph.
    A validate run is short and its garbage is bounded by the file size cap; reference
    counting still frees everything that is not a cycle."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _yaml_documents(path: Path, text: str) -> Iterator[tuple[int, Any]]:
    """(1-based index, document) pairs; a syntax error ends the file as one Finding.

    Each document is composed into nodes, its alias expansion is checked, and only then
    is it built. Only an error's position and kind are shown, never the offending line:
    it may be the one holding the stream URL.
    """
    index = 0
    problem = _size_problem(text)
    if problem:
        yield 1, Finding(f"{_shown(path)}: invalid YAML: {problem}")
        return
    loader = _Loader(text)
    may_alias = "*" in text  # an alias needs one; most files have none, and skip the walk
    try:
        while True:
            with _no_gc_pauses():
                if not loader.check_node():
                    return
                index += 1
                node = loader.get_node()
                problem = _alias_problem(node) if may_alias else None
                doc = None if problem else loader.construct_document(node)
            if problem:
                yield index, Finding(f"{_shown(path)}: invalid YAML: {problem}")
                return
            yield index, doc
    except yaml.YAMLError as exc:
        yield index + 1, Finding(f"{_shown(path)}: invalid YAML{_yaml_position(exc)}")
    except RecursionError:
        yield index + 1, Finding(f"{_shown(path)}: invalid YAML: nested too deeply")
    finally:
        loader.dispose()


def _size_problem(text: str) -> str | None:
    """"too many nodes" when the file has more than :data:`MAX_YAML_EVENTS` parser events.

    libyaml counts the whole stream without making Python objects. When the stream has a
    syntax error its count is lost, so the events before the error are counted one by one,
    stopping at the limit: a syntax error at the end of 4 MiB must not let the documents
    before it be built.
    """
    loader = _Loader(text)
    try:
        if hasattr(loader, "raw_parse"):
            try:
                events = loader.raw_parse()
            except yaml.YAMLError:
                loader.dispose()
                loader = _Loader(text)
                events = _count_events(loader)
        else:
            events = _count_events(loader)
    finally:
        loader.dispose()
    if events > MAX_YAML_EVENTS:
        return f"too many nodes (more than {MAX_YAML_EVENTS}; split the file)"
    return None


def _count_events(loader: _Loader) -> int:
    """Events up to a syntax error or one past the limit, whichever comes first."""
    count = 0
    try:
        while count <= MAX_YAML_EVENTS and loader.check_event():
            loader.get_event()
            count += 1
    except yaml.YAMLError:
        pass
    return count


def _alias_problem(root: yaml.Node) -> str | None:
    """Why the document's aliases are refused (too many nodes when expanded, or an alias
    inside its own anchor), or None. Linear in the number of distinct nodes."""
    size: dict[int, int] = {}  # id(node) -> nodes in its expansion, capped
    open_nodes: set[int] = set()  # nodes whose subtree is being walked: a cycle test
    cap = MAX_ALIAS_NODES * 1000
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_nodes.discard(key)
            size[key] = min(cap, 1 + sum(size[id(child)] for child in _children(node)))
        elif key in open_nodes:
            return "recursive alias (an alias inside its own anchor)"
        elif key not in size:
            open_nodes.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node) if id(child) not in size)
    if size[id(root)] - len(size) > MAX_ALIAS_NODES:
        return f"too many aliases (they may add at most {MAX_ALIAS_NODES} nodes)"
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _yaml_position(exc: yaml.YAMLError) -> str:
    if not isinstance(exc, yaml.MarkedYAMLError):
        return ""
    mark = exc.problem_mark or exc.context_mark
    where = f": line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return f"{where}: {printable(exc.problem, 200)}" if exc.problem else where


def _json_documents(path: Path, text: str) -> Iterator[tuple[int, Any]]:
    try:
        with _no_gc_pauses():
            doc = json.loads(text, parse_int=_json_int)
    except json.JSONDecodeError as exc:
        yield 1, Finding(f"{_shown(path)}: invalid JSON: line {exc.lineno}, column "
                         f"{exc.colno}: {printable(exc.msg, 200)}")
    except RecursionError:
        yield 1, Finding(f"{_shown(path)}: invalid JSON: nested too deeply")
    else:
        yield 1, doc


def _json_int(text: str) -> int:
    """An integer literal, never converted when too long (see :data:`MAX_INT_CHARS`)."""
    if len(text) > MAX_INT_CHARS:
        return -OUT_OF_RANGE if text.startswith("-") else OUT_OF_RANGE
    return int(text)


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
    namespace = metadata.get("namespace", DEFAULT_NAMESPACE)
    shown_ns = printable(namespace, 63) if isinstance(namespace, str) and namespace \
        else DEFAULT_NAMESPACE if namespace in (None, "") else "<invalid namespace>"
    shown_name = printable(name) if isinstance(name, str) and name else f"<document {index}>"
    who = f"{_shown(path)}: {shown_ns}/{shown_name}"
    for problem in _object_problems(obj, name, namespace):
        yield Finding(f"{who}: {problem}")
    spec = obj.get("spec")
    if spec is None:
        yield Finding(f"{who}: spec: required")
        return
    result = PARSERS[obj["kind"]](spec)
    for problem in result.errors:
        yield Finding(f"{who}: {_in_spec(problem)}")
    for problem in result.warnings:
        yield Finding(f"{who}: warning: {_in_spec(problem)}", failing=False)


def _object_problems(obj: dict[str, Any], name: Any, namespace: Any) -> Iterator[Problem]:
    """What the API server would refuse outside the spec: apiVersion, name and namespace."""
    if obj.get("apiVersion") != API_VERSION:
        yield Problem("apiVersion", f"must be {API_VERSION}")
    if name is None or name == "":
        yield Problem("metadata.name", "required")
    elif not isinstance(name, str):
        yield Problem("metadata.name", "must be a string")
    elif len(name) > 253 or not re.fullmatch(OBJECT_NAME_PATTERN, name):
        yield Problem("metadata.name", PATTERN_RULES[OBJECT_NAME_PATTERN])
    if namespace is None or namespace == "":
        return
    if not isinstance(namespace, str):
        yield Problem("metadata.namespace", "must be a string")
    elif len(namespace) > 63 or not re.fullmatch(NAMESPACE_PATTERN, namespace):
        yield Problem("metadata.namespace",
                      f"{PATTERN_RULES[NAMESPACE_PATTERN]} (at most 63 characters)")


def _in_spec(problem: Problem) -> Problem:
    """A spec problem with its path from the manifest's top, as the user sees the file."""
    field = problem.field if problem.field == "spec" else f"spec.{problem.field}"
    return Problem(field, problem.rule)
