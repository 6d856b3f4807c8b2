"""The sandbox: mpu-operator's whole system on one machine, no cluster needed.

* :mod:`.kube` - a Kubernetes API server stand-in (kmock based) good enough for kopf and
  for real ``kubectl``; :mod:`.rules` its object rules, :mod:`.resources` what it serves,
  :mod:`.discovery`, :mod:`.openapi` and :mod:`.tables` what kubectl reads;
* :mod:`.serve` - serving it from a thread; :mod:`.command` - ``mpu-operator sandbox``;
  :mod:`.demo` - ``make demo``;
* :mod:`.admission` - what the apiserver does to a custom resource before storing it:
  prune, default, validate against the CRD's schema and its CEL rules.

The operator's tests use this same code (``tests/support/plugin.py``). Needs the
``[sandbox]`` extra (kmock, and a CEL library for admission).
"""
