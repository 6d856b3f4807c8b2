"""``mpu-operator sandbox`` as a process (Ctrl-C), and ``make demo``'s script to the end."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.sandbox.conftest import needs_kubectl

pytestmark = [pytest.mark.integration]
ROOT = Path(__file__).resolve().parents[2]


@needs_kubectl
def test_sandbox_serves_kubectl_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    from tests.sandbox.conftest import kubectl_for

    kubeconfig = tmp_path / "kc"
    proc = subprocess.Popen([sys.executable, "-m", "mpu_operator", "sandbox",
                             f"--kubeconfig={kubeconfig}"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:  # the hints end with this line once all is up
            lines.append(line)
            if "Ctrl-C stops everything" in line:
                break
        assert f"export KUBECONFIG={kubeconfig}" in "".join(lines)
        kubectl = kubectl_for(kubeconfig, tmp_path / "cache")
        assert "default" in kubectl("get", "namespaces").stdout
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
        assert time.monotonic() - started < 8
        assert "stopped in" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@needs_kubectl
def test_the_demo_tells_the_whole_story() -> None:
    done = subprocess.run([sys.executable, "-m", "mpu_operator.sandbox.demo", "--pace", "0"],
                          cwd=ROOT, capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for step in ("Waiting", "Running", "Suspended", "LayoutUpdated", '"demo" deleted',
                 "The end"):
        assert step in done.stdout


def test_sandbox_help_needs_no_extra() -> None:
    done = subprocess.run([sys.executable, "-m", "mpu_operator", "sandbox", "--help"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and "--rtc-port" in done.stdout and "--api-port" in done.stdout
