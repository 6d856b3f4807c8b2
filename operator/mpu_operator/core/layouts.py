"""What to do about one MPULayout: Create, Find, Modify, Delete, Finish or Wait.

Pure: plain values in, one action out, no I/O and no clock (times are given). The kopf
shell (:mod:`mpu_operator.controller.layouts`) gathers the inputs, performs the action,
folds its outcome in with the functions below and writes :func:`render`'s status.

A create whose answer is lost must not make a second layout. The service takes no
idempotency token, so the layout's ``Name`` plays that part: a name unique to the object
(:func:`service_name`, from its uid) is written to ``status.layoutName`` *before*
CreateMPULayout is sent. A recorded name without a recorded id means "a create may have
happened": the next step is :class:`Find` (DescribeMPULayoutInfoList by that name), never
a second create. Only when the service says there is no such layout is the name dropped
and a create tried again.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

# Condition types and reasons, in one place.
READY = "Ready"
IN_USE = "InUse"
CREATED = "Created"  # Ready=True: exists and carries the current spec
CREATING = "Creating"
MODIFYING = "Modifying"
DELETING = "Deleting"
LOOKING_UP = "LookingUp"
INVALID_SPEC = "InvalidSpec"
APP_ID_CHANGED = "AppIdChanged"
CALL_FAILED = "CallFailed"
NO_CREDENTIALS = "NoCredentials"
HELD = "InUse"  # Ready=False while a delete waits for the MPUTasks that refer to it
NOT_USED = "NotUsed"
USED = "UsedByMPUTasks"

#: Longest name sent to the service (its limit is undocumented; the emulator's is 128).
MAX_SERVICE_NAME = 128
#: Retry delays after a failed call: doubling from the first, capped.
FIRST_RETRY_SECONDS = 2.0
MAX_RETRY_SECONDS = 300.0
#: Referring MPUTasks named in a message; the rest are counted.
MAX_NAMED_USERS = 10


# -- inputs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Desired:
    """The valid spec, reduced to what decisions need."""

    app_id: str
    params_hash: str


@dataclass(frozen=True)
class Recorded:
    """What we know of the layout at the service (kept in status)."""

    layout_id: int | None = None
    layout_name: str | None = None  # written ahead of every create
    app_id: str | None = None
    applied_hash: str | None = None
    failures: int = 0
    error: str | None = None  # the last failed call, for status (never a secret)
    retry_at: datetime | None = None  # no call before then (back-off after a failure)


@dataclass(frozen=True)
class Situation:
    desired: Desired | None
    problem: str  # why desired is None (the spec's problems), else ""
    recorded: Recorded
    users: tuple[str, ...]  # MPUTasks of the same namespace that refer to it
    deleting: bool
    name: str  # the service name a new create uses (service_name of the object)
    now: datetime


# -- actions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Create:
    app_id: str
    name: str


@dataclass(frozen=True)
class Find:
    """A create may have happened: look the name up before anything else."""

    app_id: str
    name: str


@dataclass(frozen=True)
class Modify:
    app_id: str
    layout_id: int
    name: str


@dataclass(frozen=True)
class Delete:
    app_id: str
    layout_id: int


@dataclass(frozen=True)
class Finish:
    """Nothing (any more) at the service: the finalizer may go."""


@dataclass(frozen=True)
class Wait:
    reason: str
    message: str
    ready: bool = False
    stalled: bool = False  # a person must act (the spec); no retry on a timer
    until: datetime | None = None  # look again then (None: when something changes)


Action = Create | Find | Modify | Delete | Finish | Wait


# -- the decision ------------------------------------------------------------------------


def decide(s: Situation) -> Action:
    """The one next step for this layout."""
    rec, desired = s.recorded, s.desired
    if s.deleting:
        return _deleting(s)
    if desired is None:
        return Wait(INVALID_SPEC, s.problem, stalled=True)
    if rec.retry_at is not None and s.now < rec.retry_at:
        return _backing_off(rec)
    if rec.layout_id is None:
        if rec.layout_name is not None:
            return Find(rec.app_id or desired.app_id, rec.layout_name)
        return Create(desired.app_id, s.name)
    if rec.app_id is not None and rec.app_id != desired.app_id:
        return Wait(APP_ID_CHANGED, f"layout {rec.layout_id} belongs to app {rec.app_id}; "
                                    "appId cannot change (create another MPULayout)",
                    stalled=True)
    if rec.applied_hash != desired.params_hash:
        return Modify(desired.app_id, rec.layout_id, rec.layout_name or s.name)
    return Wait(CREATED, f"layout {rec.layout_id} is created and up to date", ready=True)


def _backing_off(rec: Recorded) -> Wait:
    return Wait(CALL_FAILED, f"{rec.error or 'the last call failed'}; retrying after "
                             f"{rec.failures} failure(s)", until=rec.retry_at)


def _deleting(s: Situation) -> Action:
    rec = s.recorded
    if s.users:
        return Wait(HELD, f"deletion waits: {used_by(s.users)} still refer to it")
    if rec.retry_at is not None and s.now < rec.retry_at:
        return _backing_off(rec)
    app_id = rec.app_id or (s.desired.app_id if s.desired else None)
    if app_id is None:  # never got as far as writing a create ahead
        return Finish()
    if rec.layout_id is not None:
        return Delete(app_id, rec.layout_id)
    if rec.layout_name is not None:
        return Find(app_id, rec.layout_name)
    return Finish()


# -- outcomes ----------------------------------------------------------------------------


def before_create(rec: Recorded, action: Create) -> Recorded:
    """Written to status before CreateMPULayout is sent (the write-ahead)."""
    return replace(rec, layout_name=action.name, app_id=action.app_id, layout_id=None,
                   applied_hash=None)


def created(rec: Recorded, layout_id: int, params_hash: str) -> Recorded:
    return replace(rec, layout_id=layout_id, applied_hash=params_hash, failures=0, error=None,
                   retry_at=None)


def found(rec: Recorded, layout_id: int | None) -> Recorded:
    """Find's answer. Found: its panes are unknown, so a Modify follows. Not found: no
    create happened, and the name is dropped so that one may."""
    if layout_id is None:
        return replace(rec, layout_name=None, layout_id=None, applied_hash=None,
                       failures=0, error=None, retry_at=None)
    return replace(rec, layout_id=layout_id, applied_hash=None, failures=0, error=None,
                   retry_at=None)


def modified(rec: Recorded, params_hash: str) -> Recorded:
    return replace(rec, applied_hash=params_hash, failures=0, error=None, retry_at=None)


def gone(rec: Recorded) -> Recorded:
    """The service has no such layout (deleted, by us or someone else): forget it."""
    return Recorded()


def failed(rec: Recorded, message: str, now: datetime) -> Recorded:
    """A call failed: count it and hold the next call back (doubling, capped)."""
    failures = rec.failures + 1
    return replace(rec, failures=failures, error=message,
                   retry_at=now + retry_after(failures))


def retry_after(failures: int) -> timedelta:
    """Back-off after ``failures`` failed calls in a row: 2 s, 4 s, 8 s ... 300 s."""
    if failures <= 0:
        return timedelta(0)
    # The exponent is capped (any cap past the 300 s ceiling is the same): 2 ** 10**6 would
    # overflow the float multiplication.
    seconds = FIRST_RETRY_SECONDS * 2 ** min(failures - 1, 16)
    return timedelta(seconds=min(seconds, MAX_RETRY_SECONDS))


# -- names, digests and users ------------------------------------------------------------


_UNSAFE_NAME = re.compile(r"[^a-z0-9.-]")


def service_name(namespace: str, name: str, uid: str) -> str:
    """``<namespace>.<name>.<uid prefix>``: unique to the object (the uid), readable in the
    service's console, at most :data:`MAX_SERVICE_NAME` characters."""
    suffix = "." + _UNSAFE_NAME.sub("", uid.lower())[:8]
    head = _UNSAFE_NAME.sub("-", f"{namespace}.{name}".lower())
    return head[:MAX_SERVICE_NAME - len(suffix)] + suffix


def params_hash(query: Mapping[str, str]) -> str:
    """A digest of the parameters Create/Modify send: equal exactly when they are."""
    text = json.dumps(sorted(query.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def users_of(namespace: str, name: str,
             refs: Iterable[tuple[str, str, str]]) -> tuple[str, ...]:
    """The MPUTasks of ``namespace`` that refer to layout ``name``, sorted, once each.

    ``refs`` are (task namespace, task name, layout name). Another namespace's MPUTask
    never counts, even when it names a layout of the same name.
    """
    return tuple(sorted({task for ns, task, layout in refs
                         if ns == namespace and layout == name}))


def layout_refs(spec: Mapping[str, Any]) -> tuple[str, ...]:
    """The names in an MPUTask spec's ``layout.layoutRefs[].name``, read from the raw
    dict so that a spec the model refuses (or an older model) still holds its layouts."""
    layout = spec.get("layout") if isinstance(spec, Mapping) else None
    refs = layout.get("layoutRefs") if isinstance(layout, Mapping) else None
    if not isinstance(refs, Sequence) or isinstance(refs, str):
        return ()
    names = [r.get("name") for r in refs if isinstance(r, Mapping)]
    return tuple(n for n in names if isinstance(n, str) and n)


def used_by(users: Sequence[str]) -> str:
    named = ", ".join(users[:MAX_NAMED_USERS])
    more = len(users) - MAX_NAMED_USERS
    noun = "MPUTask" if len(users) == 1 else "MPUTasks"
    return f"{noun} {named}" + (f" and {more} more" if more > 0 else "")


# -- status ------------------------------------------------------------------------------


def record_from_status(status: Mapping[str, Any] | None) -> Recorded:
    """Our record back from ``.status`` (junk fields are read as absent)."""
    s = status if isinstance(status, Mapping) else {}
    layout_id = s.get("layoutId")
    failures = s.get("failures")
    return Recorded(
        layout_id=layout_id if isinstance(layout_id, int) and _positive_int(layout_id) else None,
        layout_name=_text(s.get("layoutName")),
        app_id=_text(s.get("appId")),
        applied_hash=_text(s.get("appliedHash")),
        failures=failures if isinstance(failures, int) and _positive_int(failures) else 0,
        error=_text(s.get("error")),
        retry_at=_time(s.get("retryAt")),
    )


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)  # 3.11+: reads the "Z" _iso writes
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _pane_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def render(rec: Recorded, wait_or_work: Wait | None, users: Sequence[str], *,
           generation: int, previous: Mapping[str, Any] | None, now: datetime
           ) -> dict[str, Any]:
    """The whole status: the record, ``observedGeneration`` and the two conditions.

    ``wait_or_work`` is the decision's Wait (or None while a call is under way: then the
    layout is not Ready, reason :data:`CREATING`/...). ``lastTransitionTime`` moves only
    when a condition's status changes.
    """
    old = {c.get("type"): c for c in (previous or {}).get("conditions") or []
           if isinstance(c, Mapping)}
    wait = wait_or_work or Wait(CREATING if rec.layout_id is None else MODIFYING, "working")
    ready = _condition(old.get(READY), READY, wait.ready, wait.reason, wait.message,
                       generation, now)
    in_use = _condition(old.get(IN_USE), IN_USE, bool(users), USED if users else NOT_USED,
                        f"used by {used_by(users)}" if users else "no MPUTask of this "
                        "namespace refers to it", generation, now)
    return {
        "observedGeneration": generation,
        "layoutId": rec.layout_id,
        "layoutName": rec.layout_name,
        "appId": rec.app_id,
        "appliedHash": rec.applied_hash,
        "failures": rec.failures,
        "error": rec.error,
        "retryAt": _iso(rec.retry_at),
        "conditions": [ready, in_use],
    }


def _condition(old: Mapping[str, Any] | None, kind: str, true: bool, reason: str,
               message: str, generation: int, now: datetime) -> dict[str, Any]:
    status = "True" if true else "False"
    since = old.get("lastTransitionTime") if old and old.get("status") == status else None
    return {"type": kind, "status": status, "reason": reason, "message": message,
            "observedGeneration": generation,
            "lastTransitionTime": since or _iso(now)}


# -- for MPUTasks that refer to layouts ----------------------------------------------------


@dataclass(frozen=True)
class KnownLayout:
    """An MPULayout as an MPUTask of its namespace may use it (the kopf index's value)."""

    layout_id: int | None  # None until created
    panes: int
    ready: bool
    app_id: str | None = None  # the app it was created in (else its spec's)
    pane_ids: tuple[int, ...] = ()  # its spec's paneIds, for the tasks' userPanes


@dataclass(frozen=True)
class RefLayout:
    """One ``layoutRefs`` item, resolved: where it is in the spec, and what it offers."""

    index: int  # in layout.layoutRefs
    name: str
    layout_id: int
    pane_ids: tuple[int, ...]


@dataclass(frozen=True)
class TaskRefs:
    """An MPUTask's ``layoutRefs``, resolved in its own namespace.

    ``layouts`` are the resolved refs in spec order; ``not_ready`` names the refs whose
    MPULayout does not exist (in this namespace) or has no layout id yet: the task waits
    for them. ``problems`` are (field, message) a person must fix (a layout of another
    app). Usable exactly when both are empty.
    """

    layouts: tuple[RefLayout, ...] = ()
    not_ready: tuple[str, ...] = ()
    problems: tuple[tuple[str, str], ...] = ()

    @property
    def layout_ids(self) -> tuple[int, ...]:
        return tuple(r.layout_id for r in self.layouts)

    @property
    def usable(self) -> bool:
        return not self.not_ready and not self.problems


def resolve_refs(namespace: str, app_id: str, names: Sequence[str],
                 known: Mapping[tuple[str, str], KnownLayout]) -> TaskRefs:
    """An MPUTask's ``layoutRefs`` -> the MPULayouts it names, looked up in its own
    namespace only (``known`` is keyed by (namespace, name)): a layout of another namespace
    is as absent as one that does not exist, and nothing of it shows in a message.

    A layout with an id is usable even while an edit of it is under way (Ready=False,
    Modifying): the id stays, and the service applies the new panes to the tasks using it.
    A layout of another app is a problem of the task's spec, named by its field.
    """
    layouts: list[RefLayout] = []
    not_ready: list[str] = []
    problems: list[tuple[str, str]] = []
    for index, name in enumerate(names):
        layout = known.get((namespace, name))
        if layout is None or layout.layout_id is None:
            not_ready.append(name)
        elif layout.app_id is not None and layout.app_id != app_id:
            problems.append((f"layout.layoutRefs[{index}].name",
                             f"MPULayout {name} is a layout of app {layout.app_id}, not of "
                             f"this task's appId {app_id}: a task can use only its own "
                             "app's layouts"))
        else:
            layouts.append(RefLayout(index, name, layout.layout_id, layout.pane_ids))
    return TaskRefs(tuple(layouts), tuple(not_ready), tuple(problems))


def not_ready_message(namespace: str, names: Sequence[str]) -> str:
    """Why the task waits: the refs with no MPULayout (or no layout id yet) in ``namespace``."""
    noun = "MPULayout" if len(names) == 1 else "MPULayouts"
    return (f"waiting for {noun} {', '.join(names)} of namespace {namespace}: not created "
            "yet (no status.layoutId); the task starts as soon as it has one")


def known_layout(body: Mapping[str, Any]) -> KnownLayout:
    """What an MPULayout object offers to MPUTasks: its id, its spec's panes, its app
    (where it was created, else its spec's) and whether its Ready condition is True."""
    status, spec = body.get("status"), body.get("spec")
    status = status if isinstance(status, Mapping) else {}
    spec = spec if isinstance(spec, Mapping) else {}
    panes = spec.get("panes")
    conditions = status.get("conditions")
    ready = isinstance(conditions, list) and any(
        isinstance(c, Mapping) and c.get("type") == READY and c.get("status") == "True"
        for c in conditions)
    record = record_from_status(status)
    pane_list = panes if isinstance(panes, list) else []
    pane_ids = tuple(p["paneId"] for p in pane_list
                     if isinstance(p, Mapping) and _pane_id(p.get("paneId")))
    return KnownLayout(record.layout_id, len(pane_list), ready,
                       record.app_id or _text(spec.get("appId")), pane_ids)
