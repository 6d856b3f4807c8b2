"""The MPUTask status, as a model used only to generate the status schema.

The operator writes status as plain dicts (kopf patches); this model exists so that the
CRD documents every field for ``kubectl explain`` and the printer columns have typed
targets. ``x-kubernetes-preserve-unknown-fields`` keeps the operator's own bookkeeping and
kopf's progress records from being pruned.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mpu_operator.core.model import Phase

ConditionStatus = Literal["True", "False", "Unknown"]


class _Model(BaseModel):
    model_config = ConfigDict(validate_by_alias=True, validate_by_name=True)


class Condition(_Model):
    """One aspect of the task's state, Kubernetes-style."""

    type: str = Field(min_length=1, description="Condition type, e.g. Ready.")
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str | None = Field(default=None,
                               description="Stable CamelCase reason for the status.")
    message: str | None = Field(default=None, description="Human-readable detail.")
    last_transition_time: datetime | None = Field(
        default=None, alias="lastTransitionTime",
        description="When status last changed.")
    observed_generation: int | None = Field(
        default=None, alias="observedGeneration",
        description="The .metadata.generation the condition was set for.")


class MPUTaskStatus(_Model):
    """What the operator last saw of the task at the service."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-preserve-unknown-fields": True})

    observed_generation: int | None = Field(
        default=None, alias="observedGeneration",
        description="The .metadata.generation this status was written for.")
    phase: Phase | None = Field(
        default=None,
        description="Pending, Scheduled (waiting for spec.schedule.startAt), Starting, "
                    "Waiting (for the channel or the stream URL), Running, Restarting, "
                    "Stopping, Suspended, Stopped or Failed.")
    message: str | None = Field(default=None, description="What is happening, for people.")
    task_id: str | None = Field(default=None, alias="taskId",
                                description="Service TaskId of the current incarnation.")
    incarnation: int | None = Field(
        default=None, description="How many times the task has been started at the service.")
    remote_status: int | None = Field(
        default=None, alias="remoteStatus",
        description="Last GetMPUTaskStatus Status: 0 waiting for the channel, 1 running, "
                    "2 stopped, 3 stopped by the user, 4 channel stopped, 5 CDN problem, "
                    "6 stream URL problem.")
    remote_status_text: str | None = Field(default=None, alias="remoteStatusText",
                                           description="remoteStatus in words.")
    stream_url: str | None = Field(default=None, alias="streamURL",
                                   description="The stream URL without its query string "
                                               "(the auth key is never shown).")
    active_stream_url: str | None = Field(
        default=None, alias="activeStreamURL",
        description="The URL the task pushes to (streamURL or a backup), without its "
                    "query string or user info (the auth key is never shown).")
    failovers: int | None = Field(
        default=None,
        description="How many times the task moved to another stream URL after a CDN or "
                    "stream URL failure (see spec.failover).")
    restart_count: int | None = Field(default=None, alias="restartCount",
                                      description="Restarts after the first start.")
    started_at: datetime | None = Field(default=None, alias="startedAt",
                                        description="When the current incarnation started.")
    stopped_at: datetime | None = Field(default=None, alias="stoppedAt",
                                        description="When the task last stopped.")
    last_polled_at: datetime | None = Field(default=None, alias="lastPolledAt",
                                            description="When the service was last asked.")
    next_attempt_at: datetime | None = Field(
        default=None, alias="nextAttemptAt",
        description="When the operator will next try to start (back-off, URL cooldown).")
    conditions: list[Condition] | None = Field(
        default=None,
        json_schema_extra={"x-kubernetes-list-type": "map",
                           "x-kubernetes-list-map-keys": ["type"]},
        description="Ready and other conditions, one per type.")
