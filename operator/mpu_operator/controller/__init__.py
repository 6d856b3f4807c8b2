"""The kopf shell: gathers inputs, asks ``core.decide``, performs the action, writes status."""
