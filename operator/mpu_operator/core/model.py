"""Plain data the core works on: who an MPUTask is, what it wants, what we know of its task."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from mpu_operator.catalogue import RemoteStatus
from mpu_operator.rtc.params import LayoutParams, StartParams, UpdateTaskParams
from mpu_operator.streamurl import StreamKey


@dataclass(frozen=True, order=True)
class Owner:
    """An MPUTask's identity, ordered for arbitration: older first, then namespace/name.

    ``uid`` tells a re-created object from its predecessor of the same name, and breaks
    ties of the one-second creationTimestamp where TaskIds are arbitrated.
    """

    created: datetime
    namespace: str
    name: str
    uid: str = ""

    def __hash__(self) -> int:
        """Cached: the ledger's indices look owners up on every decision."""
        return self._hash

    @functools.cached_property
    def _hash(self) -> int:
        return hash((self.created, self.namespace, self.name, self.uid))

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def seniority(self) -> tuple[datetime, str]:
        """Who keeps a contested TaskId: the older object, then the smaller uid."""
        return (self.created, self.uid)


class TaskState(StrEnum):
    """What we know of the current incarnation's cloud task (our bookkeeping, in status)."""

    NONE = "None"  # nothing started (or the last start definitely did not happen)
    STARTING = "Starting"  # write-ahead: TaskId recorded, StartMPUTask sent or about to be
    ACTIVE = "Active"  # the service has the task and it has not stopped
    STOPPING = "Stopping"  # StopMPUTask sent, stop not yet confirmed
    STOPPED = "Stopped"  # confirmed stopped (by us or by itself)

    @property
    def holds_url(self) -> bool:
        return self in (TaskState.STARTING, TaskState.ACTIVE, TaskState.STOPPING)


class Phase(StrEnum):
    PENDING = "Pending"
    SCHEDULED = "Scheduled"  # spec.schedule.startAt is ahead: no task yet (core/schedule.py)
    STARTING = "Starting"
    WAITING = "Waiting"
    RUNNING = "Running"
    RESTARTING = "Restarting"
    STOPPING = "Stopping"
    SUSPENDED = "Suspended"
    STOPPED = "Stopped"
    FAILED = "Failed"


@dataclass(frozen=True)
class UrlFailure:
    """A stream URL's last failure (issue #11): which stream (``str(StreamKey)``, no
    query), when it was seen, and the service's status code (5 CDN, 6 stream URL)."""

    key: str
    at: datetime
    status: int


class UpdateKind(StrEnum):
    """The service action that changes a live task without a restart, by what it carries.

    Each kind has its own fingerprint in the record (``applied_layout`` for LAYOUT,
    ``applied_task`` for TASK), so a change the kind carries is told apart from one that
    needs a restart. TASK carries the layout too (pane images and texts only go with it)."""

    LAYOUT = "UpdateMPULayout"  # layoutIds, userPanes, backgroundColor, cropMode
    TASK = "UpdateMPUTask"  # overlays and subscriptions, with the layout


#: GetMPUTaskStatus codes that mean the task is live (0 waiting for the channel, 1 running)
#: and that mean it failed (5 CDN, 6 stream URL); see catalogue.RemoteStatus.
_LIVE = frozenset(s for s in RemoteStatus if s.active)
_FAILED = frozenset(s for s in RemoteStatus if s.failed)


def live_status(code: int | None) -> bool:
    """Does the service's status code say the task is live? (An unknown code does not.)"""
    return code in _LIVE


def failed_status(code: int | None) -> bool:
    """Does the service's status code say the task stopped on a failure?"""
    return code in _FAILED


class StopCause(StrEnum):
    """Why the last task stopped; the restart policy depends on it."""

    SPEC_CHANGE = "SpecChange"  # we stopped it to apply an immutable change
    SUSPEND = "Suspend"  # we stopped it because spec.suspend
    DELETE = "Delete"  # we stopped it because the resource is going
    REMOTE = "Remote"  # it ended by itself (status 2..6 without our StopMPUTask)
    VANISHED = "Vanished"  # the service no longer knows the task
    SCHEDULE_END = "ScheduleEnded"  # we stopped it at spec.schedule.stopAt


@dataclass(frozen=True)
class Desired:
    """What the spec asks for, reduced to what decisions need (built by the shell)."""

    app_id: str
    stream_key: StreamKey | None  # None when the URL's Secret can't be read yet
    start: StartParams | None  # with task_id blank; None while a Secret is missing
    layout: LayoutParams
    immutable_fingerprint: str  # changes => restart
    layout_fingerprint: str  # changes => UpdateMPULayout
    task_id_base: str  # spec.taskId or the derived one, before incarnation suffixes
    task_id_from_spec: bool = False
    credentials_secret: str | None = None  # spec.credentialsRef.name; None: the defaults
    suspend: bool = False
    restart_policy: str = "OnFailure"  # Always | OnFailure | Never
    waiting_reason: str | None = None  # e.g. SecretNotFound: can't start yet, and why
    waiting_message: str = ""
    waiting_stalled: bool = False  # a person must fix it (an invalid URL in a Secret)
    start_at: datetime | None = None  # spec.schedule.startAt: no start before it
    stop_at: datetime | None = None  # spec.schedule.stopAt: nothing runs from then on
    # Failover (issue #11): the backups' resolved URLs in the order the user lists them
    # (spec.backupStreamURLs, then spec.backupStreamURLsFrom); the service status codes
    # that move to the next URL (5 CDNFailure, 6 URLFailure); and when to go back to the
    # primary ("Manual" | "WhenPrimaryHealthy").
    backup_stream_urls: tuple[str, ...] = ()
    failover_after: frozenset[int] = frozenset({5, 6})
    failover_back: str = "Manual"
    #: What UpdateMPUTask would send (overlays, subscriptions, and ``layout`` with its pane
    #: images and texts); None: nothing of it is known, so no UpdateMPUTask is decided.
    task: UpdateTaskParams | None = None


@dataclass(frozen=True)
class Record:
    """Our persistent knowledge of the cloud task; round-trips through ``status``."""

    task_id: str | None = None
    incarnation: int = 0
    state: TaskState = TaskState.NONE
    remote_status: int | None = None  # the service's code (RemoteStatus), kept as sent
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    last_polled_at: datetime | None = None
    changed_at: datetime | None = None  # last start/update/stop request: poll fast after it
    stop_cause: StopCause | None = None
    stop_requested: bool = False  # a StopMPUTask was sent for this incarnation
    retry_start: bool = False  # the service had no trace of our unconfirmed start: resend it
    unconfirmed_since: datetime | None = None  # first time the service had no such task
    credentials_secret: str | None = None  # the Secret the task was started with (None:
    #                                        the operator's defaults), kept for stop/delete
    applied_immutable: str | None = None
    applied_layout: str | None = None
    #: What UpdateMPUTask carries (fingerprint.task_fingerprint); None in records of
    #: releases before it: such a task carries only what they sent (fingerprint.task_baseline).
    applied_task: str | None = None
    stream_key: str | None = None  # str(StreamKey) the task uses or wants (no query)
    app_id: str | None = None
    restart_count: int = 0
    failures: int = 0  # consecutive quick failures, for the restart back-off
    next_attempt_at: datetime | None = None
    error_code: str | None = None
    error_message: str | None = None
    error_terminal: bool = False
    error_generation: int | None = None  # an error's back-off holds until the spec changes
    error_attempts: int = 0  # consecutive failed calls, for the retry back-off
    # Failover (issue #11, core/failover.py). ``stream_key`` above is the URL in use.
    url_index: int = 0  # the URL the task uses or last used: 0 the primary, 1.. a backup
    url_failures: tuple[UrlFailure, ...] = ()  # each URL's last failure, one per key
    failovers: int = 0  # moves to another URL after a failure, ever
    released_key: str | None = None  # the URL the incarnation before released when this
    released_at: datetime | None = None  # one moved to another: it still cools down

    def replace(self, **changes: Any) -> Record:
        return dataclasses.replace(self, **changes)
