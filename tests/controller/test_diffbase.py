"""kopf's diff base: nothing stored, nothing ever changed (the daemons read changes)."""

from __future__ import annotations

import kopf

from mpu_operator.controller.handlers import ChangesReadByDaemons


def test_every_body_is_its_own_diff_base_and_nothing_is_written() -> None:
    storage = ChangesReadByDaemons()
    body = kopf.Body({"metadata": {"name": "a", "annotations": {"x": "y"}},
                      "spec": {"streamURL": "rtmp://h/l/s?auth_key=k"}, "status": {"p": 1}})
    assert storage.fetch(body=body) == storage.build(body=body)
    assert storage.fetch(body=body) is not None  # never "created anew"
    patch = kopf.Patch()
    storage.store(body=body, patch=patch, essence=storage.build(body=body))
    assert not patch
