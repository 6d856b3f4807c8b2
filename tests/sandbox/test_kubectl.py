"""Real kubectl against the sandbox, as a newcomer would type it (the README's promises)."""
from __future__ import annotations

import importlib.util
import json

import pytest

from mpu_operator.sandbox.command import Sandbox
from tests.sandbox.conftest import SAMPLES, Kubectl, needs_kubectl

pytestmark = [pytest.mark.integration, needs_kubectl]
HAS_ADMISSION = importlib.util.find_spec("mpu_operator.sandbox.admission") is not None


def join(sandbox: Sandbox, user: str = "host") -> None:
    assert sandbox.rtc is not None
    sandbox.rtc.join("your-rtc-app-id", "demo-channel", user)


def apply_sample(kubectl: Kubectl, ns: str) -> None:
    out = kubectl("apply", "-n", ns, "-f", str(SAMPLES)).stdout
    assert "mputask.mpu-operator.io/demo created" in out


def test_apply_get_shows_printer_columns(kubectl: Kubectl, ns: str) -> None:
    apply_sample(kubectl, ns)
    kubectl("wait", "-n", ns, "--for=jsonpath={.status.phase}=Waiting", "mpu/demo",
            "--timeout=30s")
    header, row = kubectl("get", "mpu", "-n", ns).stdout.splitlines()
    assert header.split() == ["NAME", "PHASE", "CHANNEL", "URL", "READY", "RESTARTS", "AGE"]
    assert row.split()[:3] == ["demo", "Waiting", "demo-channel"]
    assert "auth_key" not in row  # the CRD's URL column shows status.streamURL, scrubbed
    again = kubectl("apply", "-n", ns, "-f", str(SAMPLES)).stdout  # the patch path
    assert "mputask.mpu-operator.io/demo unchanged" in again


def test_wait_for_condition_and_jsonpath_after_a_join(kubectl: Kubectl, sandbox: Sandbox,
                                                      ns: str) -> None:
    apply_sample(kubectl, ns)
    kubectl("wait", "-n", ns, "--for=jsonpath={.status.phase}=Waiting", "mpu/demo",
            "--timeout=30s")
    join(sandbox)
    kubectl("wait", "-n", ns, "--for=jsonpath={.status.phase}=Running", "mpu/demo",
            "--timeout=30s")
    kubectl("wait", "-n", ns, "--for=condition=Ready", "mpu/demo", "--timeout=10s")
    obj = json.loads(kubectl("get", "-n", ns, "mpu/demo", "-o", "json").stdout)
    assert obj["status"]["phase"] == "Running"
    assert "phase: Running" in kubectl("get", "-n", ns, "mpu/demo", "-o", "yaml").stdout


def test_describe_and_get_events_show_the_operators_events(kubectl: Kubectl, ns: str) -> None:
    apply_sample(kubectl, ns)
    kubectl("wait", "-n", ns, "--for=jsonpath={.status.taskId}", "mpu/demo", "--timeout=30s")
    described = kubectl("describe", "-n", ns, "mpu", "demo").stdout
    events = described.split("Events:")[1]
    assert "Started" in events, described
    listed = kubectl("get", "events", "-n", ns).stdout
    assert "LAST SEEN" in listed.splitlines()[0]
    assert "mputask/demo" in listed and "Started" in listed


def test_explain_reads_the_crd_schema(kubectl: Kubectl) -> None:
    out = kubectl("explain", "mputask.spec", "--recursive").stdout
    assert "KIND:       MPUTask" in out
    for field in ("channelId", "layoutIds", "streamURLFrom", "restartPolicy"):
        assert field in out
    assert "Desired state" in kubectl("explain", "mpu.spec").stdout


def test_delete_waits_for_the_finalizer(kubectl: Kubectl, sandbox: Sandbox, ns: str) -> None:
    apply_sample(kubectl, ns)
    kubectl("wait", "-n", ns, "--for=jsonpath={.status.taskId}", "mpu/demo", "--timeout=30s")
    task_id = kubectl("get", "-n", ns, "mpu/demo", "-o", "jsonpath={.status.taskId}").stdout
    kubectl("delete", "-n", ns, "mpu/demo", "--timeout=30s")
    # kubectl returned: the object is gone, so the operator has already stopped the task.
    gone = kubectl("get", "-n", ns, "mpu/demo", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr
    assert sandbox.rtc is not None
    assert sandbox.rtc.task(task_id)["status"] != 0  # stopped at the service, not left running


def test_secrets_by_kubectl_create(kubectl: Kubectl, ns: str) -> None:
    kubectl("create", "secret", "generic", "url", "-n", ns, "--from-literal=url=rtmp://x/y")
    assert kubectl("get", "secret", "url", "-n", ns, "-o",
                   "jsonpath={.data.url}").stdout == "cnRtcDovL3gveQ=="
    header = kubectl("get", "secrets", "-n", ns).stdout.splitlines()[0]
    assert header.split() == ["NAME", "TYPE", "DATA", "AGE"]


@pytest.mark.skipif(not HAS_ADMISSION, reason="needs mpu_operator.sandbox.admission"
                                              " (CRD schema and CEL validation)")
def test_a_bad_manifest_is_refused_naming_the_field(kubectl: Kubectl, ns: str) -> None:
    bad = {"apiVersion": "mpu-operator.io/v1alpha1", "kind": "MPUTask",
           "metadata": {"name": "bad"},
           "spec": {"appId": "a", "streamURL": "rtmp://x/y",
                    "layout": {"layoutIds": [1], "cropMode": 7},
                    "encoding": {"mediaEncode": 20}}}
    done = kubectl("apply", "-n", ns, "-f", "-", stdin=json.dumps(bad), check=False)
    assert done.returncode != 0
    assert 'MPUTask "bad" is invalid' in done.stderr, done.stderr  # kubectl's wording
    assert "spec.channelId" in done.stderr and "spec.layout.cropMode" in done.stderr
    assert kubectl("get", "mpu", "-n", ns, "-o", "name").stdout == ""


def test_get_mpul_shows_the_layout_id(kubectl: Kubectl, ns: str) -> None:
    out = kubectl("apply", "-n", ns, "-f", str(SAMPLES / "mpulayout.yaml")).stdout
    assert "mpulayout.mpu-operator.io/stage created" in out
    kubectl("wait", "-n", ns, "--for=condition=Ready", "mpul/stage", "--timeout=30s")
    header, row = kubectl("get", "mpul", "-n", ns).stdout.splitlines()
    assert header.split() == ["NAME", "LAYOUTID", "READY", "AGE"]
    name, layout_id, ready, _ = row.split()
    assert (name, ready) == ("stage", "True") and int(layout_id) >= 10001
    kubectl("delete", "-n", ns, "mpul/stage", "--timeout=30s")
