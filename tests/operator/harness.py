"""The operator under test: ``mpu-operator run`` as a real process, and its stand-ins.

A subprocess is the production path (CLI, settings from the environment, kopf, login via
the kubernetes client's kubeconfig) and it can be SIGKILLed mid-call, which an in-process
operator cannot. Its whole log is kept so that tests can prove no secret was ever printed.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from tests.support.cluster import Cluster

T = TypeVar("T")
_STARTS = itertools.count()  # one log file per start, across processes of one test

APP = "app-test"
AUTH_KEY = "authkey-SENTINEL-0f3c"  # every test URL carries it: it must never be shown
ACCESS_SECRET = "testsecret"
KIND = "MPUTask"
API_VERSION = "mpu-operator.io/v1alpha1"


def url(path: str = "live/show") -> str:
    return f"rtmp://push.example.com/{path}?auth_key={AUTH_KEY}"


def manifest(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "appId": APP, "channelId": f"ch-{name}", "streamURL": url(f"live/{name}"),
        "layout": {"layoutIds": [1, 6]}, "encoding": {"mediaEncode": 20},
    }
    base.update(spec)
    return {"apiVersion": API_VERSION, "kind": KIND,
            "metadata": {"name": name, "namespace": namespace}, "spec": base}


def kubeconfig_for(server: str, directory: Path) -> Path:
    path = directory / "kubeconfig.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: stand-in, cluster: {{server: \"{server}\"}}}}]\n"
        "users: [{name: tester, user: {token: not-checked}}]\n"
        "contexts: [{name: test, context: {cluster: stand-in, user: tester}}]\n"
        "current-context: test\n")
    return path


class OperatorProcess:
    """``python -m mpu_operator run -A`` with a test's environment; start, kill, restart.
    ``verbose``: debug logging, which the scenarios read; the bench runs as deployed."""

    def __init__(self, kubeconfig: Path, env: Mapping[str, str], log_dir: Path, *,
                 verbose: bool = True) -> None:
        self.kubeconfig = kubeconfig
        self.verbose = verbose
        self.env = {**os.environ, **env, "KUBECONFIG": str(kubeconfig)}
        self.log_dir = log_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []

    def start(self) -> OperatorProcess:
        log = self.log_dir / f"operator-{next(_STARTS)}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mpu_operator", "run", "--all-namespaces",
                 *(["--verbose"] if self.verbose else [])],
                env=self.env, stdout=out, stderr=subprocess.STDOUT)
        return self

    def kill(self) -> None:
        """SIGKILL: no cleanup, no finalizer work, like a node dying."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())


def status(kube: Cluster, namespace: str, name: str) -> dict[str, Any]:
    obj = kube.find(KIND, namespace, name)
    return dict((obj or {}).get("status") or {})


def condition(st: Mapping[str, Any], ctype: str) -> dict[str, Any]:
    for cond in st.get("conditions") or []:
        if cond.get("type") == ctype:
            return dict(cond)
    return {}


def wait_phase(kube: Cluster, namespace: str, name: str, phase: str | tuple[str, ...],
               timeout: float = 30, *, reason: str | None = None) -> dict[str, Any]:
    phases = (phase,) if isinstance(phase, str) else phase

    def check() -> dict[str, Any] | None:
        st = status(kube, namespace, name)
        if st.get("phase") not in phases:
            return None
        if reason is not None and condition(st, "Ready").get("reason") != reason:
            return None
        return st
    return kube.wait_for(check, timeout, f"{namespace}/{name} in phase {phases}"
                                         + (f" with reason {reason}" if reason else ""))


def wait_until(kube: Cluster, fn: Callable[[], T], timeout: float, what: str) -> T:
    return kube.wait_for(fn, timeout, what)


def parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def tasks_of(rtc: Any, channel: str) -> list[dict[str, Any]]:
    return [t for t in rtc.tasks() if t["channelId"] == channel]


def temp_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="mpu-op-"))
