"""The ``sandbox`` subcommand's flags, importable without the ``[sandbox]`` extra.

``mpu-operator --help`` builds every subparser; only running the sandbox needs kmock.
"""
from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kubeconfig", default="sandbox.kubeconfig", metavar="PATH",
                        help="where to write the kubeconfig (default: ./sandbox.kubeconfig)")
    parser.add_argument("--api-port", type=int, default=0, metavar="PORT",
                        help="the Kubernetes API's port on 127.0.0.1 (default: any free one)")
    parser.add_argument("--rtc-port", type=int, default=0, metavar="PORT",
                        help="the RTC emulator's port on 127.0.0.1 (default: any free one)")
    parser.add_argument("--operator-log", default=None, metavar="PATH",
                        help="the operator's log (default: the kubeconfig's path + .log)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="the operator logs at debug level")


def run_sandbox(args: argparse.Namespace) -> int:
    try:
        from mpu_operator.sandbox.command import main
    except ModuleNotFoundError as e:
        print(f"mpu-operator sandbox needs the [sandbox] extra ({e.name} is missing):"
              " pip install 'mpu-operator[sandbox]'", file=sys.stderr)
        return 2
    return main(args)
