"""``mpu-operator sandbox``: the whole system on one machine, reachable with real kubectl.

Three parts, each the same code the tests use:

* the Kubernetes API stand-in (:class:`~mpu_operator.sandbox.kube.KubeEmulator`) with the
  MPUTask CRD installed, on ``--api-port``;
* the RTC MPU emulator on ``--rtc-port``; its control API (``/_emulator/...``) plays the
  people who join and leave channels;
* the operator itself: ``mpu-operator run -A`` as a child process, pointed at both by the
  kubeconfig this command writes and by ``MPU_RTC_ENDPOINT`` - the production code path.

Ctrl-C (SIGINT) or SIGTERM stops all three within a few seconds.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType
from typing import TextIO

from mpu_operator.api import layout_crd
from mpu_operator.api.crd import build_crd
from mpu_operator.emulator.config import EmulatorConfig
from mpu_operator.emulator.harness import EmulatorThread
from mpu_operator.sandbox.kube import KubeEmulator
from mpu_operator.sandbox.resources import CRDS
from mpu_operator.sandbox.serve import ServerThread

#: The credentials the operator uses, and the ones deploy/samples/ carries as placeholders:
#: the emulator accepts both so that the sample applies unchanged.
OPERATOR_KEY = ("sandbox", "sandbox-secret")
SAMPLE_KEY = ("REPLACE_ME", "REPLACE_ME")
#: Short URL cooldowns and polls on both sides, so a demo takes seconds, not minutes.
COOLDOWN_SECONDS = 2.0
OPERATOR_STOP_SECONDS = 5.0


def write_kubeconfig(path: Path, server: str) -> None:
    """A kubeconfig for the stand-in: no TLS, a token nobody checks, namespace default."""
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: mpu-sandbox\n  cluster:\n    server: {server}\n"
        "users:\n- name: mpu-sandbox\n  user:\n    token: sandbox\n"
        "contexts:\n- name: mpu-sandbox\n  context:\n    cluster: mpu-sandbox\n"
        "    user: mpu-sandbox\n    namespace: default\n"
        "current-context: mpu-sandbox\n")
    path.chmod(0o600)


def operator_env(kubeconfig: Path, rtc_url: str) -> dict[str, str]:
    key_id, secret = OPERATOR_KEY
    return {**os.environ, "KUBECONFIG": str(kubeconfig.resolve()), "MPU_RTC_ENDPOINT": rtc_url,
            "ALIBABA_CLOUD_ACCESS_KEY_ID": key_id, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret,
            "MPU_URL_COOLDOWN_SECONDS": str(COOLDOWN_SECONDS), "MPU_POLL_FAST_SECONDS": "0.5",
            "MPU_POLL_STEADY_SECONDS": "2", "MPU_RESTART_BACKOFF_MAX_SECONDS": "10"}


class Sandbox:
    """The three parts, started in order and stopped in reverse; usable as a context manager."""

    def __init__(self, kubeconfig: Path, *, api_port: int = 0, rtc_port: int = 0,
                 operator_log: Path | None = None, verbose: bool = False,
                 start_operator: bool = True) -> None:
        self.kubeconfig = kubeconfig
        self.api_port, self.rtc_port = api_port, rtc_port
        self.operator_log = operator_log or kubeconfig.with_name(kubeconfig.name + ".log")
        self.verbose = verbose
        self.start_operator = start_operator
        self.api: ServerThread | None = None
        self.rtc: EmulatorThread | None = None
        self.operator: subprocess.Popen[bytes] | None = None
        self._stack = ExitStack()

    def __enter__(self) -> Sandbox:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _start(self) -> None:
        kube = KubeEmulator()
        self.api = self._stack.enter_context(
            ServerThread(kube, port=self.api_port, name="kube-api"))
        self.api.call(lambda: kube._create(CRDS, None, build_crd()))
        self.api.call(lambda: kube._create(CRDS, None, layout_crd.build_crd()))
        config = EmulatorConfig(port=self.rtc_port, url_cooldown_seconds=COOLDOWN_SECONDS,
                                credentials=dict([OPERATOR_KEY, SAMPLE_KEY]))
        self.rtc = self._stack.enter_context(EmulatorThread(config, port=self.rtc_port))
        write_kubeconfig(self.kubeconfig, self.api.url)
        if self.start_operator:
            self._stack.enter_context(self._operator())

    @contextmanager
    def _operator(self) -> Iterator[subprocess.Popen[bytes]]:
        assert self.rtc is not None
        command = [sys.executable, "-m", "mpu_operator", "run", "--all-namespaces"]
        with self.operator_log.open("wb") as log:
            self.operator = subprocess.Popen(
                command + (["--verbose"] if self.verbose else []),
                env=operator_env(self.kubeconfig, self.rtc.url), stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            yield self.operator
        finally:
            stop_process(self.operator, OPERATOR_STOP_SECONDS)

    def hints(self) -> str:
        """What to type next, with this run's addresses."""
        assert self.api is not None and self.rtc is not None
        join = f"{self.rtc.url}/_emulator/apps/your-rtc-app-id/channels/demo-channel/users/host"
        return "\n".join([
            "mpu-operator sandbox is running:",
            f"  Kubernetes API  {self.api.url}  (MPUTask and MPULayout CRDs installed)",
            f"  RTC emulator    {self.rtc.url}  (control API: {self.rtc.url}/_emulator)",
            f"  operator        pid {self.operator.pid if self.operator else '-'},"
            f" log {self.operator_log}",
            "",
            "Try, in another shell:",
            f"  export KUBECONFIG={self.kubeconfig.resolve()}",
            "  kubectl apply -f deploy/samples/mputask.yaml",
            "  kubectl get mpu -w                       # Waiting until someone joins",
            f"  curl -X POST {join}",
            "  kubectl wait --for=condition=Ready mpu/demo",
            "  kubectl describe mpu demo",
            "  kubectl explain mputask.spec.layout",
            "  kubectl delete mpu demo",
            "",
            "Ctrl-C stops everything.",
        ])


def stop_process(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds: kopf exits cleanly on SIGTERM."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def main(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with Sandbox(Path(args.kubeconfig), api_port=args.api_port, rtc_port=args.rtc_port,
                     operator_log=Path(args.operator_log) if args.operator_log else None,
                     verbose=args.verbose) as sandbox:
            print(sandbox.hints(), file=out, flush=True)
            while not stop.wait(0.5):
                if sandbox.operator is not None and sandbox.operator.poll() is not None:
                    print(f"the operator exited ({sandbox.operator.returncode}); see"
                          f" {sandbox.operator_log}", file=sys.stderr)
                    return 1
            print("stopping...", file=out, flush=True)
            started = time.monotonic()
        print(f"stopped in {time.monotonic() - started:.1f}s", file=out, flush=True)
        return 0
    except OSError as e:  # e.g. a port in use
        print(f"mpu-operator sandbox: {e}", file=sys.stderr)
        return 2
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
