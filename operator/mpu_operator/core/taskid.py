"""TaskIds: deterministic, valid for the service, and fresh for every (re)start.

The service refuses to start a TaskId it has not cleared yet ("task already exists"), so
each incarnation gets its own id; derived ids are stable for the same object so that an
operator restarted mid-call finds (and adopts) the task it started.
"""

from __future__ import annotations

import hashlib
import re

from mpu_operator.catalogue import MAX_TASK_ID_BYTES

_INVALID = re.compile(r"[^A-Za-z0-9_-]+")


def _clean(text: str) -> str:
    return _INVALID.sub("-", text).strip("-")


def derive_base(namespace: str, name: str, uid: str) -> str:
    """``{namespace}-{name}-{uid hash}``, cut to leave room for an incarnation suffix."""
    digest = hashlib.sha256(uid.encode()).hexdigest()[:8]
    head = _clean(f"{namespace}-{name}")[: MAX_TASK_ID_BYTES - len(digest) - 1 - 6]
    return f"{head}-{digest}" if head else digest


def for_incarnation(base: str, incarnation: int, *, user_given: bool) -> str:
    """The TaskId of the ``incarnation``-th start (1-based).

    A user's own taskId is used as is for the first start; later ones, and every derived
    id, carry ``-N`` so that no two starts share an id.
    """
    if user_given and incarnation <= 1:
        return base
    suffix = f"-{incarnation}"
    return base[: MAX_TASK_ID_BYTES - len(suffix)] + suffix
