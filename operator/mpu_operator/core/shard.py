"""Which of k operator processes ("shards") drives an MPUTask, and may start on a URL.

The stream-URL rule needs one arbiter per URL: two processes that each see only their own
write-ahead could start two tasks on one URL in the same second. So the arbiter of a URL
is fixed by the URL itself: **only shard ``shard_of_key(url, k)`` ever starts a task on
that URL** (a rule each process checks on its own, with no coordination, so it cannot
race). An object is driven by the shard of its *routing key*: the URL it holds while its
task may be live, else the URL it wants, else (URL not known yet, e.g. a Secret not read)
its namespace/name. Objects that share a URL therefore meet in one process, which
arbitrates them exactly as a single operator does. An object whose Secret resolves to a
URL of another shard hands itself over: its status shows the URL, which moves its routing
key there.

The hash is SHA-256 (stable across processes, versions and machines; never ``hash()``,
which Python salts per process).

**By label** (``MPU_SHARD_SELECTOR``): instead of the hash, a shard drives the objects
whose label ``key`` has one of its values (``key=value`` or ``key in (v1, v2)``). Every
shard names the same key, so an object has at most one shard. A URL can then no longer
have a fixed arbiter, so the rule becomes a constraint on the labels: MPUTasks that share a
stream URL must be in one shard. Each shard still sees every object's use (the index), and
treats another shard's live or waiting use of a URL as a violation of that constraint:
it starts nothing on that URL (``OtherShard(None)``), so the two sides wait, visibly,
instead of racing (see ``Ledger.gate``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mpu_operator.core.status import record_from_status
from mpu_operator.streamurl import stream_key

MAX_SHARDS = 64
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
SELECTOR_RULE = ("must be key=value or key in (v1, v2): one label key (all shards name the "
                 "same key, each with its own values), values of letters, digits, '-', '_' "
                 "and '.' (at most 63)")


@dataclass(frozen=True)
class LabelSelector:
    """``key`` has one of ``values``: the only selector shape whose shards cannot overlap
    (an object has one value per key), unlike ``!=``, ``notin`` or several requirements."""

    key: str
    values: frozenset[str]

    def matches(self, labels: object) -> bool:
        return isinstance(labels, Mapping) and labels.get(self.key) in self.values

    def __str__(self) -> str:
        if len(self.values) == 1:
            return f"{self.key}={next(iter(self.values))}"
        return f"{self.key} in ({', '.join(sorted(self.values))})"


@dataclass(frozen=True)
class Shard:
    """This process is shard ``index`` of ``count`` (``0 <= index < count <= 64``)."""

    index: int
    count: int
    #: ``MPU_SHARD_SELECTOR``: drive the objects it selects instead of a hash's share.
    selector: LabelSelector | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count <= MAX_SHARDS:
            raise ValueError(f"shard {self.index}/{self.count}: must be i/k with "
                             f"0 <= i < k <= {MAX_SHARDS}")

    def __str__(self) -> str:
        if self.selector is not None:
            return f"{self.index}/{self.count} by label {self.selector}"
        return f"{self.index}/{self.count}"

    def owns_key(self, key: str) -> bool:
        """May this shard start a task on the stream URL ``key`` (a ``StreamKey`` text)?
        By label, any URL: the ledger's gate checks the other shards' uses instead."""
        return self.selector is not None or shard_of_key(key, self.count) == self.index

    def owns(self, body: Mapping[str, Any]) -> bool:
        """Does this shard drive the MPUTask ``body``?"""
        if self.selector is not None:
            return self.selector.matches(_mapping(body.get("metadata")).get("labels"))
        return shard_of_key(route_key(body), self.count) == self.index

    def quota_share(self, limit: int) -> int:
        """This shard's slice of a per-app quota: the slices add up to ``limit`` exactly
        (the first ``limit % k`` shards get one more), so the shards together never exceed
        it. A shard whose slice is 0 starts nothing for that app."""
        return limit // self.count + (1 if self.index < limit % self.count else 0)


def parse_shard(text: str) -> Shard:
    """``"i/k"`` (whitespace around the numbers allowed); ValueError naming the rule."""
    rule = f"must be i/k with whole numbers 0 <= i < k <= {MAX_SHARDS}, e.g. 0/2"
    left, sep, right = text.partition("/")
    parts = (left.strip(), right.strip())
    if not sep or not all(p.isascii() and p.isdigit() and len(p) <= 2 for p in parts):
        raise ValueError(rule)
    index, count = int(parts[0]), int(parts[1])
    if not 0 <= index < count <= MAX_SHARDS:
        raise ValueError(rule)
    return Shard(index, count)


def parse_selector(text: str) -> LabelSelector:
    """``key=value``, ``key==value`` or ``key in (v1, v2)``; ValueError naming the rule."""
    text = text.strip()
    match = re.fullmatch(r"(?P<key>[^\s=!(),]+)\s*(?:==?\s*(?P<value>[^\s=!(),]+)|"
                         r"\s+in\s*\((?P<values>[^()]*)\))", text)
    if match is None:
        raise ValueError(SELECTOR_RULE)
    key = match["key"]
    values = [match["value"]] if match["value"] is not None else \
        [v.strip() for v in match["values"].split(",")]
    if not _label_key(key) or not values or not all(_LABEL_NAME.fullmatch(v) for v in values):
        raise ValueError(SELECTOR_RULE)
    return LabelSelector(key, frozenset(values))


def _label_key(key: str) -> bool:
    """A Kubernetes label key: ``[prefix/]name``, prefix a DNS subdomain (at most 253)."""
    prefix, slash, name = key.rpartition("/")
    if slash and not (len(prefix) <= 253 and _DNS_SUBDOMAIN.fullmatch(prefix)):
        return False
    return _LABEL_NAME.fullmatch(name) is not None


def shard_of_key(key: str, count: int) -> int:
    """A stable shard number in ``range(count)`` for any text."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


def shard_of(namespace: str, name: str, count: int) -> int:
    """The shard of an object whose URL is not known yet."""
    return shard_of_key(f"{namespace}/{name}", count)


def route_key(body: Mapping[str, Any]) -> str:
    """The key that picks an object's shard: its held URL, else its wanted URL, else
    ``namespace/name``. Read from the body alone, so every shard computes the same."""
    spec = _mapping(body.get("spec"))
    status = _mapping(body.get("status"))
    record = record_from_status(status)
    if record.state.holds_url and record.stream_key:
        return record.stream_key
    url = spec.get("streamURL")
    if isinstance(url, str) and url:
        return str(stream_key(url))
    shown = status.get("streamURL")  # a Secret's URL as last resolved (no query)
    if isinstance(shown, str) and shown:
        return shown
    meta = _mapping(body.get("metadata"))
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
