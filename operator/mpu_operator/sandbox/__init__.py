"""The sandbox: an embedded Kubernetes API stand-in and what it needs."""
