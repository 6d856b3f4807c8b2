"""Fixtures for the MPUTask API tests: one valid spec to bend, and a secret to look for."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

#: The auth key of the stream URL below: no problem text may ever contain it.
SECRET = "auth_key=1700000000-0-0-5f4dcc3b5aa765d61d8327deb882cf99"
SECRET_URL = f"rtmp://push.example.com/live/show?{SECRET}"

VALID: dict[str, Any] = {
    "appId": "app-1",
    "channelId": "room-1",
    "streamURL": SECRET_URL,
    "layout": {"layoutIds": [1, 2, 6]},
    "encoding": {"mediaEncode": 20},
}

Edit = Callable[..., dict[str, Any]]


def edited(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with the dotted ``path`` set to ``value`` (``...`` deletes)."""
    spec = copy.deepcopy(base)
    *parents, last = path.split(".")
    node = spec
    for key in parents:
        node = node.setdefault(key, {})
    if value is ...:
        node.pop(last, None)
    else:
        node[last] = value
    return spec


@pytest.fixture
def valid() -> dict[str, Any]:
    return copy.deepcopy(VALID)


@pytest.fixture
def edit() -> Edit:
    """edit("layout.cropMode", 3) -> the valid spec with that one change."""
    def _edit(path: str, value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
        return edited(VALID if base is None else base, path, value)
    return _edit


@pytest.fixture
def secret() -> str:
    return SECRET
