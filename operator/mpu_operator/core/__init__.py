"""The operator's decisions as pure functions over plain data: no I/O, no clock of its own.

``decide`` chooses the next action from the desired state, the recorded cloud state, the
URL/quota gates and the time; ``transitions`` folds each call's outcome back into the
record; ``status`` renders what users see. The kopf shell in ``controller`` only gathers
inputs, performs the action and writes the result.
"""
