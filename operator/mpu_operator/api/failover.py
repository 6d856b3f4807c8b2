"""Backup stream URLs and failover (issue #11): ``spec.failover`` and the backups' rules.

A broadcaster keeps a second ingest (a backup CDN, another region) for the moment the
first one fails. The spec lists the backups in ``backupStreamURLs`` (written out) and
``backupStreamURLsFrom`` (read from Secrets); their *order* is the failover order:
``backupStreamURLs`` entries first, then ``backupStreamURLsFrom`` entries, each list in
the order written. The primary (``streamURL`` or ``streamURLFrom``) comes before them all.

Every backup must be a *different stream* from the primary and from every other backup:
a "backup" that is the same stream would share the service's 10-second URL rule and the
same failing CDN, and so protect nothing. :func:`repeated_streams` is the one comparison,
used by the spec model for the URLs written out and by the operator for the URLs it reads
from Secrets, so both judge alike. It compares :func:`mpu_operator.streamurl.stream_key`
(scheme and host lower-cased, the scheme's default port filled in, the path as written):
the very identity the operator's cluster-wide URL rule uses, so "a different stream" here
means "a URL the URL rule treats as another". It works on keys, which hold no query and
no userinfo, so nothing it says can carry a stream's auth key.

This module imports nothing from :mod:`mpu_operator.api.spec` (which imports it).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, JsonValue

from mpu_operator.api.base import StrictModel
from mpu_operator.api.problems import Problem
from mpu_operator.catalogue import RemoteStatus
from mpu_operator.streamurl import StreamKey

#: At most this many backups, ``backupStreamURLs`` and ``backupStreamURLsFrom`` together.
MAX_BACKUP_STREAM_URLS = 4
#: ``spec.failover.after``'s words and the GetMPUTaskStatus codes they stand for.
FAILOVER_AFTER: dict[str, int] = {"CDNFailure": int(RemoteStatus.CDN_FAILURE),
                                  "URLFailure": int(RemoteStatus.STREAM_URL_FAILURE)}
FailoverTrigger = Literal["CDNFailure", "URLFailure"]
FailoverBack = Literal["Manual", "WhenPrimaryHealthy"]
FAILOVER_BACK: tuple[str, ...] = ("Manual", "WhenPrimaryHealthy")
#: Field names as the rules name them.
BACKUPS = "backupStreamURLs"
BACKUPS_FROM = "backupStreamURLsFrom"


def _check_after(value: list[str]) -> list[str]:
    """Non-empty and distinct. An empty list would mean "never fail over", which leaving
    out the backups already says; a spec that lists backups and then forbids using them
    is far more likely a mistake than a wish, so it is refused with the way out."""
    if not value:
        raise ValueError(f"must list at least one of {', '.join(FAILOVER_AFTER)} (to never "
                         f"fail over, remove {BACKUPS} and {BACKUPS_FROM})")
    repeated = sorted({v for v in value if value.count(v) > 1})
    if repeated:
        raise ValueError(f"must not repeat a reason (repeated: {', '.join(repeated)})")
    return value


class FailoverSpec(StrictModel):
    """When to move to the next backup stream URL, and when to come back."""

    after: Annotated[list[FailoverTrigger], AfterValidator(_check_after)] = Field(
        default=["CDNFailure", "URLFailure"], max_length=len(FAILOVER_AFTER),
        json_schema_extra={"minItems": 1, "x-kubernetes-list-type": "set"},
        description="The task's stops that move it to the next URL at once: CDNFailure "
                    "(the service's status 5) and URLFailure (status 6). Default: both. "
                    "Not empty: to never fail over, leave out the backups.")
    back: FailoverBack = Field(
        default="Manual",
        description="Manual (default): stay on the backup; the task is back on the "
                    "primary when a person restarts it (toggle suspend, or a spec change "
                    "that restarts it) or when failing over comes round to it. "
                    "WhenPrimaryHealthy: go back to the primary at the next restart once "
                    "the primary's cooldown has passed; a healthy backup is never "
                    "interrupted to go back.")

    def status_codes(self) -> frozenset[int]:
        """The GetMPUTaskStatus codes that trigger a failover."""
        return frozenset(FAILOVER_AFTER[word] for word in self.after)


#: What ``Desired`` holds when the spec has no ``failover``: the defaults above.
DEFAULT_STATUS_CODES = frozenset(FAILOVER_AFTER.values())
DEFAULT_BACK = "Manual"


def backup_fields(written: int, from_secrets: int) -> list[str]:
    """The backups' field names in failover order, e.g. ``backupStreamURLsFrom[0]``."""
    return ([f"{BACKUPS}[{i}]" for i in range(written)]
            + [f"{BACKUPS_FROM}[{i}]" for i in range(from_secrets)])


def repeated_streams(streams: Sequence[tuple[str, StreamKey | None]]) -> list[Problem]:
    """A Problem for every stream that is the same stream as an earlier one in the list.

    ``streams`` is (field name, stream key) in failover order, the primary first; a key of
    None (a URL still in an unread Secret) is skipped. The problem names both fields and
    neither URL.
    """
    return _repeats(streams, "is the same stream as {earlier} (same scheme, host, port and "
                             "path); a backup must push to a different stream")


def repeated_secret_keys(refs: Sequence[tuple[str, tuple[str, str] | None]]) -> list[Problem]:
    """A Problem for every Secret key (name, key) read by an earlier URL field too: the
    same Secret key holds the same URL, so it can never be a different stream."""
    return _repeats(refs, "reads the same Secret key as {earlier}; a backup must push to a "
                          "different stream")


def _repeats(items: Sequence[tuple[str, Hashable | None]], rule: str) -> list[Problem]:
    first: dict[Hashable, str] = {}
    problems = []
    for name, key in items:
        if key is None:
            continue
        if key in first:
            problems.append(Problem(name, rule.format(earlier=first[key])))
        else:
            first[key] = name
    return problems


def count_problems(written: int, from_secrets: int) -> list[Problem]:
    """At most :data:`MAX_BACKUP_STREAM_URLS` backups in all."""
    total = written + from_secrets
    if total <= MAX_BACKUP_STREAM_URLS:
        return []
    return [Problem(BACKUPS_FROM if from_secrets else BACKUPS,
                    f"{BACKUPS} and {BACKUPS_FROM} together must have at most "
                    f"{MAX_BACKUP_STREAM_URLS} items (they have {total})")]


#: The CRD's CEL rule for :func:`count_problems` (each list alone has maxItems 4).
COUNT_RULE: dict[str, JsonValue] = {
    "rule": f"(has(self.{BACKUPS}) ? size(self.{BACKUPS}) : 0) + "
            f"(has(self.{BACKUPS_FROM}) ? size(self.{BACKUPS_FROM}) : 0) "
            f"<= {MAX_BACKUP_STREAM_URLS}",
    "message": f"{BACKUPS} and {BACKUPS_FROM} together must have at most "
               f"{MAX_BACKUP_STREAM_URLS} items",
}
