"""Short hashes of the parameters a running task was started or updated with.

Comparing hashes (not values) keeps the stream URL's auth key out of status while still
telling whether the spec moved away from what the service runs.
"""

from __future__ import annotations

import hashlib
import json

from mpu_operator.rtc.params import LayoutParams, StartParams
from mpu_operator.streamurl import stream_key


def _digest(value: object) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def layout_fingerprint(layout: LayoutParams) -> str:
    return _digest({
        "ids": list(layout.layout_ids), "crop": layout.crop_mode,
        "bg": layout.background_color,
        "panes": [[p.pane_id, p.user_id, p.source_type] for p in layout.user_panes],
    })


def immutable_fingerprint(start: StartParams, task_id_base: str) -> str:
    """Everything UpdateMPULayout can't change. The URL counts without its query: a
    rotated auth key is used at the next start and does not interrupt a live broadcast."""
    return _digest({
        "app": start.app_id, "channel": start.channel_id,
        "url": str(stream_key(start.stream_url)), "encode": start.media_encode,
        "profile": start.task_profile, "subs": list(start.subscribe_users),
        "taskId": task_id_base,
    })
