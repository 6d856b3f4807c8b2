"""The ``mpu-operator`` command: run, crd, validate, emulator, sandbox.

Each subcommand imports its module lazily so that ``validate`` in a GitOps pipeline does not
pay for kopf and the Kubernetes client.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mpu-operator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the operator (kopf) against the current cluster")
    scope = run.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", action="append", default=[],
                       help="watch this namespace (repeatable; glob patterns allowed)")
    scope.add_argument("-A", "--all-namespaces", action="store_true",
                       help="watch every namespace (the default when no --namespace)")
    run.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    run.add_argument("--liveness", default=None, metavar="URL",
                     help="serve a liveness probe, e.g. http://0.0.0.0:8080/healthz")

    sub.add_parser("crd", help="print the MPUTask and MPULayout CustomResourceDefinitions "
                              "(one YAML stream)")

    validate = sub.add_parser("validate", help="validate MPUTask and MPULayout manifests "
                                                "offline")
    validate.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")

    emu = sub.add_parser("emulator", help="serve the RTC MPU API emulator")
    emu.add_argument("--host", default="127.0.0.1")
    emu.add_argument("--port", type=int, default=8080)
    emu.add_argument("--credential", action="append", default=[], metavar="ID:SECRET",
                     help="an accepted AccessKeyId:AccessKeySecret (repeatable; "
                          "default testid:testsecret)")
    emu.add_argument("--idle-stop-seconds", type=float, default=120.0)
    emu.add_argument("--url-cooldown-seconds", type=float, default=10.0)
    emu.add_argument("--max-concurrent-tasks", type=int, default=10)
    emu.add_argument("--qps", type=float, default=None, help="throttle beyond N calls/s")
    emu.add_argument("--latency-ms", type=float, default=0.0)
    emu.add_argument("--task-clear-seconds", type=float, default=None,
                     help="free a stopped task's TaskId after this long (default: never)")
    emu.add_argument("--fault-hold-seconds", type=float, default=30.0,
                     help="how long a timeout fault holds a call before dropping it")
    emu.add_argument("-v", "--verbose", action="store_true")

    sandbox = sub.add_parser(
        "sandbox", help="the whole system on this machine: a Kubernetes API for kubectl, the"
                        " RTC emulator and the operator (needs the [sandbox] extra)")
    from mpu_operator.sandbox.arguments import add_arguments

    add_arguments(sandbox)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "crd":
        from mpu_operator.api.crd import render_all

        sys.stdout.write(render_all())
        return 0
    if args.command == "validate":
        from mpu_operator.api.validate import main as validate_main

        return validate_main(args.paths, out=sys.stdout)
    if args.command == "emulator":
        from mpu_operator.emulator.server import main as emulator_main

        return emulator_main(args)
    if args.command == "sandbox":
        from mpu_operator.sandbox.arguments import run_sandbox

        return run_sandbox(args)
    from mpu_operator.controller.runner import run

    return run(namespaces=args.namespace, all_namespaces=args.all_namespaces,
               verbose=args.verbose, liveness=args.liveness)
