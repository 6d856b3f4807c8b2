"""``make demo``: the life of an MPUTask, told with real kubectl against the sandbox.

Starts :class:`~mpu_operator.sandbox.command.Sandbox` (API stand-in, RTC emulator, the
operator as a process), then: apply ``deploy/samples/``, a host joins the channel (the RTC
emulator's control API), the task goes Running, a live layout edit, suspend, resume,
delete. Every step prints the command and ``kubectl get mpu``. Exits 0 when the story
completes, 1 with the reason when a step does not happen in time.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from mpu_operator.sandbox.command import Sandbox

APP, CHANNEL, TASK = "your-rtc-app-id", "demo-channel", "demo"
STEP_TIMEOUT = 60


class DemoFailed(RuntimeError):
    """A step did not reach its expected state; the message says which."""


class Demo:
    def __init__(self, sandbox: Sandbox, kubectl: str, work: Path, pace: float) -> None:
        self.sandbox = sandbox
        self.kubectl_path = kubectl
        self.env = {**os.environ, "KUBECONFIG": str(sandbox.kubeconfig)}
        self.cache = work / "kube-cache"
        self.pace = pace

    def kubectl(self, *args: str, show: bool = True) -> str:
        """Run kubectl, print the command and what it said; raise if it failed."""
        if show:
            print(f"\n$ kubectl {' '.join(args)}", flush=True)
        done = subprocess.run([self.kubectl_path, f"--cache-dir={self.cache}", *args],
                              env=self.env, capture_output=True, text=True, timeout=120)
        output = (done.stdout + done.stderr).rstrip()
        if show and output:
            print(output, flush=True)
        if done.returncode != 0:
            raise DemoFailed(f"kubectl {' '.join(args)} exited {done.returncode}: {output}")
        return done.stdout

    def say(self, text: str) -> None:
        print(f"\n--- {text}", flush=True)
        time.sleep(self.pace)

    def join(self, user: str) -> None:
        assert self.sandbox.rtc is not None
        url = f"{self.sandbox.rtc.url}/_emulator/apps/{APP}/channels/{CHANNEL}/users/{user}"
        print(f"\n$ curl -X POST {url}", flush=True)
        with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=10) as r:
            print(json.loads(r.read()), flush=True)

    def wait_phase(self, phase: str) -> None:
        self.kubectl("wait", f"--for=jsonpath={{.status.phase}}={phase}", f"mpu/{TASK}",
                     f"--timeout={STEP_TIMEOUT}s")

    def wait_observed(self) -> None:
        """Until the operator has acted on the latest spec (observedGeneration caught up)."""
        generation = self.kubectl("get", f"mpu/{TASK}", "-o",
                                  "jsonpath={.metadata.generation}", show=False)
        self.kubectl("wait", f"--for=jsonpath={{.status.observedGeneration}}={generation}",
                     f"mpu/{TASK}", f"--timeout={STEP_TIMEOUT}s")

    def patch(self, spec: dict[str, object]) -> None:
        self.kubectl("patch", f"mpu/{TASK}", "--type=merge", "-p", json.dumps({"spec": spec}))

    def run(self, samples: Path) -> None:
        self.say("1. Apply the sample: two Secrets (push URL, credentials) and an MPUTask")
        self.kubectl("apply", "-f", str(samples))
        self.kubectl("wait", "--for=jsonpath={.status.phase}=Waiting", f"mpu/{TASK}",
                     f"--timeout={STEP_TIMEOUT}s")
        self.kubectl("get", "mpu")
        self.say("2. Nobody is in the channel yet. A host joins (the RTC emulator plays them)")
        self.join("host")
        self.wait_phase("Running")
        self.kubectl("wait", "--for=condition=Ready", f"mpu/{TASK}", "--timeout=10s")
        self.kubectl("get", "mpu")
        self.say("3. A live layout edit: crop mode 2 -> 1, applied without a restart")
        self.patch({"layout": {"cropMode": 1}})
        self.wait_observed()
        self.kubectl("get", "mpu")
        self.say("4. Suspend: the cloud task stops, the object stays")
        self.patch({"suspend": True})
        self.wait_phase("Suspended")
        self.kubectl("get", "mpu")
        self.say("5. Resume: a new cloud task starts (after the push URL's cooldown)")
        self.patch({"suspend": False})
        self.wait_phase("Running")
        self.kubectl("get", "mpu")
        self.say("6. What happened, as Events")
        self.kubectl("get", "events", "--field-selector", f"involvedObject.name={TASK}",
                     "--sort-by=.metadata.creationTimestamp")
        self.say("7. Delete: kubectl waits while the operator stops the task and lets go")
        self.kubectl("delete", f"mpu/{TASK}", f"--timeout={STEP_TIMEOUT}s")
        self.kubectl("get", "mpu")


def find_samples(given: str | None) -> Path:
    candidates = [Path(given)] if given else [Path("deploy/samples"), Path(__file__).resolve(
        ).parents[3] / "deploy" / "samples"]
    for path in candidates:
        if path.is_dir():
            return path
    raise DemoFailed(f"no samples folder at {', '.join(map(str, candidates))}; run from the"
                     " repository root or pass --samples")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mpu_operator.sandbox.demo",
                                     description=__doc__)
    parser.add_argument("--samples", default=None, help="default: deploy/samples")
    parser.add_argument("--pace", type=float, default=0.5,
                        help="seconds to pause at each step, so a person can read along")
    args = parser.parse_args(argv)
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print("the demo drives the real kubectl, which is not on PATH (Debian/Ubuntu:"
              " apt-get install kubernetes-client)", file=sys.stderr)
        return 2
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mpu-demo-") as tmp:
        work = Path(tmp)
        try:
            samples = find_samples(args.samples)
            with Sandbox(work / "sandbox.kubeconfig") as sandbox:
                print(sandbox.hints().split("\n\n")[0], flush=True)
                try:
                    Demo(sandbox, kubectl, work, args.pace).run(samples)
                except DemoFailed:
                    print(f"\n--- the operator's log (last lines):\n"
                          f"{_tail(sandbox.operator_log)}", file=sys.stderr)
                    raise
        except DemoFailed as e:
            print(f"\ndemo FAILED: {e}", file=sys.stderr)
            return 1
    print(f"\n--- The end: the whole story took {time.monotonic() - started:.0f}s."
          " Try it yourself: mpu-operator sandbox", flush=True)
    return 0


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(none)"


if __name__ == "__main__":
    raise SystemExit(main())
