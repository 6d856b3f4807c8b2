"""``mpu-operator run`` with no cluster: exit 2 at once with one helpful line (issue 8 §1).

It used to print a traceback and let kopf retry for ever. The CLI runs in a subprocess with
an empty environment, so nothing from the developer's machine (a real ~/.kube/config, a
KUBECONFIG, in-cluster variables) can leak in.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

DEADLINE = 20.0  # seconds; the CLI answers in ~2 s (most of it imports)


def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {"HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", **env}
    return subprocess.run([sys.executable, "-m", "mpu_operator", "run"], env=clean,
                          capture_output=True, text=True, timeout=DEADLINE, check=False)


def _assert_one_helpful_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode == 2, (done.returncode, lines)
    assert len(lines) == 1, lines
    line = lines[0]
    assert "Traceback" not in line
    for word in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT",
                 "mpu-operator sandbox"):
        assert word in line, (word, line)
    return line


def test_no_kubeconfig_and_not_in_a_pod(tmp_path: Path) -> None:
    line = _assert_one_helpful_line(
        _run(tmp_path, KUBECONFIG=str(tmp_path / "nowhere" / "kubeconfig")))
    assert str(tmp_path / "nowhere" / "kubeconfig") in line


def test_no_kubeconfig_variable_and_no_home_config(tmp_path: Path) -> None:
    line = _assert_one_helpful_line(_run(tmp_path))
    assert str(tmp_path / "home" / ".kube" / "config") in line


def test_kubeconfig_whose_server_is_gone(tmp_path: Path) -> None:
    """A deleted kind cluster: the kubeconfig is fine, nothing listens at its server."""
    with socket.socket() as sock:  # a port that was free a moment ago: connection refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: gone, cluster: {{server: 'http://127.0.0.1:{port}'}}}}]\n"
        "users: [{name: u, user: {token: not-a-secret}}]\n"
        "contexts: [{name: c, context: {cluster: gone, user: u}}]\ncurrent-context: c\n")
    line = _assert_one_helpful_line(_run(tmp_path, KUBECONFIG=str(config)))
    assert f"127.0.0.1:{port}" in line


@pytest.mark.parametrize("bad", ["not: [valid", "apiVersion: v1\nkind: Config\n"])
def test_unusable_kubeconfig(tmp_path: Path, bad: str) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(bad)
    _assert_one_helpful_line(_run(tmp_path, KUBECONFIG=str(config)))
