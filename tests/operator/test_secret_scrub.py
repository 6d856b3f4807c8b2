"""No secret part of a stream URL leaves the operator: not in its ``--verbose`` log (where
kopf prints whole bodies), not in Events, status or the annotations it writes.

One object lives through a failed start, a start, an edit and a delete, with a URL that
carries a password, an auth query and a fragment, and a kubectl-style last-applied
annotation that spells the query's ``&`` as ``\\u0026``; the service's error echoes the URL.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any
from urllib.parse import quote

import pytest

from tests.operator.conftest import FAST
from tests.operator.harness import KIND, manifest, status, tasks_of, wait_phase

pytestmark = [pytest.mark.integration]

# Alphanumeric marks: every spelling (JSON, \u, percent, repr) leaves them whole.
USER, PASSWORD, QUERY, FRAGMENT, ROTATED = (
    "scrubUSER7f3a", "scrubPASS7f3a", "scrubQUERY7f3a", "scrubFRAG7f3a", "scrubROTATED2b9c")
SECRETS = (USER, PASSWORD, QUERY, FRAGMENT, ROTATED)
HOST_PATH = "push.example.com:1935/live/scrub"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _url(query_secret: str) -> str:
    return (f"rtmp://{USER}:{PASSWORD}@{HOST_PATH}?auth_key={query_secret}&sig=1"
            f"#{FRAGMENT}")


def _go_json(value: Any) -> str:
    """What kubectl writes into last-applied: compact JSON, & < > as \\u0026 \\u003c \\u003e."""
    return (json.dumps(value, separators=(",", ":"))
            .replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e"))


def _with_last_applied(obj: dict[str, Any]) -> dict[str, Any]:
    obj["metadata"]["annotations"] = {LAST_APPLIED: _go_json(obj) + "\n"}
    return obj


def _echoing_fault(rtc: Any, url: str) -> None:
    """The next StartMPUTask fails (retryably) with a message quoting the URL three ways."""
    message = (f"StreamURL {url} is unreachable (request: {json.dumps({'u': url})}, "
               f"StreamURL={quote(url, safe='')})")
    body = json.dumps({"action": "StartMPUTask", "code": "ServiceUnavailable", "http": 503,
                       "message": message}).encode()
    request = urllib.request.Request(rtc.url + "/_emulator/faults", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status < 300


class Seen:
    """Everything the operator wrote that people can read, collected along the way."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def snapshot(self, kube: Any, namespace: str, name: str) -> dict[str, Any] | None:
        obj = kube.find(KIND, namespace, name)
        if obj is not None:
            annotations = dict((obj.get("metadata") or {}).get("annotations") or {})
            annotations.pop(LAST_APPLIED, None)  # the user's own copy, not ours
            self.texts.append(json.dumps({"status": obj.get("status"),
                                          "annotations": annotations}))
        for event in kube.events(namespace):
            self.texts.append(json.dumps([event.get("reason"), event.get("message")]))
        return obj

    def leaks(self) -> list[str]:
        return [f"{secret} in {text[:300]}" for text in self.texts for secret in SECRETS
                if secret in text]


@pytest.mark.rtc(**FAST)
def test_no_secret_part_of_a_stream_url_reaches_logs_events_status_or_annotations(
        kube, namespace, rtc, start_operator) -> None:
    seen = Seen()
    operator = start_operator()
    _echoing_fault(rtc, _url(QUERY))
    kube.create(_with_last_applied(manifest("sec", namespace, channelId="ch-sec",
                                            streamURL=_url(QUERY))))
    first = wait_phase(kube, namespace, "sec", "Waiting", timeout=25)  # after the failed try
    seen.snapshot(kube, namespace, "sec")
    assert rtc.stats()["errors"].get("ServiceUnavailable") == 1

    # The edit: rotate the auth key (kubectl apply rewrites last-applied with it) and change
    # the layout; the same stream, so the layout is updated live.
    edited = _with_last_applied(manifest("sec", namespace, channelId="ch-sec",
                                         streamURL=_url(ROTATED), layout={"layoutIds": [1, 2, 6]}))
    kube.patch(KIND, namespace, "sec", {"metadata": edited["metadata"],
                                        "spec": edited["spec"]})
    kube.wait_for(lambda: [t["layoutIds"] for t in tasks_of(rtc, "ch-sec")] == [[1, 2, 6]], 20,
                  "the new layout at the service")
    kube.wait_for(lambda: status(kube, namespace, "sec").get("observedGeneration") == 2,
                  20, "status to observe the edit")
    assert tasks_of(rtc, "ch-sec")[0]["taskId"] == first["taskId"]
    seen.snapshot(kube, namespace, "sec")

    kube.delete(KIND, namespace, "sec")
    kube.wait_for(lambda: seen.snapshot(kube, namespace, "sec") is None, 20,
                  "the object to go (snapshots taken while it is deleted)")
    assert rtc.stats()["liveTasks"] == 0

    operator.stop()
    log = operator.log_text()
    leaks = seen.leaks() + [f"{s} in the operator log" for s in SECRETS if s in log]
    assert not leaks, "\n".join(leaks)
    # The scrubbing was exercised, and left what people need: host, path, the failure.
    assert f"'{LAST_APPLIED}': '{{" in log, "kopf did not log the body with the annotation"
    assert HOST_PATH in log
    events = " ".join(str(e.get("message")) for e in kube.events(namespace))
    assert "ServiceUnavailable" in events and "push.example.com" in events
