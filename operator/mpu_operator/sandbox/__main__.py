"""``python -m mpu_operator.sandbox``: the same as ``mpu-operator sandbox``."""
from __future__ import annotations

import argparse

from mpu_operator.sandbox.arguments import add_arguments, run_sandbox

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m mpu_operator.sandbox")
    add_arguments(parser)
    raise SystemExit(run_sandbox(parser.parse_args()))
