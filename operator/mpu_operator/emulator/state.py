"""The emulated service's memory: tasks, channels, and the rules between them.

Pure: no I/O, no asyncio, time from an injected :class:`~.clock.Clock`. Time-driven changes
(idle stop, TaskId clearing) are *settled* lazily at the top of every operation, at the
instant they were due, so a fake clock moved by an hour sees exactly what a real hour would
have produced, and nothing needs a timer. Late starts (a StartMPUTask whose answer was lost
and that takes effect later, see :mod:`.faults`) are settled the same way, interleaved in time
order with idle stops, so the rules they meet are those of their own instant. One lock guards
everything, so concurrent callers (HTTP handlers, test threads) never lose an update.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mpu_operator import catalogue
from mpu_operator.catalogue import RemoteStatus
from mpu_operator.rtc import codes
from mpu_operator.streamurl import StreamKey, redact, stream_key

from . import errors
from .clock import Clock, rfc3339
from .config import EmulatorConfig
from .errors import ApiError, ControlError
from .model import Layout, StartSpec, TaskUpdate
from .overlays import Live


@dataclass(frozen=True)
class Moment:
    """One instant on both clocks: monotonic for arithmetic, wall for records."""

    mono: float
    wall: datetime

    def plus(self, seconds: float) -> Moment:
        return Moment(self.mono + seconds, self.wall + timedelta(seconds=seconds))


@dataclass(frozen=True)
class HistoryEntry:
    at: Moment
    action: str  # an API action, or "emulator:<event>" for what the world did
    outcome: str  # "OK" or an error code
    status: int | None
    request_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"time": rfc3339(self.at.wall), "action": self.action, "outcome": self.outcome,
                "status": self.status, "requestId": self.request_id}


@dataclass
class Task:
    spec: StartSpec
    layout: Layout
    status: RemoteStatus
    started: Moment
    history: deque[HistoryEntry]
    stopped: Moment | None = None
    cleared: bool = False
    #: What UpdateMPUTask changes besides the layout; starts as the StartMPUTask's.
    settings: Live = field(default_factory=Live)
    sub_spec_users: tuple[str, ...] = ()
    media_encode: int | None = None  # None: the start's

    @property
    def live(self) -> bool:
        return self.status.active

    @property
    def key(self) -> StreamKey:
        return stream_key(self.spec.stream_url)

    def note(self, entry: HistoryEntry) -> None:
        self.history.append(entry)

    def to_json(self) -> dict[str, Any]:
        spec, layout = self.spec, self.layout
        return {
            "appId": spec.app_id, "channelId": spec.channel_id, "taskId": spec.task_id,
            "streamURL": redact(spec.stream_url), "status": int(self.status),
            "layoutIds": list(layout.layout_ids), "cropMode": layout.crop_mode,
            "backgroundColor": layout.background_color,
            "userPanes": [p.to_json() for p in layout.user_panes],
            "subSpecUsers": list(self.sub_spec_users), **self.settings.to_json(),
            "mediaEncode": spec.media_encode if self.media_encode is None else self.media_encode,
            **spec.extras,
            "taskProfile": spec.task_profile, "taskProfileSent": spec.task_profile_sent,
            "startedAt": rfc3339(self.started.wall),
            "stoppedAt": rfc3339(self.stopped.wall) if self.stopped else None,
            "cleared": self.cleared,
            "history": [h.to_json() for h in self.history],
        }


@dataclass
class Channel:
    users: dict[str, None] = field(default_factory=dict)  # insertion-ordered set: join order
    empty_since: Moment | None = None


@dataclass
class Counters:
    url_rule_violations: int = 0
    quota_refusals: int = 0
    peak_live: dict[str, int] = field(default_factory=dict)  # app -> peak live tasks
    late_applied: int = 0  # late starts whose moment came (whatever the outcome)
    late_outcomes: Counter[str] = field(default_factory=Counter)  # "OK" or the error code


@dataclass(frozen=True)
class LateStart:
    """A StartMPUTask that arrived at ``arrived`` and takes effect at ``due``."""

    spec: StartSpec
    arrived: Moment
    due: Moment
    request_id: str | None
    seq: int  # arrival order: equal due times apply in the order the calls came

    @property
    def order(self) -> tuple[float, int]:
        return (self.due.mono, self.seq)


class EmulatorState:
    """Tasks per app, users per channel, the URL and quota rules, and their counters."""

    def __init__(self, config: EmulatorConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self._lock = threading.RLock()
        self._reset()

    def _reset(self) -> None:
        self._records: list[Task] = []  # every task ever started, in start order
        self._by_id: dict[tuple[str, str], Task] = {}  # (app, task id) -> holder of the id
        self._by_url: dict[StreamKey, Task] = {}  # latest task started on each stream
        self._channels: dict[tuple[str, str], Channel] = {}
        self._late: list[LateStart] = []  # pending, sorted by (due, arrival)
        self._late_seq = 0
        self.counters = Counters()

    def reset(self) -> None:
        with self._lock:
            self._reset()

    # -- time ---------------------------------------------------------------------------

    def now(self) -> Moment:
        return Moment(self.clock.monotonic(), self.clock.wall())

    def _settle(self) -> Moment:
        """Apply every time-driven change due by now, each at the moment it was due.

        Late starts go in time order, each after the idle stops and clearings due before it,
        so a late start meets exactly the URL holders, cooldowns and TaskIds of its instant.
        """
        now = self.now()
        while self._late and self._late[0].due.mono <= now.mono:
            late = self._late.pop(0)
            self._settle_until(late.due)
            self._apply_late(late)
        self._settle_until(now)
        return now

    def _settle_until(self, moment: Moment) -> None:
        """Idle stops and TaskId clearings due by ``moment`` (never later ones)."""
        for task in self._live_tasks():
            channel = self._channels.get((task.spec.app_id, task.spec.channel_id))
            if (task.status is RemoteStatus.RUNNING and channel is not None
                    and channel.empty_since is not None):
                due = channel.empty_since.plus(self.config.idle_stop_seconds)
                if due.mono <= moment.mono:
                    self._stop(task, RemoteStatus.CHANNEL_STOPPED, due, "emulator:idle-stop")
        clear_after = self.config.task_clear_seconds
        if clear_after is not None:
            for key, task in list(self._by_id.items()):
                if task.stopped is not None and task.stopped.mono + clear_after <= moment.mono:
                    task.cleared = True
                    del self._by_id[key]

    def _live_tasks(self) -> Iterator[Task]:
        return (t for t in list(self._by_id.values()) if t.live)

    def _channel_tasks(self, app_id: str, channel_id: str) -> list[Task]:
        return [t for t in self._live_tasks()
                if (t.spec.app_id, t.spec.channel_id) == (app_id, channel_id)]

    def _stop(self, task: Task, status: RemoteStatus, at: Moment, action: str,
              request_id: str | None = None) -> None:
        task.status, task.stopped = status, at
        task.note(HistoryEntry(at, action, "OK", int(status), request_id))

    # -- the API ------------------------------------------------------------------------

    def start(self, spec: StartSpec, request_id: str | None = None) -> Task:
        """StartMPUTask: the TaskId rule, then the two URL rules, then the quota."""
        with self._lock:
            return self._start_at(spec, self._settle())

    def _start_at(self, spec: StartSpec, now: Moment) -> Task:
        existing = self._by_id.get((spec.app_id, spec.task_id))
        if existing is not None:
            raise ApiError(codes.TASK_EXISTS, 400,
                           f"task already exists: {spec.task_id!r} in app {spec.app_id!r} "
                           f"(status {int(existing.status)})")
        self._check_url(spec, now)
        self._check_quota(spec.app_id)
        channel = self._channel(spec.app_id, spec.channel_id)
        status = RemoteStatus.RUNNING if channel.users else RemoteStatus.WAITING
        task = Task(spec, spec.layout, status, now, deque(maxlen=self.config.history_limit),
                    settings=spec.live, sub_spec_users=spec.sub_spec_users)
        self._records.append(task)
        self._by_id[(spec.app_id, spec.task_id)] = task
        self._by_url[task.key] = task
        live = sum(1 for t in self._live_tasks() if t.spec.app_id == spec.app_id)
        peaks = self.counters.peak_live
        peaks[spec.app_id] = max(peaks.get(spec.app_id, 0), live)
        return task

    def start_later(self, spec: StartSpec, after_seconds: float,
                    request_id: str | None = None) -> LateStart:
        """A StartMPUTask that arrived now and takes effect ``after_seconds`` from now.

        Nothing is checked yet: the TaskId, URL and quota rules are applied at that moment,
        and a refusal then counts (URL rule violations, quota refusals) as a refusal now
        would. The caller never hears the outcome; ``/_emulator/stats`` and the task's
        ``history`` (``emulator:late-start``) show it.
        """
        if not after_seconds >= 0:  # NaN too
            raise ValueError("after_seconds must not be negative")
        with self._lock:
            now = self._settle()
            self._late_seq += 1
            late = LateStart(spec, now, now.plus(after_seconds), request_id, self._late_seq)
            self._late.append(late)
            self._late.sort(key=lambda pending: pending.order)
            return late

    def _apply_late(self, late: LateStart) -> None:
        spec, outcome = late.spec, "OK"
        try:
            task = self._start_at(spec, late.due)
        except ApiError as error:
            outcome = error.code
            holder = self._by_id.get((spec.app_id, spec.task_id))
            if holder is not None:  # "already exists": noted on the task that has the id
                holder.note(HistoryEntry(late.due, "emulator:late-start", outcome,
                                         int(holder.status), late.request_id))
        else:
            task.note(HistoryEntry(late.due, "emulator:late-start", outcome, int(task.status),
                                   late.request_id))
        self.counters.late_applied += 1
        self.counters.late_outcomes[outcome] += 1

    def _check_url(self, spec: StartSpec, now: Moment) -> None:
        key = stream_key(spec.stream_url)
        holder = self._by_url.get(key)
        if holder is None:
            return
        shown = redact(spec.stream_url)
        if holder.live:
            self.counters.url_rule_violations += 1
            raise ApiError(codes.STREAM_URL_IN_USE, 400,
                           f"StreamURL {shown} is in use by task {holder.spec.task_id!r} "
                           f"(app {holder.spec.app_id!r})")
        assert holder.stopped is not None
        free_at = holder.stopped.plus(self.config.url_cooldown_seconds)
        if now.mono < free_at.mono:
            self.counters.url_rule_violations += 1
            wait = free_at.mono - now.mono
            raise ApiError(codes.STREAM_URL_COOLING_DOWN, 400,
                           f"StreamURL {shown} was released by task {holder.spec.task_id!r} "
                           f"and may be used again at {rfc3339(free_at.wall)} "
                           f"(in {wait:.3f} s)")

    def _check_quota(self, app_id: str) -> None:
        live = sum(1 for t in self._live_tasks() if t.spec.app_id == app_id)
        limit = self.config.max_concurrent_tasks
        if live >= limit:
            self.counters.quota_refusals += 1
            raise ApiError(codes.TASK_QUOTA_EXCEEDED, 400,
                           f"app {app_id!r} already has {live} live tasks; the limit is {limit}")

    def _task(self, app_id: str, task_id: str) -> Task:
        task = self._by_id.get((app_id, task_id))
        if task is None:
            raise errors.task_not_found(app_id, task_id)
        return task

    def status(self, app_id: str, task_id: str) -> RemoteStatus:
        """GetMPUTaskStatus."""
        with self._lock:
            self._settle()
            return self._task(app_id, task_id).status

    def update_layout(self, app_id: str, task_id: str, layout: Layout) -> Task:
        """UpdateMPULayout: only a live task's layout can change; a stopped one is gone."""
        with self._lock:
            self._settle()
            task = self._updatable(app_id, task_id, layout)
            task.layout = layout
            return task

    def update_task(self, update: TaskUpdate) -> Task:
        """UpdateMPUTask: layout, overlays, subscriptions and mix mode of a live task, at
        once, same TaskId, no interruption (the status is left as it is)."""
        with self._lock:
            self._settle()
            task = self._updatable(update.app_id, update.task_id, update.layout,
                                   update.media_encode)
            task.layout, task.settings = update.layout, update.live
            task.sub_spec_users = update.sub_spec_users
            if update.media_encode is not None:
                task.media_encode = update.media_encode
            return task

    def _updatable(self, app_id: str, task_id: str, layout: Layout,
                   media_encode: int | None = None) -> Task:
        """The live task, if the new layout (and encoding) still fit its TaskProfile."""
        task = self._task(app_id, task_id)
        if not task.live:
            raise ApiError(codes.TASK_NOT_FOUND, 404,
                           f"task {task_id!r} in app {app_id!r} is not running "
                           f"(status {int(task.status)}): start a new task")
        if task.spec.task_profile_sent:
            encode = media_encode if media_encode is not None else (
                task.media_encode if task.media_encode is not None else task.spec.media_encode)
            problems = catalogue.profile_problems(task.spec.task_profile, layout.layout_ids,
                                                  encode)
            if problems:
                raise errors.invalid(errors.INVALID_LAYOUT_IDS,
                                     "LayoutIds.N: " + "; ".join(problems))
        return task

    def stop(self, app_id: str, task_id: str, request_id: str | None = None) -> Task:
        """StopMPUTask: status 3; stopping a task that already stopped changes nothing."""
        with self._lock:
            now = self._settle()
            task = self._task(app_id, task_id)
            if task.live:
                task.status, task.stopped = RemoteStatus.STOPPED_BY_USER, now
            return task

    def record(self, app_id: str, task_id: str, action: str, outcome: str,
               request_id: str | None) -> None:
        """Add an API call to the history of the task it touched (if that task exists)."""
        with self._lock:
            task = self._by_id.get((app_id, task_id))
            if task is not None:
                task.note(HistoryEntry(self.now(), action, outcome, int(task.status),
                                       request_id))

    # -- the world ----------------------------------------------------------------------

    def _channel(self, app_id: str, channel_id: str) -> Channel:
        return self._channels.setdefault((app_id, channel_id), Channel())

    def join(self, app_id: str, channel_id: str, user_id: str) -> list[str]:
        """A user joins: waiting tasks on the channel start running; idle grace ends."""
        with self._lock:
            now = self._settle()
            channel = self._channel(app_id, channel_id)
            channel.users[user_id] = None
            channel.empty_since = None
            for task in self._channel_tasks(app_id, channel_id):
                if task.status is RemoteStatus.WAITING:
                    task.status = RemoteStatus.RUNNING
                    task.note(HistoryEntry(now, "emulator:channel-started", "OK",
                                           int(task.status)))
            return list(channel.users)

    def leave(self, app_id: str, channel_id: str, user_id: str) -> list[str]:
        """A user leaves: when the last one goes, running tasks' idle countdown starts."""
        with self._lock:
            now = self._settle()
            channel = self._channel(app_id, channel_id)
            if user_id in channel.users:
                del channel.users[user_id]
                if not channel.users:
                    channel.empty_since = now
                    for task in self._channel_tasks(app_id, channel_id):
                        task.note(HistoryEntry(now, "emulator:channel-emptied", "OK",
                                               int(task.status)))
            return list(channel.users)

    def users(self, app_id: str, channel_id: str) -> list[str]:
        with self._lock:
            channel = self._channels.get((app_id, channel_id))
            return list(channel.users) if channel else []

    def fail(self, app_id: str, task_id: str, status: int) -> Task:
        """The CDN (5) or the stream URL (6) fails a live task."""
        if status not in (RemoteStatus.CDN_FAILURE, RemoteStatus.STREAM_URL_FAILURE):
            raise ControlError(400, "status must be 5 (CDN problem) or 6 (stream URL problem)")
        with self._lock:
            now = self._settle()
            task = self._by_id.get((app_id, task_id))
            if task is None:
                raise ControlError(404, f"no task {task_id!r} in app {app_id!r}")
            if not task.live:
                raise ControlError(409, f"task {task_id!r} already stopped "
                                        f"(status {int(task.status)})")
            self._stop(task, RemoteStatus(status), now, "emulator:fail")
            return task

    # -- observation --------------------------------------------------------------------

    def tasks_json(self, app_id: str | None = None,
                   channels: Collection[str] = ()) -> list[dict[str, Any]]:
        """Every task record, or those of ``app_id`` and/or of ``channels`` only (a
        thousand records take the emulator's loop long enough to bunch its callers)."""
        with self._lock:
            self._settle()
            return [t.to_json() for t in self._records
                    if (app_id is None or t.spec.app_id == app_id)
                    and (not channels or t.spec.channel_id in channels)]

    def counters_json(self) -> dict[str, Any]:
        with self._lock:
            self._settle()
            live: dict[str, int] = {}
            for task in self._live_tasks():
                live[task.spec.app_id] = live.get(task.spec.app_id, 0) + 1
            peaks = self.counters.peak_live
            return {
                "urlRuleViolations": self.counters.url_rule_violations,
                "quotaRefusals": self.counters.quota_refusals,
                "maxConcurrentTasks": max(peaks.values(), default=0),
                "maxConcurrentTasksByApp": dict(peaks),
                "liveTasks": sum(live.values()),
                "liveTasksByApp": live,
                "lateAppliedCalls": self.counters.late_applied,
                "lateApplyOutcomes": dict(self.counters.late_outcomes),
                "latePendingCalls": len(self._late),
            }
