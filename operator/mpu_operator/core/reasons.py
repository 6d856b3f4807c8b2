"""Every condition reason and Event reason the operator writes, in one place.

They are part of the API: users match on them in ``kubectl wait``, alerts and the Argo CD
health script (deploy/argocd), so each is CamelCase, stable, and spelt once, here. The
core's decisions, its folds and the kopf shell all import them from this module.
"""

from __future__ import annotations

# --- the Ready condition's reasons (a decision's Wait) ---------------------------------
RUNNING = "Running"  # also the Streaming condition's True reason
WAITING_FOR_CHANNEL = "WaitingForChannel"
SUSPENDED = "Suspended"
TASK_ENDED = "TaskEnded"  # also the Event of a task that ended by itself
RESTARTS_DISABLED = "RestartsDisabled"
BACKING_OFF = "BackingOff"
INVALID_SPEC = "InvalidSpec"
SECRET_NOT_FOUND = "SecretNotFound"
#: An MPULayout named in layout.layoutRefs does not exist (in the task's namespace) or has
#: no layout id yet: the task waits, and starts as soon as it has one.
LAYOUT_NOT_READY = "LayoutNotReady"
NO_CREDENTIALS = "NoCredentials"
INVALID_STREAM_URL = "InvalidStreamURL"
URL_IN_USE = "StreamURLInUse"
URL_COOLING_DOWN = "StreamURLCoolingDown"
URL_QUEUED = "StreamURLQueued"
URL_OTHER_SHARD = "StreamURLInOtherShard"
QUOTA_EXHAUSTED = "QuotaExhausted"
API_ERROR = "APIError"
TERMINAL_ERROR = "ServiceRejected"
#: Another MPUTask owns the TaskId; also the ``error_code`` a refused fresh start records.
TASK_ID_IN_USE = "TaskIdInUse"
CONFIRMING_START = "ConfirmingStart"
CONFIRMING_STOP = "ConfirmingStop"
STARTING = "Starting"  # the write-ahead status, written before StartMPUTask is sent
SCHEDULED = "Scheduled"  # spec.schedule.startAt is ahead (core/schedule.py)
SCHEDULE_ENDED = "ScheduleEnded"  # spec.schedule.stopAt has passed
BUSY = "Busy"  # a step made its bound of calls without settling
RUNNING_ON_BACKUP = "RunningOnBackup"  # live on a backup stream URL (issue #11)

#: Reasons that mean "ready but for the URL or the quota": such a task contends for a URL.
GATE_REASONS = frozenset({URL_IN_USE, URL_COOLING_DOWN, URL_QUEUED, QUOTA_EXHAUSTED})
#: Waits for the stream-URL rule (not the quota): counted by ``mpu_url_waits_total``.
URL_RULE_REASONS = frozenset({URL_IN_USE, URL_COOLING_DOWN, URL_QUEUED})

# --- the Streaming condition -----------------------------------------------------------
NOT_STREAMING = "NotStreaming"

# --- Events of calls and their outcomes ------------------------------------------------
STARTED = "Started"
RESTARTED = "Restarted"
ADOPTED = "Adopted"
START_NOT_TAKEN = "StartNotTaken"
START_FAILED = "StartFailed"
POLL_FAILED = "PollFailed"
LAYOUT_UPDATED = "LayoutUpdated"
TASK_UPDATED = "TaskUpdated"  # UpdateMPUTask: overlays and subscriptions, changed live
UPDATE_FAILED = "UpdateFailed"
STOPPING = "Stopping"
STOPPED = "Stopped"
STOP_FAILED = "StopFailed"
RELEASED = "Released"
ORPHANED = "Orphaned"
DELETED = "Deleted"
FAILED_OVER = "FailedOver"  # a failed task started again on another stream URL (#11)
