"""Hostile input to ``mpu-operator validate`` and ``parse_spec``: each case ends as exit 1 and
one line naming the field or the rule, in bounded time and memory, with nothing raw echoed.

The whole hostile set runs in one ``validate`` process under a 10 s deadline enforced by
``subprocess.run(timeout=...)``: a FIFO that blocked, or an alias bomb that expanded, would
hang it. The deadline is the bound asserted, not a benchmark (timings are in the report).
"""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mpu_operator.api import crd, parse_spec
from mpu_operator.api.problems import MAX_PROBLEMS
from mpu_operator.api.spec import MAX_LIST_READ
from mpu_operator.api.validate import (
    MAX_ALIAS_NODES,
    MAX_FILE_BYTES,
    MAX_YAML_EVENTS,
    _Unreadable,
    main,
    read_manifest,
)

DEADLINE = 10.0  # seconds for the whole hostile set; each case takes well under one
RAW_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

MANIFEST = """\
apiVersion: mpu-operator.io/v1alpha1
kind: MPUTask
metadata:
  name: {name}
  namespace: live
spec:
  appId: app
  channelId: {channel}
  streamURL: {url}
  layout: {{layoutIds: [1, 2, 6]}}
  encoding: {{mediaEncode: {encode}}}
"""


def manifest(name: str = "show", channel: str = "room-1", url: str = "rtmp://h/live/s",
             encode: str = "20") -> str:
    return MANIFEST.format(name=name, channel=channel, url=url, encode=encode)


def json_manifest(encode: str) -> str:
    return ('{"apiVersion": "mpu-operator.io/v1alpha1", "kind": "MPUTask", "metadata": '
            '{"name": "j"}, "spec": {"appId": "a", "channelId": "c", "streamURL": '
            '"rtmp://h/l/s", "layout": {"layoutIds": [1]}, "encoding": {"mediaEncode": '
            f'{encode}}}}}}}')


def billion_laughs() -> str:
    """The classic: 9 levels of 9 aliases, 9**9 (387 million) strings when expanded."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        prev, this = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"{this}: &{this} [{','.join([f'*{prev}'] * 9)}]")
    return "\n".join(lines) + "\nkind: MPUTask\nspec: {layout: *i}\n"


def merge_key_bomb() -> str:
    """Merge keys (<<) copy pairs: doubling at each of 40 levels."""
    lines = ["m0: &m0 {k: v}"]
    lines += [f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], x{i}: 1}}" for i in range(1, 40)]
    return "\n".join(lines) + "\nkind: MPUTask\n"


def deep_yaml(levels: int) -> str:
    return manifest().replace("layout: {layoutIds: [1, 2, 6]}",
                              "layout: " + "[" * levels + "]" * levels)


@dataclass(frozen=True)
class Case:
    """A file to create (``make`` writes it at the path) and the one line it must give."""

    name: str
    make: Callable[[Path], None]
    line: str  # what follows "PATH: "; "{path}" where the path must be echoed escaped


def text(content: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(content, encoding="utf-8")


def fifo(path: Path) -> None:
    os.mkfifo(path)


def unix_socket(path: Path) -> None:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))  # left bound: the file stays a socket for the test's duration
    _SOCKETS.append(sock)


def too_big(path: Path) -> None:
    with path.open("wb") as f:  # sparse: costs no disk, reads as zeros
        f.truncate(MAX_FILE_BYTES + 1)


_SOCKETS: list[socket.socket] = []
NS = "live/show"

CASES = [
    Case("bomb.yaml", text(billion_laughs()),
         f"invalid YAML: too many aliases (they may add at most {MAX_ALIAS_NODES} nodes)"),
    Case("merge-bomb.yaml", text(merge_key_bomb()),
         f"invalid YAML: too many aliases (they may add at most {MAX_ALIAS_NODES} nodes)"),
    Case("recursive.yaml", text("kind: MPUTask\nspec: &s {layout: *s}\n"),
         "invalid YAML: recursive alias (an alias inside its own anchor)"),
    Case("fifo.yaml", fifo, "cannot read: not a regular file"),
    Case("socket.yaml", unix_socket, "cannot read: not a regular file"),
    Case("big.yaml", too_big, f"cannot read: larger than {MAX_FILE_BYTES} bytes"),
    Case("int.yaml", text(manifest(encode="9" * 5000)),
         f"{NS}: spec.encoding.mediaEncode: must be at most 2147483647"),
    Case("negint.yaml", text(manifest(encode="-" + "9" * 5000)),
         f"{NS}: spec.encoding.mediaEncode: must be at least 0"),
    Case("sexagesimal.yaml", text(manifest(encode="1" + ":59" * 100_000)),
         f"{NS}: spec.encoding.mediaEncode: must be at most 2147483647"),
    Case("int.json", text(json_manifest("9" * 5000)),
         "default/j: spec.encoding.mediaEncode: must be at most 2147483647"),
    Case("port.yaml", text(manifest(url="rtmp://host:99999/live/s")),
         f"{NS}: spec.streamURL: port must be between 1 and 65535"),
    Case("backup-port.yaml",
         text(manifest() + "  backupStreamURLs: ['rtmp://host:99999/live/s?auth_key=k']\n"),
         f"{NS}: spec.backupStreamURLs[0]: port must be between 1 and 65535"),
    Case("backup-same.yaml",
         text(manifest() + "  backupStreamURLs: ['RTMP://H:1935/live/s?auth_key=k']\n"),
         f"{NS}: spec.backupStreamURLs[0]: is the same stream as streamURL"),
    Case("backup-huge.yaml",
         text(manifest() + "  backupStreamURLs: [" + "'rtmp://h/x'," * 150_000 + "'x']\n"),
         f"{NS}: spec.backupStreamURLs: must have at most 4 items"),
    Case("channel.yaml", text(manifest(channel="c" * (1 << 20))),
         f"{NS}: spec.channelId: must be at most 64 characters"),
    Case("name.yaml", text(manifest(name='"x\\nok\\e[2J"')),
         "live/x\\x0aok\\x1b[2J: metadata.name: must be a Kubernetes object name"),
    Case("namespace.yaml", text(manifest().replace("namespace: live", 'namespace: "a\\rok"')),
         "a\\x0dok/show: metadata.namespace: must be a Kubernetes namespace name"),
    Case("key.yaml", text(manifest().replace("  appId: app", '  appId: app\n  "x\\nok": 1')),
         f"{NS}: spec.x\\x0aok: unknown field"),
    Case("path\nok\x1b[2J.yaml", text(manifest(channel="a b")),
         "{path}: live/show: spec.channelId: must be an RTC id"),
    Case("deep.yaml", text(deep_yaml(900)),
         f"{NS}: spec.layout[0][0]: nested too deeply (limit 32 levels)"),
    Case("deep.json", text("[" * 100_000 + "]" * 100_000),
         "invalid JSON: nested too deeply"),
    Case("many-nodes.yaml", text("kind: MPUTask\nspec: [" + "0," * 1_500_000 + "0]\n"),
         f"invalid YAML: too many nodes (more than {MAX_YAML_EVENTS}; split the file)"),
    Case("many-nodes-then-error.yaml", text("kind: MPUTask\nspec: [" + "0," * 1_500_000 + "\n"),
         f"invalid YAML: too many nodes (more than {MAX_YAML_EVENTS}; split the file)"),
    Case("long-list.json", text(json_manifest("20").replace('"layoutIds": [1]', '"layoutIds": ['
                                                            + "1," * 1_500_000 + "1]")),
         "default/j: spec.layout.layoutIds: must have at most 16 items"),
]


def escaped(path: Path) -> str:
    return str(path).replace("\n", "\\x0a").replace("\x1b", "\\x1b")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Path]]:
    folder = tmp_path_factory.mktemp("hostile")
    paths = []
    for case in CASES:
        path = folder / case.name
        case.make(path)
        paths.append(path)
    yield paths
    for sock in _SOCKETS:
        sock.close()


@pytest.fixture(scope="module")
def lines(hostile: list[Path]) -> list[str]:
    """stdout lines of ONE validate process over every hostile file plus /dev/zero."""
    result = subprocess.run(
        [sys.executable, "-m", "mpu_operator", "validate", *map(str, hostile), "/dev/zero"],
        capture_output=True, timeout=DEADLINE, check=False)
    assert result.returncode == 1, result.stderr.decode(errors="replace")[-2000:]
    assert result.stderr == b""  # no traceback, no warning
    return result.stdout.decode("utf-8").splitlines()


@pytest.mark.parametrize("case", CASES, ids=[c.name.encode("unicode_escape").decode()
                                              for c in CASES])
def test_each_hostile_file_gives_one_clear_line(case: Case, hostile: list[Path],
                                                lines: list[str]) -> None:
    path = hostile[CASES.index(case)]
    prefix = escaped(path) + ": "
    mine = [line for line in lines if line.startswith(prefix)]
    assert len(mine) == 1, mine
    expected = case.line.replace("{path}", "")
    assert mine[0][len(prefix):].startswith(expected.removeprefix(": ")), mine[0]


def test_devices_are_refused_without_reading(lines: list[str]) -> None:
    assert "/dev/zero: cannot read: not a regular file" in lines


def test_nothing_raw_is_echoed(lines: list[str]) -> None:
    assert len(lines) == len(CASES) + 1  # no line was forged by an echoed newline
    assert not any(RAW_CONTROL.search(line) for line in lines)


# In-process: the pieces, without a process each.

def test_a_directory_or_a_growing_file_is_read_with_a_bound(tmp_path: Path) -> None:
    with pytest.raises(_Unreadable, match="is a directory"):
        read_manifest(tmp_path)
    f = tmp_path / "a.yaml"
    f.write_text("x" * 100)
    assert read_manifest(f, limit=100) == "x" * 100
    with pytest.raises(_Unreadable, match="larger than 99 bytes"):
        read_manifest(f, limit=99)


def test_undecodable_file_names_are_escaped(tmp_path: Path) -> None:
    name = os.fsdecode(b"bad-\xff.yaml")
    (tmp_path / name).write_text(manifest(channel="a b"))
    out = io.StringIO()
    assert main([str(tmp_path)], out) == 1
    assert out.getvalue() == (f"{tmp_path}/bad-\\udcff.yaml: live/show: spec.channelId: "
                              "must be an RTC id: letters, digits, '_' and '-' only\n")
    out.getvalue().encode("utf-8")  # printable to any UTF-8 terminal


def test_ordinary_anchors_still_work(tmp_path: Path) -> None:
    shared = ("x-layout: &layout {layoutIds: [1, 2, 6]}\n---\n"
              + manifest().replace("layout: {layoutIds: [1, 2, 6]}", "layout: *layout"))
    f = tmp_path / "a.yaml"
    f.write_text(shared.replace("---\n", "") + "---\n" + manifest(name="two"))
    out = io.StringIO()
    assert main([str(f)], out) == 0, out.getvalue()


@pytest.mark.timeout(10)
@pytest.mark.parametrize(("spec", "field", "words"), [
    ({"layout": {"layoutIds": [1], "userPanes": [{"paneId": 0, "userId": "u"}] * 100_000}},
     "layout.userPanes", "must have at most 16 items"),
    ({"subscribeUsers": ["u"] * 100_000}, "subscribeUsers", "must have at most 16 items"),
    ({"channelId": "c" * (1 << 20)}, "channelId", "must be at most 64 characters"),
    ({"appId": "\x1b" * (1 << 20)}, "appId", "must be at most 64 characters"),
    ({"layout": {"layoutIds": [1], "watermarks": [{"url": "https://h/a"}] * 100_000}},
     "layout.watermarks", "must have at most 16 items"),
    ({"layout": {"layoutRefs": [{"name": "a"}] * 100_000}},
     "layout.layoutRefs", "must have at most 16 items"),
    ({"layout": {"layoutIds": [1], "userPanes": [
        {"paneId": 0, "userId": "u", "texts": [{"text": "t"}] * 100_000}]}},
     "layout.userPanes[0].texts", "must have at most 4 items"),
    ({"layout": {"layoutIds": [1], "userPanes": [
        {"paneId": 0, "userId": "u", "texts": [{"text": "\x1b" * (1 << 20)}]}]}},
     "layout.userPanes[0].texts[0].text", "must be at most 128 characters"),
    ({"layout": {"layoutIds": [1], "backgrounds": [{"url": "https://h/" + "x" * (1 << 20)}]}},
     "layout.backgrounds[0].url", "must be at most 2048 characters"),
    ({"subscribe": {"audioUsers": ["u"] * 100_000}}, "subscribe.audioUsers",
     "must have at most 16 items"),
    ({"unsubscribe": {"cameraUsers": [f"u{i}" for i in range(100_000)]}},
     "unsubscribe.cameraUsers", "must have at most 16 items"),
])
def test_parse_spec_is_bounded_on_huge_values(valid: dict[str, Any], spec: dict[str, Any],
                                              field: str, words: str) -> None:
    result = parse_spec({**valid, **spec})
    assert [str(p) for p in result.errors] == [f"{field}: {words}"]


@pytest.mark.timeout(10)
def test_parse_spec_translates_a_bounded_number_of_problems(valid: dict[str, Any]) -> None:
    result = parse_spec({**valid, **{f"k{i}": 1 for i in range(100_000)}})
    assert len(result.errors) == MAX_PROBLEMS + 1
    assert str(result.errors[-1]) == f"spec: {100_000 - MAX_PROBLEMS} more problems not shown"


def test_parse_spec_bounds_depth_and_cycles(valid: dict[str, Any]) -> None:
    deep: Any = 1
    for _ in range(10_000):
        deep = {"x": deep}
    assert [str(p) for p in parse_spec({**valid, "layout": deep}).errors] == [
        "layout.x.x: nested too deeply (limit 32 levels)"]
    cyclic: dict[str, Any] = dict(valid)
    cyclic["encoding"] = cyclic
    assert [p.rule for p in parse_spec(cyclic).errors] == ["nested too deeply (limit 32 levels)"]


def test_unknown_keys_are_escaped_and_cut(valid: dict[str, Any]) -> None:
    problems = parse_spec({**valid, "\x1b[2J\nok" + "k" * 100_000: 1}).errors
    assert [p.rule for p in problems] == ["unknown field"]
    assert problems[0].field == "\\x1b[2J\\x0aok" + "k" * 57 + "..."


def test_every_list_field_allows_fewer_items_than_parse_spec_reads() -> None:
    """parse_spec reads MAX_LIST_READ + 1 items of a list; that must be past every limit,
    or a cut list could pass where the whole one would fail."""
    spec = crd.open_api_schema()["properties"]["spec"]
    limits = [node.get("maxItems") for _, node in _schema_nodes(spec)
              if node.get("type") == "array"]
    assert limits and all(isinstance(n, int) and n < MAX_LIST_READ for n in limits), limits


def _schema_nodes(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for name, sub in node.get("properties", {}).items():
        yield from _schema_nodes(sub, f"{path}.{name}")
    if "items" in node:
        yield from _schema_nodes(node["items"], f"{path}[]")


@pytest.mark.timeout(10)
def test_the_largest_allowed_overlays_are_judged_quickly(valid: dict[str, Any]) -> None:
    """Every list at its limit (16 panes with 4 images and 4 texts each, 16 of every overlay,
    48 subscription entries): still one valid spec, judged at once."""
    image = {"url": "https://cdn.example.com/" + "i" * 2000, "width": 1, "height": 1}
    text = {"text": "t" * 128, "fontSize": 10}
    valid["layout"] = {
        "layoutIds": [11], "layoutRefs": [{"name": f"l{i}"} for i in range(15)],
        "userPanes": [{"paneId": i, "userId": f"u{i}", "images": [image] * 4, "texts": [text] * 4}
                      for i in range(16)],
        "backgrounds": [image] * 16, "watermarks": [image] * 16,
        "clockWidgets": [{k: v for k, v in text.items() if k != "text"}] * 16}
    users = [f"user-{i}" for i in range(16)]
    valid["subscribe"] = {"audioUsers": users, "cameraUsers": users, "shareScreenUsers": users}
    valid["unsubscribe"] = {"audioUsers": [f"other-{i}" for i in range(16)]}
    result = parse_spec(valid)
    assert result.ok, [str(p) for p in result.errors]


@pytest.mark.timeout(10)
def test_a_two_million_item_list_is_read_in_part(valid: dict[str, Any]) -> None:
    result = parse_spec({**valid, "layout": {"layoutIds": [1] * 2_000_000}})
    assert [str(p) for p in result.errors] == ["layout.layoutIds: must have at most 16 items"]


def test_a_non_utf8_terminal_gets_escapes_not_a_traceback(tmp_path: Path) -> None:
    f = tmp_path / "a.yaml"
    f.write_text(manifest(name="房间"), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "mpu_operator", "validate", str(f)],
                            capture_output=True, timeout=DEADLINE, check=False,
                            env={**os.environ, "PYTHONIOENCODING": "ascii"})
    assert result.returncode == 1 and result.stderr == b""
    assert result.stdout.decode("ascii") == (
        f"{f}: live/\\u623f\\u95f4: metadata.name: must be a Kubernetes object name: "
        "lower-case letters, digits, '-' and '.', starting and ending with a letter or digit\n")
