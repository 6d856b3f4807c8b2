"""Backup stream URLs held in Secrets (issue #11): read like ``streamURLFrom``'s, and a
missing or invalid one blocks the start, naming the field and never the value.

Claims are read off the cluster (status) and the RTC emulator's calls only.
"""

from __future__ import annotations

import pytest

from tests.operator.conftest import FAST
from tests.operator.harness import condition, manifest, wait_phase
from tests.operator.kit import b64, secret, wait_status

pytestmark = [pytest.mark.integration, pytest.mark.portable]

AUTH = "authkey-BACKUP-SENTINEL-7d21"


def _with_backup(name: str, namespace: str) -> dict:
    body = manifest(name, namespace)
    body["spec"]["backupStreamURLsFrom"] = [
        {"secretKeyRef": {"name": f"backup-{name}", "key": "url"}}]
    return body


def _waiting_with(reason: str, field: str):
    def check(st: dict) -> bool:
        ready = condition(st, "Ready")
        return ready.get("status") == "False" and ready.get("reason") == reason \
            and str(ready.get("message", "")).startswith(field)
    return check


@pytest.mark.rtc(**FAST)
def test_a_backup_secret_blocks_the_start_until_it_holds_another_stream(
        kube, namespace, rtc, start_operator) -> None:
    start_operator(MPU_SECRET_CACHE_SECONDS="1")
    kube.create(_with_backup("show", namespace))
    wait_status(kube, namespace, "show", _waiting_with("SecretNotFound",
                                                       "backupStreamURLsFrom[0]: "), 20,
                "Ready=False, SecretNotFound naming backupStreamURLsFrom[0]")
    # the primary's stream again, under another auth key: not a backup
    same = f"RTMP://push.example.com:1935/live/show?auth_key={AUTH}"
    kube.create(secret("backup-show", namespace, url=same))
    st = wait_status(kube, namespace, "show", _waiting_with("InvalidStreamURL",
                                                            "backupStreamURLsFrom[0]: "), 20,
                     "Ready=False, InvalidStreamURL: the same stream as streamURL")
    assert "is the same stream as streamURL" in condition(st, "Ready")["message"]
    assert condition(st, "Stalled")["status"] == "True"
    assert AUTH not in str(st)
    assert rtc.stats()["calls"].get("StartMPUTask", 0) == 0

    kube.patch("secrets", namespace, "backup-show",
               {"data": {"url": b64(f"rtmp://push.example.com/live/backup?auth_key={AUTH}")}})
    st = wait_phase(kube, namespace, "show", "Waiting", timeout=30)
    assert condition(st, "Ready")["status"] == "True"
    assert AUTH not in str(st)
