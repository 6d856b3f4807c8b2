"""The MPUTask API: the spec model, its status schema, the CRD and offline validation.

Kept free of kopf and the Kubernetes client so that ``mpu-operator validate`` and
``mpu-operator crd`` start fast in a CI pipeline.
"""

from mpu_operator.api.problems import Problem
from mpu_operator.api.spec import MPUTaskSpec, SpecResult, parse_spec

__all__ = ["MPUTaskSpec", "Problem", "SpecResult", "parse_spec"]
