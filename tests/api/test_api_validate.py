"""``mpu-operator validate``: files and folders, exact line format, exit codes."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mpu_operator import cli
from mpu_operator.api.validate import main

GOOD = """\
apiVersion: mpu-operator.io/v1alpha1
kind: MPUTask
metadata:
  name: {name}
  namespace: live
spec:
  appId: app
  channelId: 2024-01-01
  streamURL: rtmp://push.example.com/live/s?auth_key=TOPSECRET
  layout: {{layoutIds: [1, 2, 6]}}
  encoding: {{mediaEncode: 20}}
"""

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\n"


def run(*paths: Path | str) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = main([str(p) for p in paths], out)
    return code, out.getvalue().splitlines()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_valid_file_prints_nothing_and_exits_0(tmp_path: Path) -> None:
    f = write(tmp_path / "a.yaml", GOOD.format(name="show"))
    assert run(f) == (0, [])


def test_folder_multi_doc_bad_yaml_and_other_kinds(tmp_path: Path) -> None:
    write(tmp_path / "apps" / "show.yaml", "\n---\n".join([
        CONFIGMAP,
        GOOD.format(name="good"),
        GOOD.format(name="bad").replace("layoutIds: [1, 2, 6]", "layoutIds: [2, 3]"),
        "",  # an empty document is skipped
        "apiVersion: mpu-operator.io/v1\nkind: MPUTask\nmetadata: {}\nspec:\n  appId: a\n",
    ]))
    write(tmp_path / "apps" / "broken.yml", "kind: MPUTask\nspec: [a\n  b: c: d\n")
    write(tmp_path / "apps" / "task.json",
          '{"apiVersion": "mpu-operator.io/v1alpha1", "kind": "MPUTask",'
          ' "metadata": {"name": "j"}, "spec": {"appId": "a", "channelId": "c",'
          ' "streamURL": "rtmp://h/a/s", "layout": {"layoutIds": [1]},'
          ' "encoding": {"mediaEncode": 2}}}')
    write(tmp_path / "apps" / "notes.txt", "kind: MPUTask\n")  # not a manifest name
    write(tmp_path / ".git" / "x.yaml", "kind: MPUTask\n")     # hidden folder
    code, lines = run(tmp_path)
    apps = tmp_path / "apps"
    assert code == 1
    assert lines == [
        f"{apps}/broken.yml: invalid YAML: line 3, column 4: did not find expected ',' or ']'",
        f"{apps}/show.yaml: live/bad: spec.layout.layoutIds: layouts 2 and 3 each have 2 "
        "panes; the service picks a layout by the number of people present, so give at "
        "most one layout per pane count",
        f"{apps}/show.yaml: default/<document 5>: apiVersion: must be mpu-operator.io/v1alpha1",
        f"{apps}/show.yaml: default/<document 5>: metadata.name: required",
        f"{apps}/show.yaml: default/<document 5>: spec.channelId: required",
        f"{apps}/show.yaml: default/<document 5>: spec.layout: required",
        f"{apps}/show.yaml: default/<document 5>: spec.encoding: required",
        f"{apps}/task.json: default/j: warning: spec.encoding.mediaEncode: 2 is unknown to "
        "us; the service will judge it",
        f"{apps}/task.json: default/j: warning: spec.encoding.taskProfile: Auto chose "
        "1IN_1080P because encoding 2 is unknown (resolution unknown); name a smaller "
        "profile if it is enough",
    ]


def test_warnings_alone_do_not_fail(tmp_path: Path) -> None:
    f = write(tmp_path / "a.yaml", GOOD.format(name="w").replace("mediaEncode: 20",
                                                                 "mediaEncode: 2"))
    code, lines = run(f)
    assert code == 0 and lines and all(": warning: " in line for line in lines)


def test_documents_before_a_syntax_error_are_still_checked(tmp_path: Path) -> None:
    bad = GOOD.format(name="b").replace("appId: app", "appId: 1")
    f = write(tmp_path / "a.yaml", bad + "---\nkey: [unclosed\n")
    code, lines = run(f)
    assert code == 1
    assert lines == [f"{f}: live/b: spec.appId: must be a string",
                     f"{f}: invalid YAML: line 14, column 1: did not find expected ',' or ']'"]


def test_list_of_objects_is_checked_item_by_item(tmp_path: Path) -> None:
    doc = GOOD.format(name="x").replace("\n", "\n    ")
    f = write(tmp_path / "list.yaml", f"apiVersion: v1\nkind: List\nitems:\n  - {doc}\n")
    assert run(f) == (0, [])


@pytest.mark.parametrize(("metadata", "who", "problem"), [
    ("{name: Bad_Name}", "default/Bad_Name", "metadata.name: must be a Kubernetes object name"),
    ("{namespace: ns}", "ns/<document 1>", "metadata.name: required"),
    ("[]", "default/<document 1>", "metadata.name: required"),
])
def test_metadata_problems(tmp_path: Path, metadata: str, who: str, problem: str) -> None:
    text = GOOD.format(name="x").replace("metadata:\n  name: x\n  namespace: live",
                                         f"metadata: {metadata}")
    f = write(tmp_path / "a.yaml", text)
    code, lines = run(f)
    assert code == 1 and len(lines) == 1
    assert lines[0].startswith(f"{f}: {who}: {problem}")


def test_missing_spec(tmp_path: Path) -> None:
    f = write(tmp_path / "a.yaml", "apiVersion: mpu-operator.io/v1alpha1\nkind: MPUTask\n"
                                   "metadata: {name: x}\n")
    assert run(f) == (1, [f"{f}: default/x: spec: required"])


def test_unreadable_paths(tmp_path: Path) -> None:
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    assert run(tmp_path / "nope", binary) == (1, [
        f"{tmp_path}/nope: cannot read: no such file or directory",
        f"{binary}: cannot read: not UTF-8 text"])


def test_an_empty_folder_is_valid(tmp_path: Path) -> None:
    assert run(tmp_path) == (0, [])


def test_secret_is_never_printed(tmp_path: Path) -> None:
    bad_url = GOOD.format(name="s").replace("rtmp://push", "http://push")
    f = write(tmp_path / "a.yaml", bad_url + "---\nstreamURL: rtmp://h/a?auth_key=TOPSECRET: x\n")
    code, lines = run(f)
    assert code == 1 and len(lines) == 2
    assert not any("TOPSECRET" in line for line in lines)


def test_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path / "a.yaml", GOOD.format(name="x").replace("appId: app", "appId: ''"))
    assert cli.main(["validate", str(f)]) == 1
    assert capsys.readouterr().out == f"{f}: live/x: spec.appId: must not be empty\n"


def test_validate_does_not_import_kopf_or_kubernetes() -> None:
    probe = ("import sys, mpu_operator.api.validate; "
             "print(sorted(m for m in ('kopf', 'kubernetes', 'aiohttp') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


OVERLAY = GOOD.replace("layout: {{layoutIds: [1, 2, 6]}}", """layout:
    layoutIds: [1, 2, 6]
    watermarks:
      - url: https://cdn.example.com/logo.png
        x: 0.8
        {y}: 0.1
        width: 0.1
        height: 0.1""")


def test_an_unquoted_y_key_is_reported_as_kubectl_reads_it(tmp_path: Path) -> None:
    """kubectl (YAML 1.1) turns an unquoted ``y:`` key into "true", which the API server
    prunes; validate reads it the same way and says how to fix it (#10's x/y fields)."""
    code, lines = run(write(tmp_path / "a.yaml", OVERLAY.format(name="logo", y="y")))
    assert code == 1 and lines == [
        f"{tmp_path / 'a.yaml'}: live/logo: spec.layout.watermarks[0].true: unknown field: an "
        "unquoted y, n, yes, no, on or off is read as true or false in YAML (kubectl reads it "
        "so); quote the key, as in \"y\": 0.5"]
    assert run(write(tmp_path / "b.yaml", OVERLAY.format(name="logo", y='"y"'))) == (0, [])


@pytest.mark.parametrize(("value", "rule"), [("y", "must be a string"),
                                             ("N", "must be a string"),
                                             ("'n'", None)])
def test_y_and_n_values_are_booleans_as_in_kubectl(tmp_path: Path, value: str,
                                                   rule: str | None) -> None:
    code, lines = run(write(tmp_path / "a.yaml", GOOD.format(name="t").replace(
        "appId: app", f"appId: {value}")))
    if rule is None:
        assert (code, lines) == (0, [])
    else:
        assert code == 1 and lines == [f"{tmp_path / 'a.yaml'}: live/t: spec.appId: {rule}"]
