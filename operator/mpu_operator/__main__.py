"""``python -m mpu_operator`` is the ``mpu-operator`` command."""

from mpu_operator.cli import main

raise SystemExit(main())
